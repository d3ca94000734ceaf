# cbtrack - convenience wrapper around Meson and Ninja.
#
#   make build          configure (once) and compile build/src/cbtrack
#   make check          install missing deps, build with warnings as errors,
#                       run every test twice (normal and ASan+UBSan builds;
#                       the source checks once), print one summary
#   make demo           the main job end to end on embedded defaults
#   make bench          the benchmarks under bench/ (slow; not tests)
#   make install        install to $(PREFIX) (default /usr/local): the
#                       binary, man pages, systemd units, sysusers file
#   make deb            build the Debian package into $(DEB_OUT) (without
#                       running the tests unless DEB_BUILD_OPTIONS says)
#   make format / format-check   clang-format the sources / verify them
#   make lint           no banned functions (STYLE.md) in the C sources

BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
MESON      ?= meson
DEB_OUT    ?= deb-out
SOURCES     = $(shell git ls-files 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'bench/*.c' 2>/dev/null)
# What CI needs of both builds: warnings are errors, and a missing cmocka
# or MariaDB Connector/C fails the configuration instead of quietly
# dropping the unit tests or the MariaDB store.
CHECK_OPTS  = -Dwerror=true -Dcmocka=enabled -Dmariadb=enabled
# Tests run at once per build: most of them wait on their peers
# (rate-limited servers, timeouts) rather than compute; the ones that are
# sensitive to load run alone (parallel false in tests/meson.build).
TEST_JOBS  ?= 3

.PHONY: all build deps check demo bench install deb format format-check \
        lint fuzz clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX) -Dwerror=true

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dbuildtype=debug -Dwerror=true

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Both suites always run; the summary line decides the exit status.  The
# source checks (format-check, lint) are tests of the normal build's
# "lint" suite, so they count in the summary too.
check: deps
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	$(MESON) setup --reconfigure $(BUILD) $(CHECK_OPTS)
	$(MESON) setup --reconfigure $(ASAN_BUILD) $(CHECK_OPTS)
	ninja -C $(BUILD)
	ninja -C $(ASAN_BUILD)
	-$(MESON) test -C $(BUILD) --print-errorlogs --num-processes $(TEST_JOBS)
	-$(MESON) test -C $(ASAN_BUILD) --print-errorlogs --num-processes $(TEST_JOBS)
	@scripts/test-summary $(BUILD) $(ASAN_BUILD)

demo: deps build
	@scripts/demo

bench: deps build
	@for b in bench/copy-speed bench/copy-job bench/progress-accuracy bench/incremental \
	          bench/vma-load bench/oma-poll bench/oma-ui bench/vsphere-cbt; do \
	    if [ -x $$b ]; then echo "== $$b"; $$b || exit 1; fi; \
	done

install: build
	$(MESON) configure $(BUILD) --prefix=$(PREFIX)
	$(MESON) install -C $(BUILD)

# dpkg-buildpackage writes next to the source by default: the package,
# .buildinfo and .changes go to $(DEB_OUT) instead.
deb:
	mkdir -p $(DEB_OUT)
	DEB_BUILD_OPTIONS="$${DEB_BUILD_OPTIONS-nocheck}" \
	DEB_DESTDIR=$(abspath $(DEB_OUT)) \
	    dpkg-buildpackage -us -uc -b \
	    --buildinfo-option=-u$(abspath $(DEB_OUT)) \
	    --buildinfo-file=$(abspath $(DEB_OUT))/cbtrack.buildinfo \
	    --changes-option=-u$(abspath $(DEB_OUT)) \
	    --changes-file=$(abspath $(DEB_OUT))/cbtrack.changes
	@ls -1 $(DEB_OUT)/*.deb

format:
	clang-format -i $(SOURCES)

format-check:
	@scripts/check-format

lint:
	@scripts/check-banned

# libFuzzer targets (fuzz/), each run for FUZZ_SECONDS (default 60).
fuzz: deps
	@scripts/fuzz

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEB_OUT) build-fuzz
