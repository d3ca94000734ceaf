#!/usr/bin/env bash
# cbtrack vma: wrong types, unknown enum names, negative or huge numbers
# and transferred beyond total get 400 and a JSON error, leave the job
# byte for byte as it was, and are counted.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma
bad_input_job

# Wrong types.
bad_body 400 '{"disk_id":"d1","bytes_transferred":"200"}'
bad_body 400 '{"disk_id":"d1","bytes_transferred":200.5}'
bad_body 400 '{"disk_id":"d1","total_bytes":true}'
bad_body 400 '{"disk_id":"d1","throughput_bps":"fast"}'
bad_body 400 '{"disk_id":"d1","percent":"50%"}'
bad_body 400 '{"disk_id":"d1","status":1}'
bad_body 400 '{"disk_id":"d1","status":"paused"}'
bad_body 400 '{"disk_id":"d1","sync_type":"mirror"}'
bad_body 400 '{"disk_id":42}'
bad_body 400 '{"disk_id":"d1","error_message":["x"]}'
bad_body 400 '{"disk_id":"d1","stage":{"name":"Transfer"}}'

# Negative numbers.
for f in bytes_transferred total_bytes throughput_bps percent eta_seconds \
         bytes_written bytes_zero_skipped capacity_bytes; do
    bad_body 400 "{\"disk_id\":\"d1\",\"$f\":-1}"
done
bad_body 400 '{"disk_id":"d1","total_bytes":-9223372036854775808}'
bad_body 400 '{"disk_id":"d1","total_bytes":99999999999999999999}'

# Transferred beyond total: given together, or against the stored total.
bad_body 400 '{"disk_id":"d1","bytes_transferred":1001}'
bad_body 400 '{"disk_id":"d1","bytes_transferred":20,"total_bytes":10}'
bad_body 400 '{"disk_id":"d3","bytes_transferred":1}'
grep -q 'exceeds total_bytes' "$tmp/body" || fail "message: $(cat "$tmp/body")"

# The service counted every refusal, and is still healthy.
curl -sf "$vma_url/metrics" | grep -Eq '^cbtrack_vma_http_requests_total\{code="400"\} [0-9]{2,}$' ||
    fail "400s not counted"
expect_http 200 GET /healthz

stop_vma
