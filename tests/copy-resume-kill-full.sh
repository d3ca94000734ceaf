#!/usr/bin/env bash
# A full copy killed with SIGKILL at ten random moments, each time run
# again with the same command: the target ends equal to the source, and
# the bytes read over all runs stay close to the plan's total.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/resume-functions.sh" || exit 1
requires nbdkit --version
requires python3 --version
make_tmpdir

# The rate filter makes the copy last several seconds (-t 1: nbdkit 1.32
# can abort when a client dies with replies in flight).  REF serves the
# same bytes without filters, for the comparison.
args=(sparse-random size=96M seed=7 percent=60)
start_nbdkit src -t 1 --filter=log --filter=rate "${args[@]}" \
    rate=40M logfile="$tmp/src.log"
start_nbdkit ref "${args[@]}"
planned=$(plan_value "$ref_uri" transfer_bytes)

resume_kill_loop 10 "$CBTRACK" copy -q --report-interval 0.2 \
    --progress-json=3 "$src_uri" "$tmp/target.img"
check_overhead "$(read_bytes "$tmp/src.log")" "$planned" "$resume_runs"
check_same "$ref_uri" "$tmp/target.img"
# A finished copy leaves no checkpoint behind.
[ -z "$(ls -A "$XDG_STATE_HOME/cbtrack")" ] || fail "a checkpoint was left"
