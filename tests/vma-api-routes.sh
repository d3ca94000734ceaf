#!/usr/bin/env bash
# cbtrack vma: unknown paths answer 404; a known path with the wrong
# method answers 405 with an Allow header.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma
post_update job-1 '{"disk_id":"disk-2000","total_bytes":5678}'

# 404: unknown paths.
expect_http 404 GET /nope
expect_http 404 GET /api/v1/progress/job-1/other
expect_http 404 POST /api/v1/progressx -d '{}'

# 405, with Allow.
expect_http 405 GET /api/v1/progress/job-1/update
grep -qi '^Allow: POST' "$tmp/headers" || fail "405 without Allow: POST"
expect_http 405 PUT /api/v1/progress/job-1 -d '{}'
grep -qi '^Allow: GET, HEAD, DELETE' "$tmp/headers" ||
    fail "405 Allow for a job: $(grep -i '^Allow' "$tmp/headers")"
expect_http 405 POST /healthz -d '{}'
expect_http 405 DELETE /api/v1/progress

stop_vma
