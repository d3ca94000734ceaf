#!/usr/bin/env bash
# A server without base:allocation (no structured replies): the whole disk
# counts as data, said in a warning and in the summary, and the copy is
# still exact.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires jq --version
make_tmpdir

start_nbdkit noext --no-sr data size=4M data='@1048576 ( 1 2 3 ) * 100'
"$CBTRACK" copy "$noext_uri" "$tmp/noext.img" 2>"$tmp/stderr" \
    --progress-json=3 3>"$tmp/noext.json" ||
    { cat "$tmp/stderr"; fail "copy without base:allocation"; }
expect_stderr 'warning: .* no base:allocation'
expect_stderr 'whole disk counted as data'
check_same "$noext_uri" "$tmp/noext.img"
check_progress_json "$tmp/noext.json" $(( 4 << 20 ))
