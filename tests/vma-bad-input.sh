#!/usr/bin/env bash
# cbtrack vma: every bad request gets the right code and a JSON error, and
# leaves the job byte for byte as it was.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma

post_update job-1 '{"disk_id":"d1","stage":"Transfer","status":"in_progress",
                    "bytes_transferred":100,"total_bytes":1000,
                    "throughput_bps":10,"error_message":"kept"}'
post_update job-1 '{"disk_id":"d2","status":"queued","total_bytes":50}'
before=$(snapshot job-1)
list_before=$(curl -sf "$vma_url/api/v1/progress" |
              sed -E 's/"seconds_since_update":[0-9]+/"seconds_since_update":0/g')

# bad_body CODE BODY: POST BODY to job-1, expect CODE and no change.
bad_body ()
{
    expect_http "$1" POST /api/v1/progress/job-1/update --data-binary "$2"
    [ "$(snapshot job-1)" = "$before" ] ||
        fail "job-1 changed after: $2"
}

# Malformed JSON, and JSON that is not an object.
bad_body 400 '{bad'
bad_body 400 '{"disk_id":"d1",'
bad_body 400 ''
bad_body 400 '[]'
bad_body 400 '"update"'
bad_body 400 'null'
bad_body 400 '{"a":1}{"b":2}'
bad_body 400 '{"bytes_transferred":1,"bytes_transferred":2}'
bad_body 400 $'{"stage":"\xff\xfe"}'

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

# Hostile disk ids in the body.
long=$(printf 'a%.0s' $(seq 200))
for id in '../etc/passwd' '..' 'a/b' 'a b' 'a\"b' "$long" 'café' 'a\u0000b' \
          '<script>'; do
    bad_body 400 "{\"disk_id\":\"$id\",\"total_bytes\":1}"
done

# A 1 MiB body: refused before it is read (Content-Length) and when sent
# chunked (no length known in advance).
head -c 1048576 /dev/zero | tr '\0' ' ' > "$tmp/big"
printf '{"disk_id":"d1","bytes_transferred":0}' >> "$tmp/big"
expect_http 413 POST /api/v1/progress/job-1/update --data-binary @"$tmp/big"
expect_http 413 POST /api/v1/progress/job-1/update \
    -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big"
[ "$(snapshot job-1)" = "$before" ] || fail "job-1 changed after 1 MiB"
# ... and just under the limit is fine (it is whitespace, then an update).
head -c 65000 /dev/zero | tr '\0' ' ' > "$tmp/ok"
printf '{"disk_id":"d2","total_bytes":50}' >> "$tmp/ok"
expect_http 200 POST /api/v1/progress/job-1/update --data-binary @"$tmp/ok"

# Hostile job ids in the path: 400, or 404 where the path itself is not
# one of ours; never a new job.
bad_path ()
{
    expect_http "$1" POST "$2" --path-as-is -d '{"total_bytes":1}'
}
bad_path 400 '/api/v1/progress/../update'
bad_path 400 '/api/v1/progress/..%2F..%2Fetc/update'
bad_path 404 '/api/v1/progress/a%2Fb/update'
bad_path 400 '/api/v1/progress/%22quoted%22/update'
bad_path 400 '/api/v1/progress/with%20space/update'
bad_path 400 "/api/v1/progress/$long/update"
bad_path 400 '/api/v1/progress/caf%C3%A9/update'
bad_path 400 '/api/v1/progress/%3Cscript%3E/update'
bad_path 400 '/api/v1/progress/../../etc/passwd/update'
bad_path 404 '/api/v1/progress//update'
bad_path 404 '/api/v1/../../etc/passwd'
expect_http 400 GET '/api/v1/progress/%22x%22'
expect_http 400 DELETE "/api/v1/progress/$long"
expect_http 400 GET '/api/v1/progress/..' --path-as-is

list_after=$(curl -sf "$vma_url/api/v1/progress" |
             sed -E 's/"seconds_since_update":[0-9]+/"seconds_since_update":0/g')
[ "$(jq '.count' <<<"$list_after")" = 1 ] ||
    fail "bad requests created jobs: $list_after"
# The one accepted update (d2, same values) changed nothing but the time.
[ "$(jq -S 'del(.jobs[].updated_at, .jobs[].disks[].updated_at)' \
        <<<"$list_after")" = \
  "$(jq -S 'del(.jobs[].updated_at, .jobs[].disks[].updated_at)' \
        <<<"$list_before")" ] || fail "list changed"

# The service counted every refusal, and is still healthy.
curl -sf "$vma_url/metrics" | grep -Eq '^cbtrack_vma_http_requests_total\{code="400"\} [0-9]{2,}$' ||
    fail "400s not counted"
expect_http 200 GET /healthz

stop_vma
