# cbtrack - helpers for the vSphere tests: the vcsim-cbt peer (govmomi's
# simulator with QueryChangedDiskAreas, tests/vcsim-cbt/main.go) answering
# from changed-area files made from the same qcow2 images the test serves
# over NBD.  Source after functions.sh and incremental-functions.sh.

VS_VM=DC0_H0_VM0
export CBTRACK_VSPHERE_PASSWORD=pass

# vs_requires: skip (77) unless the peer was built and the incremental
# tools are present.
vs_requires ()
{
    inc_requires
    requires test -x "${VCSIM_CBT:-}"
}

# vs_start_peer [VCSIM-CBT ARGS...]: start the peer with its changed-area
# directory $tmp/areas; sets vs_url, vs_thumbprint, vs_log (its calls,
# one line each) and vs_conn (the connection options of cbtrack copy).  Its
# certificate, its own CA, is in $tmp/vcsim-ca.pem.
vs_start_peer ()
{
    local err="$tmp/vcsim.err" pid
    mkdir -p "$tmp/areas"
    vs_log="$tmp/vcsim.log"
    : >"$vs_log"
    : >"$err"
    "$VCSIM_CBT" -listen 127.0.0.1:0 -areas "$tmp/areas" -log "$vs_log" \
        -cert-out "$tmp/vcsim-ca.pem" "$@" 2>"$err" &
    pid=$!
    cleanup_fn kill_daemon "$pid"
    wait_for 30 grep -q "listening on" "$err" ||
        { cat "$err" >&2; fail "vcsim-cbt did not start"; }
    vs_url=$(sed -n 's/^listening on \(.*\) (port .*/\1/p' "$err")
    vs_thumbprint=$(sed -n 's/^thumbprint //p' "$err")
    vs_conn=(--vsphere-url "$vs_url" --vsphere-user user
             --vsphere-thumbprint "$vs_thumbprint")
}

# vs_vsphere ARGS...: cbtrack vsphere with the peer's connection.
vs_vsphere ()
{
    "$CBTRACK" vsphere "$1" --url "$vs_url" --user user \
        --thumbprint "$vs_thumbprint" "${@:2}"
}

# vs_snapshot_create: create a snapshot of the VM, print its id.
vs_snapshot_create ()
{
    "$CBTRACK" vsphere snapshot create --url "$vs_url" --user user \
        --thumbprint "$vs_thumbprint" --vm "$VS_VM"
}

# vs_areas_allocated URI KEY: the allocated areas of the export (what
# changeId "*" answers: everything but holes) into $tmp/areas/KEY-all.json.
vs_areas_allocated ()
{
    mkdir -p "$tmp/areas"
    nbdinfo --map --json "$1" |
        jq -c '[.[] | select(.type % 2 == 0)
                | {start: .offset, length: .length}]' \
        >"$tmp/areas/$2-all.json"
}

# vs_areas_dirty URI BITMAP KEY SEQ: the dirty extents of BITMAP into
# $tmp/areas/KEY-SEQ.json: the areas changed since the changeId SEQ.
vs_areas_dirty ()
{
    mkdir -p "$tmp/areas"
    nbdinfo --map="qemu:dirty-bitmap:$2" --json "$1" |
        jq -c '[.[] | select(.type % 2 == 1)
                | {start: .offset, length: .length}]' \
        >"$tmp/areas/$3-$4.json"
}

# vs_data_bytes URI: the bytes of data (neither hole nor zero) in the
# export: a full copy's exact total.
vs_data_bytes ()
{
    nbdinfo_total "$1" 0
}

# vs_change_id KEY: the changeId of the VM's disk KEY now, as
# `cbtrack vsphere disks` shows it.
vs_change_id ()
{
    vs_vsphere disks --vm "$VS_VM" |
        awk -v key="$1" '$1 == key' | grep -o '52 [0-9a-f -]*/[0-9]*'
}
