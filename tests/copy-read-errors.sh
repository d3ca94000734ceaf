#!/usr/bin/env bash
# Read errors part-way: exit 1, a message naming the offset, and a final
# failed status in the JSON stream.  Never a silent short copy.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires jq --version
make_tmpdir

start_nbdkit bad --filter=error pattern size=8M error-pread=EIO \
    error-pread-rate=1
expect_exit 1 "$CBTRACK" copy "$bad_uri" "$tmp/r.img" \
    --progress-json=3 3>"$tmp/r.json"
expect_stderr 'read at offset [0-9]+ .* failed: Input/output error'
jq -e -s '.[-1].status == "failed" and (.[-1].error_message | length > 0)
          and .[-1].percent < 100' "$tmp/r.json" >/dev/null ||
    fail "no final failed update"
