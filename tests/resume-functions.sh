# cbtrack - helpers for the resume tests (source after functions.sh).

# resume_kill_loop N CMD [ARGS...]: run CMD (a `cbtrack copy`) N times,
# each killed with SIGKILL at a random moment 0.2-0.8 s after its start,
# then once more to the end, which must exit 0.  A run that ends before
# its kill ends the loop (it must have exited 0).  Every run's progress
# JSON goes to $tmp/run-I.json when CMD has --progress-json=3.
resume_kill_loop ()
{
    local n=$1 i pid rc
    shift
    for (( i=1; i <= n; i++ )); do
        "$@" 3>"$tmp/run-$i.json" 2>"$tmp/run-$i.err" &
        pid=$!
        sleep "0.$(( RANDOM % 7 + 2 ))"
        # (A run that exited is a zombie until waited for: the kill
        # succeeds either way, and the status tells which it was.)
        kill -9 "$pid" 2>/dev/null || :
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        if [ "$rc" = 137 ]; then
            echo "run $i: killed"
        else
            [ "$rc" = 0 ] || { cat "$tmp/run-$i.err" >&2; fail "run $i: exit $rc"; }
            echo "run $i: finished before its kill"
            resume_runs=$i
            return 0
        fi
    done
    resume_runs=$(( n + 1 ))
    "$@" 3>"$tmp/run-$resume_runs.json" 2>"$tmp/run-$resume_runs.err" || {
        cat "$tmp/run-$resume_runs.err" >&2
        fail "the last run failed"
    }
}

# log_bytes KIND LOGFILE: the bytes of every KIND request (Read or Write)
# that nbdkit's log filter saw complete successfully, over all
# connections.  Zero requests are not counted: they move no data.
log_bytes ()
{
    python3 - "$1" "$2" <<'PY'
import re, sys
pending, total = {}, 0
for line in open(sys.argv[2]):
    m = re.search(r'connection=(\d+) (\.\.\.)?%s id=(\d+)' % sys.argv[1], line)
    if not m:
        continue
    key = (m.group(1), m.group(3))
    if m.group(2) is None:
        pending[key] = int(re.search(r'count=(0x[0-9a-f]+)', line).group(1), 16)
    elif 'return=0' in line:
        total += pending.pop(key, 0)
print(total)
PY
}

# read_bytes LOGFILE, write_bytes LOGFILE: log_bytes for reads, writes.
read_bytes () { log_bytes Read "$1"; }
write_bytes () { log_bytes Write "$1"; }

# check_overhead MOVED PLANNED RUNS: print the overhead of MOVED bytes
# over PLANNED, and fail when MOVED is below PLANNED, or above PLANNED plus
# 4 MiB for each interrupted run: what one kill can cost is the work done
# since the last checkpoint (one report interval) and the requests in
# flight, both bounded, whatever the size of the disk.
check_overhead ()
{
    local moved=$1 planned=$2 runs=$3
    python3 -c "import sys; m, p, r = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]); print('moved %d of a plan of %d bytes over %d runs: overhead %.1f %%, %.2f MiB per interrupted run' % (m, p, r, 100.0 * (m - p) / p, (m - p) / max(r - 1, 1) / 1048576))" "$moved" "$planned" "$runs"
    [ "$moved" -ge "$planned" ] || fail "moved $moved bytes, fewer than the plan's $planned"
    [ "$moved" -le $(( planned + (runs - 1) * 4 * 1048576 )) ] ||
        fail "moved $moved bytes for a plan of $planned over $runs runs"
}
