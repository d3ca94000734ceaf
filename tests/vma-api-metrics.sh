#!/usr/bin/env bash
# cbtrack vma: /healthz, and /metrics in the Prometheus text format with
# the jobs', disks' and requests' numbers.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma

# Two disks of job-1, two queued jobs, one of them deleted, three 404s.
post_update job-1 '{"disk_id":"disk-2000","stage":"Transfer",
    "status":"in_progress","sync_type":"full","bytes_transferred":1234,
    "total_bytes":5678,"throughput_bps":99}'
post_update job-1 '{"disk_id":"disk-2001","stage":"Transfer",
    "status":"in_progress","bytes_transferred":766,"total_bytes":4322,
    "throughput_bps":1}'
post_update job-2 '{"status":"queued"}'
post_update job-3 '{"status":"queued"}'
expect_http 200 DELETE /api/v1/progress/job-2
expect_http 404 GET /api/v1/progress/job-2
expect_http 404 DELETE /api/v1/progress/job-2
expect_http 404 GET /api/v1/progress/never-seen

expect_http 200 GET /healthz
jq -e '.status == "ok" and .jobs == 2' "$tmp/body" >/dev/null ||
    fail "healthz: $(cat "$tmp/body")"
expect_http 200 GET /metrics
grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/headers" ||
    fail "metrics content type"
for line in \
    'cbtrack_job_transferred_bytes_total{job_id="job-1"} 2000' \
    'cbtrack_job_total_bytes{job_id="job-1"} 10000' \
    'cbtrack_job_progress_ratio{job_id="job-1"} 0.200000' \
    'cbtrack_job_status{job_id="job-1",status="in_progress"} 1' \
    'cbtrack_disk_transferred_bytes_total{job_id="job-1",disk_id="disk-2000"} 1234' \
    'cbtrack_disk_total_bytes{job_id="job-1",disk_id="disk-2001"} 4322' \
    'cbtrack_job_status{job_id="job-3",status="queued"} 1' \
    'cbtrack_vma_jobs{status="queued"} 1' \
    'cbtrack_vma_jobs_deleted_total 1' \
    'cbtrack_vma_job_series_dropped 0' \
    'cbtrack_vma_http_requests_total{code="404"} 3' \
    'cbtrack_build_info{version="0.1.0",component="vma"} 1' \
    '# TYPE cbtrack_job_transferred_bytes_total counter' \
    '# TYPE cbtrack_vma_http_requests_total counter'; do
    grep -qxF "$line" "$tmp/body" || fail "metrics lack: $line"
done
# Every sample line is "name{labels} number" (Prometheus text format).
grep -v '^#' "$tmp/body" |
    grep -Evq '^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.]+$' &&
    fail "malformed metrics line"
# Prometheus' own linter: names, units, types.
if command -v promtool >/dev/null; then
    promtool check metrics <"$tmp/body" || fail "promtool check metrics"
fi
# No per-job series for finished jobs, no rates, no 0-100 percents, no
# "seconds since".
grep -Eq 'throughput|_bps|percent|seconds_since' "$tmp/body" &&
    fail "a metric against Prometheus' naming rules"

stop_vma
