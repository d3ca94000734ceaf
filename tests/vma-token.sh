#!/usr/bin/env bash
# cbtrack vma --token-file: POST and DELETE need the bearer token, GET not.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

# Refused token files.
printf '\n' > "$tmp/empty"
expect_exit 1 "$CBTRACK" vma --listen 127.0.0.1:0 --token-file "$tmp/empty"
expect_stderr 'token file is empty'
expect_exit 1 "$CBTRACK" vma --listen 127.0.0.1:0 --token-file "$tmp/missing"
expect_stderr 'missing'

printf 's3cret-token\n' > "$tmp/token"
start_vma --token-file "$tmp/token"
good=(-H 'Authorization: Bearer s3cret-token')

expect_http 200 POST /api/v1/progress/job-1/update "${good[@]}" \
    -d '{"disk_id":"d","total_bytes":10,"bytes_transferred":5}'
before=$(snapshot job-1)

for auth in '' 'Authorization: Bearer wrong' 'Authorization: Bearer s3cret' \
            'Authorization: Bearer s3cret-token-and-more' \
            'Authorization: Basic czNjcmV0LXRva2Vu' \
            'Authorization: s3cret-token' 'Authorization: Bearer'; do
    args=()
    [ -n "$auth" ] && args=(-H "$auth")
    expect_http 401 POST /api/v1/progress/job-1/update "${args[@]}" \
        -d '{"disk_id":"d","bytes_transferred":10}'
    grep -qi '^WWW-Authenticate: Bearer' "$tmp/headers" ||
        fail "401 without WWW-Authenticate"
    expect_http 401 DELETE /api/v1/progress/job-1 "${args[@]}"
    expect_http 401 POST /api/v1/progress/job-2/update "${args[@]}" -d '{}'
done
[ "$(snapshot job-1)" = "$before" ] || fail "job-1 changed without token"
expect_http 404 GET /api/v1/progress/job-2

# Reads stay open, except the list of every job.
expect_http 200 GET /api/v1/progress/job-1
expect_http 401 GET /api/v1/progress
expect_http 200 GET /api/v1/progress "${good[@]}"
expect_http 200 GET /healthz
expect_http 200 GET /metrics

# The scheme is case-insensitive, as HTTP says.
expect_http 200 POST /api/v1/progress/job-1/update \
    -H 'Authorization: bearer s3cret-token' -d '{"disk_id":"d"}'
expect_http 200 DELETE /api/v1/progress/job-1 "${good[@]}"
expect_http 404 GET /api/v1/progress/job-1

# cbtrack status lists the jobs with the token, not without.
expect_http 200 POST /api/v1/progress/job-3/update "${good[@]}" \
    -d '{"status":"in_progress"}'
expect_exit 1 "$CBTRACK" status --vma "$vma_url"
expect_exit 0 "$CBTRACK" status --vma "$vma_url" --token-file "$tmp/token"

stop_vma
