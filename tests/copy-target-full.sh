#!/usr/bin/env bash
# A target file on a filesystem that fills up: one clear line, a failed
# update, exit 1; no space is not retried.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires jq --version
make_tmpdir

mkdir "$tmp/mnt"
mount -t tmpfs -o size=8M tmpfs "$tmp/mnt" 2>/dev/null || {
    echo "$0: test skipped: cannot mount a tmpfs" >&2
    exit 77
}
cleanup_fn umount "$tmp/mnt"

# 16 MiB of data for 8 MiB of space.
start_nbdkit src random size=16M seed=9
expect_exit 1 timeout 60 "$CBTRACK" copy -q --progress-json=3 "$src_uri" \
    "$tmp/mnt/out.img" 3>"$tmp/p.json"
expect_stderr '^cbtrack copy: .*/out.img: write at offset [0-9]+ \([0-9]+ bytes\) failed: No space left on device$'
expect_one_line
jq -e -s '.[-1].status == "failed"
          and (.[-1].error_message | test("No space left"))
          and .[-1].percent < 100' "$tmp/p.json" >/dev/null ||
    fail "no final failed update"
