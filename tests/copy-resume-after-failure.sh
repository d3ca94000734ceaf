#!/usr/bin/env bash
# A copy that fails part-way (the source starts failing every read) drains,
# flushes and writes its checkpoint on the way out: the checkpoint holds
# every byte the failed run reported done.  Once the source is healthy
# again, the same command resumes from there and completes.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires jq --version
make_tmpdir

args=(sparse-random size=64M seed=31 percent=60)
start_nbdkit src -t 1 --filter=error --filter=rate "${args[@]}" rate=40M \
    error-pread=EIO error-pread-rate=1 error-pread-file="$tmp/inject"
start_nbdkit ref "${args[@]}"
planned=$(plan_value "$ref_uri" transfer_bytes)
copy=("$CBTRACK" copy -q --job job-f --disk disk-1 --progress-json=3
      "$src_uri" "$tmp/target.img")
ckpt="$XDG_STATE_HOME/cbtrack/job-f--disk-1.checkpoint"

"${copy[@]}" 3>"$tmp/failed.json" 2>"$tmp/stderr" &
pid=$!
wait_for 20 jq -e -s 'map(.bytes_transferred) | max > 4000000' \
    "$tmp/failed.json" || fail "the copy did not move"
touch "$tmp/inject"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/stderr"; fail "exit $rc, not 1"; }
rm "$tmp/inject"

failed_bytes=$(jq -e -s '.[-1] | select(.status == "failed")
    | .bytes_transferred' "$tmp/failed.json")
done_bytes=$(jq -e .done_bytes "$ckpt")
# The default interval is 2 s: only the stop path can have written this.
[ "$done_bytes" = "$failed_bytes" ] ||
    fail "checkpoint holds $done_bytes, the failed run reported $failed_bytes"

"${copy[@]}" 3>"$tmp/resumed.json"
check_same "$ref_uri" "$tmp/target.img"
jq -e -s --argjson d "$done_bytes" --argjson t "$planned" '
    .[0].stage == "Resume" and .[0].resumed_bytes == $d
    and .[-1].status == "completed" and .[-1].bytes_transferred == $t' \
    "$tmp/resumed.json" >/dev/null || {
    head -n 2 "$tmp/resumed.json"; tail -n 1 "$tmp/resumed.json"
    fail "the rerun did not resume (checkpoint: $done_bytes bytes done)"
}
[ ! -e "$ckpt" ] || fail "the finished copy left its checkpoint"
