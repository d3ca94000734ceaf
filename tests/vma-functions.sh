# cbtrack - helpers for the tests of `cbtrack vma` and `cbtrack status`.
#
# Source after functions.sh and make_tmpdir.

# start_vma [VMA ARGS...]: start the service on a free loopback port (the
# kernel picks it: --listen 127.0.0.1:0, so there is no race with other
# programs), wait until it answers; sets vma_pid, vma_url and vma_log (its
# stderr).
_vma_starts=0
start_vma ()
{
    local port="" i
    _vma_starts=$(( _vma_starts + 1 ))
    vma_log="$tmp/vma-$_vma_starts.log"
    start_daemon vma_pid "$CBTRACK" vma --listen 127.0.0.1:0 "$@" \
        2>"$vma_log"
    for (( i = 0; i < 300; i++ )); do
        port=$(sed -nE 's/.*listening on .* \(port ([0-9]+)\).*/\1/p' \
                   "$vma_log")
        [ -n "$port" ] && break
        kill -0 "$vma_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$vma_log" >&2; fail "cbtrack vma did not start"; }
    vma_url="http://127.0.0.1:$port"
    wait_for 30 curl -sf "$vma_url/healthz" || {
        cat "$vma_log" >&2
        fail "cbtrack vma does not answer"
    }
}

# stop_vma: SIGTERM; the service must stop by itself with status 0 (under
# the sanitizers this also proves it freed everything).
stop_vma ()
{
    local status=0
    kill -TERM "$vma_pid"
    wait "$vma_pid" || status=$?
    if [ "$status" != 0 ]; then
        cat "$vma_log" >&2
        fail "cbtrack vma exited with status $status after SIGTERM"
    fi
}

# http METHOD PATH [CURL ARGS...]: one request; sets $code, body in
# $tmp/body, headers in $tmp/headers.
http ()
{
    local method=$1 path=$2
    shift 2
    code=$(curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
                -X "$method" "$@" "$vma_url$path")
}

# expect_http CODE METHOD PATH [CURL ARGS...]: like http, and fail unless
# the status is CODE; an error status must come with {"error": "..."}.
expect_http ()
{
    local want=$1
    shift
    http "$@"
    if [ "$code" != "$want" ]; then
        cat "$tmp/body" >&2
        fail "$1 $2: expected HTTP $want, got $code"
    fi
    if [ "$want" -ge 400 ]; then
        jq -e '.error | type == "string" and length > 0' "$tmp/body" \
            >/dev/null || fail "$1 $2: no JSON error in: $(cat "$tmp/body")"
    fi
}

# post_update JOB JSON: POST one update, which must be accepted.
post_update ()
{
    expect_http 200 POST "/api/v1/progress/$1/update" \
        -H 'Content-Type: application/json' --data-binary "$2"
}

# snapshot JOB: the job's GET answer, byte for byte, except the one field
# that moves with the clock.
snapshot ()
{
    get_json "$vma_url/api/v1/progress/$1" |
        sed -E 's/"seconds_since_(update|run_start)":[0-9]+/"seconds_since_\1":0/g'
}

# bad_input_job: create job-1 with disks d1 and d2, and save its GET answer
# in $before (see bad_body).
bad_input_job ()
{
    post_update job-1 '{"disk_id":"d1","stage":"Transfer","status":"in_progress",
                        "bytes_transferred":100,"total_bytes":1000,
                        "throughput_bps":10,"error_message":"kept"}'
    post_update job-1 '{"disk_id":"d2","status":"queued","total_bytes":50}'
    before=$(snapshot job-1)
}

# bad_body CODE BODY: POST BODY to job-1 (see bad_input_job), expect CODE
# and no change to the job.
bad_body ()
{
    expect_http "$1" POST /api/v1/progress/job-1/update --data-binary "$2"
    [ "$(snapshot job-1)" = "$before" ] ||
        fail "job-1 changed after: $2"
}

# job_list: the GET answer of all jobs, except the field that moves with
# the clock.
job_list ()
{
    curl -sf "$vma_url/api/v1/progress" |
        sed -E 's/"seconds_since_(update|run_start)":[0-9]+/"seconds_since_\1":0/g'
}
