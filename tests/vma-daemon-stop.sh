#!/usr/bin/env bash
# cbtrack vma stops cleanly (exit 0) on SIGTERM with requests in flight
# and idle keep-alive connections, and on SIGINT.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
make_tmpdir

# Stop with requests in flight (idle keep-alive connections too).
start_vma
post_update j '{"disk_id":"d","total_bytes":10}'
( for i in $(seq 200); do
      curl -s -o /dev/null "$vma_url/api/v1/progress/j/update" \
          -d "{\"disk_id\":\"d\",\"bytes_transferred\":$(( i % 10 ))}"
  done ) &
load=$!
sleep 0.3
stop_vma
wait "$load" || true

# SIGINT stops it too.
start_vma
post_update j '{}'
kill -INT "$vma_pid"
status=0
wait "$vma_pid" || status=$?
[ "$status" = 0 ] || fail "exit status $status after SIGINT"
grep -q 'stopping' "$vma_log" || fail "no stop message"
