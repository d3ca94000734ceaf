#!/usr/bin/env bash
# cbtrack vma as a daemon: options, address errors, clean stop on SIGINT
# and SIGTERM with requests in flight.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
make_tmpdir

"$CBTRACK" vma --help > "$tmp/help"
for opt in --listen --token-file --job-ttl --max-jobs; do
    grep -q -- "$opt" "$tmp/help" || fail "--help lacks $opt"
done
expect_exit 2 "$CBTRACK" vma --frobnicate
expect_exit 2 "$CBTRACK" vma extra-argument
expect_exit 2 "$CBTRACK" vma --max-jobs 0
expect_exit 1 timeout 10 "$CBTRACK" vma --listen nonsense
expect_stderr 'invalid listen address'
expect_exit 1 timeout 10 "$CBTRACK" vma --listen 127.0.0.1:99999
expect_stderr 'invalid listen address'

start_vma
# The port is taken: a clear error, not a hang.
port=${vma_url##*:}
expect_exit 1 timeout 10 "$CBTRACK" vma --listen "127.0.0.1:$port"
expect_stderr 'cannot listen on .*Address already in use'

# Stop with requests in flight (idle keep-alive connections too).
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
