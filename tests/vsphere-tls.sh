#!/usr/bin/env bash
# The server's certificate is verified: against a CA file (the peer's own
# certificate; by IP address and by host name), or by its pinned SHA-256
# thumbprint (with or without ':', any case); by default against the
# system's CAs, which do not know it; a CA file of another server is
# refused; --insecure works and says so on every run.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
vs_requires
requires openssl version
make_tmpdir

size=$(( 4 * 1024 * 1024 ))
qemu-img create -q -f qcow2 "$tmp/disk.qcow2" "$size"
qemu-io -f qcow2 -c "write -P 7 0 1M" "$tmp/disk.qcow2" >/dev/null
inc_serve srv "$tmp/disk.qcow2"
vs_areas_allocated "$srv_uri" 2000
vs_start_peer -disks "$size"
conn=(--vsphere-url "$vs_url" --vsphere-user user)
host_url=${vs_url/127.0.0.1/localhost}

# copy_ok NAME ARGS...: the copy succeeds and the target is the source.
copy_ok ()
{
    local name=$1
    shift
    rm -f "$tmp/t.img"
    "$CBTRACK" copy --vm "$VS_VM" --disk-key 2000 "$@" "$srv_uri" \
        "$tmp/t.img" >/dev/null 2>"$tmp/stderr" ||
        { cat "$tmp/stderr" >&2; fail "$name"; }
    check_same "$srv_uri" "$tmp/t.img"
}

copy_ok "CA file" "${conn[@]}" --vsphere-ca-file "$tmp/vcsim-ca.pem"
copy_ok "CA file, host name" --vsphere-url "$host_url" --vsphere-user user \
    --vsphere-ca-file "$tmp/vcsim-ca.pem"
lower=$(printf '%s' "$vs_thumbprint" | tr -d : | tr 'A-F' 'a-f')
copy_ok "thumbprint without ':'" "${conn[@]}" --vsphere-thumbprint "$lower"
copy_ok "insecure" "${conn[@]}" --insecure
grep -q 'WARNING: --insecure' "$tmp/stderr" || fail "--insecure is quiet"

expect_exit 1 "$CBTRACK" copy "${conn[@]}" --vm "$VS_VM" --disk-key 2000 \
    "$srv_uri" "$tmp/t2.img"
expect_stderr "^cbtrack copy: .*certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/other.key" -out "$tmp/other.pem" -days 1 \
    -subj /CN=other -addext subjectAltName=IP:127.0.0.1 2>/dev/null ||
    fail "openssl req"
expect_exit 1 "$CBTRACK" copy "${conn[@]}" --vsphere-ca-file "$tmp/other.pem" \
    --vm "$VS_VM" --disk-key 2000 "$srv_uri" "$tmp/t2.img"
expect_stderr "^cbtrack copy: .*certificate"
expect_exit 2 "$CBTRACK" copy "${conn[@]}" --vsphere-thumbprint 12:34 \
    --vm "$VS_VM" --disk-key 2000 "$srv_uri" "$tmp/t2.img"
expect_stderr "not a SHA-256 thumbprint"
[ ! -e "$tmp/t2.img" ] || fail "a target was created"
