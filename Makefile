# cbtrack - convenience wrapper around Meson and Ninja.
#
#   make build          configure (once) and compile build/src/cbtrack
#   make check          install missing deps, build, run every test twice
#                       (normal and ASan+UBSan builds), print one summary
#   make demo           the main job end to end on embedded defaults
#   make bench          the benchmarks under bench/ (slow; not tests)
#   make install        install to $(PREFIX) (default /usr/local)
#   make format / format-check   clang-format the sources / verify them

BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
MESON      ?= meson
SOURCES     = $(shell git ls-files 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'bench/*.c' 2>/dev/null)

.PHONY: all build deps check check-normal check-asan demo bench install \
        format format-check clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX)

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dbuildtype=debug

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Both suites always run; the summary line decides the exit status.
check: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	-$(MESON) test -C $(BUILD) --print-errorlogs
	-$(MESON) test -C $(ASAN_BUILD) --print-errorlogs
	@scripts/test-summary $(BUILD) $(ASAN_BUILD)

demo: deps build
	@scripts/demo

bench: deps build
	@for b in bench/copy-speed bench/progress-accuracy bench/incremental \
	          bench/vma-load bench/oma-poll; do \
	    if [ -x $$b ]; then echo "== $$b"; $$b || exit 1; fi; \
	done

install: build
	$(MESON) configure $(BUILD) --prefix=$(PREFIX)
	$(MESON) install -C $(BUILD)

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run -Werror $(SOURCES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
