#!/usr/bin/env bash
# What goes wrong on the vSphere side is one clear line and exit 1, with
# nothing written (and a final failed update to a VMA): a wrong password, a certificate that is not the pinned
# one, a VM that does not exist, a disk key it does not have, no password
# at all (exit 2 for usage: --insecure with a thumbprint).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
vs_requires
requires curl --version
make_tmpdir
start_vma

size=$(( 4 * 1024 * 1024 ))
qemu-img create -q -f qcow2 "$tmp/disk.qcow2" "$size"
inc_serve srv "$tmp/disk.qcow2"
vs_areas_allocated "$srv_uri" 2000
vs_start_peer -disks "$size"

# copy_fails PATTERN ARGS...: the copy exits 1 with one line matching
# PATTERN and creates no target.
copy_fails ()
{
    local pattern=$1
    shift
    expect_exit 1 "$CBTRACK" copy --vm "$VS_VM" --disk-key 2000 "$@" \
        "$srv_uri" "$tmp/target.img"
    [ "$(wc -l <"$tmp/stderr")" = 1 ] ||
        { cat "$tmp/stderr" >&2; fail "more than one line: $*"; }
    expect_stderr "$pattern"
    [ ! -e "$tmp/target.img" ] || fail "a target was created: $*"
}

CBTRACK_VSPHERE_PASSWORD=wrong copy_fails \
    "^cbtrack copy: .*login refused for user 'user': wrong user name or password" \
    "${vs_conn[@]}"
wrong=$(printf '%s' "$vs_thumbprint" | sed 's/^../00/')
[ "$wrong" != "$vs_thumbprint" ] || wrong=$(printf '%s' "$vs_thumbprint" | sed 's/^../11/')
copy_fails "^cbtrack copy: .*certificate" \
    --vsphere-url "$vs_url" --vsphere-user user --vsphere-thumbprint "$wrong"
copy_fails "^cbtrack copy: .*certificate" \
    --vsphere-url "$vs_url" --vsphere-user user
copy_fails "^cbtrack copy: no VM named 'no-such-vm'$" \
    "${vs_conn[@]}" --vm no-such-vm
copy_fails "^cbtrack copy: the VM has no disk with key 2001$" \
    "${vs_conn[@]}" --disk-key 2001
CBTRACK_VSPHERE_PASSWORD= copy_fails "^cbtrack copy: no vSphere password" \
    "${vs_conn[@]}"
echo wrong >"$tmp/password"
copy_fails "wrong user name or password" "${vs_conn[@]}" \
    --vsphere-password-file "$tmp/password"

# Reporting to a VMA, the failure reaches it too (a final failed update).
copy_fails "^cbtrack copy: no VM named 'gone'$" "${vs_conn[@]}" --vm gone \
    --vma-url "$vma_url" --job j-fail --disk disk-2000 --since "52 aa/3"
curl -sf "$vma_url/api/v1/progress/j-fail" >"$tmp/job.json"
jq -e '.status == "failed" and .sync_type == "incremental"
    and (.error_message | test("no VM named"))' "$tmp/job.json" >/dev/null ||
    { cat "$tmp/job.json" >&2; fail "VMA: the failure"; }

# The password file wins over the environment, and works.
echo pass >"$tmp/password"
CBTRACK_VSPHERE_PASSWORD=wrong "$CBTRACK" copy "${vs_conn[@]}" \
    --vsphere-password-file "$tmp/password" --vm "$VS_VM" --disk-key 2000 \
    "$srv_uri" "$tmp/target.img" >/dev/null 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "copy with a password file"; }
check_same "$srv_uri" "$tmp/target.img"

expect_exit 2 "$CBTRACK" copy "${vs_conn[@]}" --insecure --vm "$VS_VM" \
    --disk-key 2000 "$srv_uri" "$tmp/t2.img"
expect_stderr "alternatives"
