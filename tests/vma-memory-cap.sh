#!/usr/bin/env bash
# cbtrack vma caps its jobs' memory in bytes (--max-memory): updates that
# need more get 503 and change nothing, the rest keeps working, and
# deleting a job makes room again.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v python3

start_vma --max-memory 1M
# Jobs of 256 disks with 1 KiB errors, until the service says 503.
python3 - "$vma_url" >"$tmp/fill" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
err = "e" * 1000
for j in range(100):
    for d in range(256):
        body = json.dumps({"disk_id": "d%d" % d, "status": "in_progress",
                           "total_bytes": 10, "error_message": err})
        c.request("POST", "/api/v1/progress/job-%d/update" % j, body)
        r = c.getresponse()
        r.read()
        if r.status == 503:
            print(j, d)
            sys.exit(0)
        if r.status != 200:
            print("status", r.status)
            sys.exit(1)
print("never refused")
PY
read -r full_job full_disk <"$tmp/fill"
[ "$full_job" -ge 1 ] 2>/dev/null || fail "no 503 within the cap: $(cat "$tmp/fill")"
before=$(snapshot "job-$full_job")
err=$(head -c 1000 /dev/zero | tr '\0' e)
expect_http 503 POST "/api/v1/progress/job-$full_job/update" \
    -d "{\"disk_id\":\"d$full_disk\",\"status\":\"in_progress\",
         \"total_bytes\":10,\"error_message\":\"$err\"}"
[ "$(snapshot "job-$full_job")" = "$before" ] || fail "a refused update changed the job"
# Existing disks still take updates that need no more memory.
post_update job-0 '{"disk_id":"d0","bytes_transferred":5}'
expect_http 200 GET /api/v1/progress
jq -e ".count == $((full_job + 1))" "$tmp/body" >/dev/null || fail "list"
expect_http 200 DELETE /api/v1/progress/job-0
post_update job-new '{"disk_id":"d0","total_bytes":1}'
stop_vma
