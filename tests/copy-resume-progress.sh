#!/usr/bin/env bash
# After a kill, the rerun's progress is honest: its first JSON line is at
# stage Resume with the bytes already done (never 0), the total is the
# plan's, bytes never go backwards, throughput counts only what moves now,
# and the copy ends completed and identical to the source.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires jq --version
make_tmpdir

args=(sparse-random size=64M seed=11 percent=60)
start_nbdkit src -t 1 --filter=rate "${args[@]}" rate=40M
start_nbdkit ref "${args[@]}"
planned=$(plan_value "$ref_uri" transfer_bytes)
copy=("$CBTRACK" copy -q --report-interval 0.2 --progress-json=3
      "$src_uri" "$tmp/target.img")

"${copy[@]}" 3>"$tmp/first.json" &
pid=$!
# Kill once the first run has moved something.
wait_for 20 jq -e -s 'map(.bytes_transferred) | max > 4000000' \
    "$tmp/first.json" || fail "the first run did not move"
sleep 0.3
kill -9 "$pid"
wait "$pid" 2>/dev/null || :
done_bytes=$(jq -e .done_bytes "$XDG_STATE_HOME"/cbtrack/*.checkpoint)
[ "$done_bytes" -gt 0 ] || fail "the checkpoint claims nothing"

"${copy[@]}" 3>"$tmp/second.json" 2>"$tmp/stderr" ||
    { cat "$tmp/stderr"; fail "the rerun failed"; }
check_same "$ref_uri" "$tmp/target.img"
check_progress_json "$tmp/second.json" "$planned"
jq -e -s --argjson d "$done_bytes" --argjson t "$planned" '
    .[0].stage == "Resume" and .[0].bytes_transferred == $d
    and .[0].resumed_bytes == $d and .[0].total_bytes == $t
    and all(.total_bytes == $t and .resumed_bytes == $d)
    and ([.[].stage] | index("Transfer")) > 0' "$tmp/second.json" \
    >/dev/null || { cat "$tmp/second.json"; fail "resumed progress"; }
# Throughput counts only what moved in this run: never more than that
# over the run's whole time.
jq -e -s --argjson d "$done_bytes" '
    .[-1] | .throughput_bps <= (.bytes_transferred - $d) / .elapsed_seconds * 1.01' \
    "$tmp/second.json" >/dev/null || { tail -1 "$tmp/second.json"; echo "done $done_bytes"; fail "throughput counts resumed bytes"; }

