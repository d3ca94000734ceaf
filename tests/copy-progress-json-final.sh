#!/usr/bin/env bash
# The final --progress-json line of a disk is written once (a race made
# it twice most of the time: a few runs show it).
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires jq --version
make_tmpdir

start_nbdkit src sparse-random size=32M seed=3 percent=30
for i in 1 2 3 4 5; do
    rm -f "$tmp/out.img"
    "$CBTRACK" copy -q --progress-json=3 "$src_uri" "$tmp/out.img" \
        3>"$tmp/p.json"
    check_same "$src_uri" "$tmp/out.img"
    jq -e -s 'map(select(.status == "completed")) | length == 1' \
        "$tmp/p.json" >/dev/null ||
        { cat "$tmp/p.json" >&2; fail "final line written twice (run $i)"; }
done
