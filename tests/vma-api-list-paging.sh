#!/usr/bin/env bash
# cbtrack vma: the job list in pages (?limit=&after=, by id), by status
# (?status=), and only what changed since a version (?since=); bad values
# answer 400.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma
for i in 3 1 5 2 4; do post_update "job-$i" '{"status":"queued"}'; done
post_update job-2 '{"status":"in_progress"}'

expect_http 200 GET '/api/v1/progress?limit=2'
jq -e '.count == 2 and [.jobs[].job_id] == ["job-1","job-2"]
       and .next_after == "job-2" and .version == 6' "$tmp/body" >/dev/null ||
    fail "page 1: $(cat "$tmp/body")"
expect_http 200 GET '/api/v1/progress?limit=2&after=job-4'
jq -e '[.jobs[].job_id] == ["job-5"] and (has("next_after") | not)' \
    "$tmp/body" >/dev/null || fail "last page: $(cat "$tmp/body")"
expect_http 200 GET '/api/v1/progress?status=in_progress'
jq -e '[.jobs[].job_id] == ["job-2"]' "$tmp/body" >/dev/null ||
    fail "status: $(cat "$tmp/body")"
expect_http 200 GET '/api/v1/progress?since=6'
jq -e '.count == 0 and .version == 6' "$tmp/body" >/dev/null ||
    fail "since, nothing changed: $(cat "$tmp/body")"
post_update job-4 '{"status":"in_progress"}'
expect_http 200 GET '/api/v1/progress?since=6'
jq -e '[.jobs[].job_id] == ["job-4"] and .version == 7' "$tmp/body" \
    >/dev/null || fail "since: $(cat "$tmp/body")"
for q in limit=0 limit=x 'after=..%2Fx' status=done since=-1; do
    expect_http 400 GET "/api/v1/progress?$q"
done
