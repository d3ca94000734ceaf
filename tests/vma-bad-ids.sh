#!/usr/bin/env bash
# cbtrack vma: hostile disk ids in the body and hostile job ids in the
# path get 400 (or 404 where the path is not one of ours): never a new
# job, never a change.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma
bad_input_job
list_before=$(job_list)

# Hostile disk ids in the body.
long=$(printf 'a%.0s' $(seq 200))
for id in '../etc/passwd' '..' 'a/b' 'a b' 'a\"b' "$long" 'café' 'a\u0000b' \
          '<script>'; do
    bad_body 400 "{\"disk_id\":\"$id\",\"total_bytes\":1}"
done

# Hostile job ids in the path.
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

list_after=$(job_list)
[ "$(jq '.count' <<<"$list_after")" = 1 ] ||
    fail "bad requests created jobs: $list_after"
[ "$list_after" = "$list_before" ] || fail "list changed: $list_after"
expect_http 200 GET /healthz

stop_vma
