#!/usr/bin/env bash
# Every failure gets one clear line on stderr and the right exit status:
# 1 for failures, 2 for usage errors.  Never a silent short copy.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires qemu-nbd --version
make_tmpdir

# Usage errors.
expect_exit 2 "$CBTRACK" copy
expect_stderr 'expected SOURCE and TARGET'
expect_exit 2 "$CBTRACK" copy a
expect_exit 2 "$CBTRACK" copy --connections 0 a b
expect_stderr 'invalid --connections'
expect_exit 2 "$CBTRACK" copy --requests x a b
expect_exit 2 "$CBTRACK" copy --request-size 1000 a b
expect_stderr 'multiple of 4096'
expect_exit 2 "$CBTRACK" copy --progress=999 a b
expect_stderr 'not open'
expect_exit 2 "$CBTRACK" copy --bitmap b --changed-areas f a b
expect_stderr 'alternatives'
expect_exit 2 "$CBTRACK" copy --no-such-option a b
expect_exit 2 "$CBTRACK" plan
"$CBTRACK" copy --help | grep -q -- '--target-is-zero' || fail "copy --help"
"$CBTRACK" plan --help | grep -q -- '--json' || fail "plan --help"

# Server unreachable.
expect_exit 1 "$CBTRACK" copy "nbd+unix:///?socket=$tmp/nothing.sock" \
    "$tmp/out.img"
expect_stderr 'cbtrack copy: .*cannot connect'
[ ! -e "$tmp/out.img" ] || fail "target created although the source failed"
expect_exit 1 "$CBTRACK" plan "nbd+unix:///?socket=$tmp/nothing.sock"
expect_stderr 'cbtrack plan: .*cannot connect'

# Export missing.
truncate -s 1M "$tmp/disk.raw"
start_qemu_nbd q -r -f raw -x disk0 "$tmp/disk.raw"
expect_exit 1 "$CBTRACK" copy "nbd+unix:///nosuchexport?socket=$q" \
    "$tmp/out.img"
expect_stderr 'cannot connect'

# Source file missing.
expect_exit 1 "$CBTRACK" copy "$tmp/missing.img" "$tmp/out.img"
expect_stderr 'missing.img: No such file'

# Target smaller than the source.
start_nbdkit src pattern size=8M
truncate -s 4M "$tmp/small.img"
expect_exit 1 "$CBTRACK" copy "$src_uri" "$tmp/small.img"
expect_stderr 'target is smaller'
start_nbdkit small memory size=4M
expect_exit 1 "$CBTRACK" copy "$src_uri" "$small_uri"
expect_stderr 'target is smaller'

# A read-only target.
start_nbdkit ro --readonly memory size=8M
expect_exit 1 "$CBTRACK" copy "$src_uri" "$ro_uri"
expect_stderr 'read-only'

# Read errors part-way: exit 1, a message naming the offset, and a final
# failed status in the JSON stream.
start_nbdkit bad --filter=error pattern size=8M error-pread=EIO \
    error-pread-rate=1
expect_exit 1 "$CBTRACK" copy "$bad_uri" "$tmp/r.img" \
    --progress-json=3 3>"$tmp/r.json"
expect_stderr 'read at offset [0-9]+ .* failed: Input/output error'
jq -e -s '.[-1].status == "failed" and (.[-1].error_message | length > 0)
          and .[-1].percent < 100' "$tmp/r.json" >/dev/null ||
    fail "no final failed update"

# Write errors.
start_nbdkit wbad --filter=error memory size=8M error-pwrite=ENOSPC \
    error-pwrite-rate=1
expect_exit 1 "$CBTRACK" copy "$src_uri" "$wbad_uri"
expect_stderr 'write at offset [0-9]+ .* failed: No space left on device'

# A server without base:allocation (no structured replies): the whole disk
# counts as data, said in a warning and in the summary, and the copy is
# still exact.
start_nbdkit noext --no-sr data size=4M data='@1048576 ( 1 2 3 ) * 100'
"$CBTRACK" copy "$noext_uri" "$tmp/noext.img" 2>"$tmp/stderr" \
    --progress-json=3 3>"$tmp/noext.json" ||
    { cat "$tmp/stderr"; fail "copy without base:allocation"; }
expect_stderr 'warning: .* no base:allocation'
expect_stderr 'whole disk counted as data'
check_same "$noext_uri" "$tmp/noext.img"
check_progress_json "$tmp/noext.json" $(( 4 << 20 ))
