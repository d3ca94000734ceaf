#!/usr/bin/env bash
# cbtrack vma: 50 parallel senders x 200 updates, each to its own disk of
# one job, while readers poll: exact final sums, and every read consistent
# (the job's sums equal the sums of its disks in the same answer).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

senders=50
updates=200
step=1000
total=$(( updates * step ))

start_vma

# One curl per sender, its 200 updates on one keep-alive connection, in
# order.  Each update is absolute, as a copier sends them.
url="$vma_url/api/v1/progress/conc/update"
for (( s = 0; s < senders; s++ )); do
    for (( i = 1; i <= updates; i++ )); do
        status=in_progress
        (( i == updates )) && status=completed
        (( i > 1 )) && printf 'next\n'
        printf 'url = "%s"\n' "$url"
        printf 'data = "{\\"disk_id\\":\\"disk-%d\\",\\"stage\\":\\"Transfer\\",\\"status\\":\\"%s\\",\\"bytes_transferred\\":%d,\\"total_bytes\\":%d,\\"throughput_bps\\":%d}"\n' \
            "$s" "$status" $(( i * step )) "$total" $(( s + 1 ))
        printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
    done > "$tmp/sender-$s.cfg"
done

# A reader saving the job's answers until the senders are done; they are
# checked afterwards, so that reading is not slowed down by checking.
reader ()
{
    local n=0
    mkdir "$tmp/reads"
    while [ ! -e "$tmp/done" ]; do
        curl -sf -o "$tmp/reads/$n.json" "$vma_url/api/v1/progress/conc" &&
            n=$(( n + 1 ))
    done
}
post_update conc '{"stage":"Analysis","status":"queued"}'
reader &
reader_pid=$!

pids=()
for (( s = 0; s < senders; s++ )); do
    curl -s -K "$tmp/sender-$s.cfg" > "$tmp/codes-$s" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a sender failed"; done
touch "$tmp/done"
wait "$reader_pid"

nreads=$(ls "$tmp/reads" | wc -l)
[ "$nreads" -gt 0 ] || fail "no reads during the run"
jq -e -s 'all(.[]; (.bytes_transferred ==
                    ([.disks[].bytes_transferred] | add // 0)) and
                   (.total_bytes == ([.disks[].total_bytes] | add // 0)) and
                   (.bytes_transferred <= .total_bytes))' \
    "$tmp"/reads/*.json >/dev/null || fail "a torn read"
[ "$(cat "$tmp"/codes-* | grep -c '^200$')" = $(( senders * updates )) ] ||
    fail "not every update got 200: $(cat "$tmp"/codes-* | sort | uniq -c)"

snapshot conc > "$tmp/final"
jq -e --argjson n "$senders" --argjson t "$total" '
    (.disks | length == $n) and
    ([.disks[] | select(.bytes_transferred == $t and .status == "completed")]
     | length == $n) and
    .bytes_transferred == $n * $t and .total_bytes == $n * $t and
    .status == "completed" and .percent == 100 and .throughput_bps == 0' \
    "$tmp/final" >/dev/null || fail "final state: $(cat "$tmp/final")"
curl -sf "$vma_url/metrics" |
    grep -qx "cbtrack_vma_updates_total $(( senders * updates + 1 ))" ||
    fail "updates_total is not $(( senders * updates + 1 ))"
echo "consistent reads during the run: $nreads"

stop_vma
