#!/usr/bin/env bash
# The changeId chain through the OMA, on SQLite and on MariaDB: a
# two-disk vSphere manifest job reports to a VMA, both OMAs poll it and
# store each disk's new changeId (vm_disks.change_id), GET
# /api/v1/vms/VM/disks gives them, and the next manifest run, whose disks
# have no "since", takes them from the OMA (--oma-url) and copies
# incrementally: total = changed ∩ data, targets equal to the sources.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
vs_requires
requires command -v curl
make_tmpdir

start_mariadb db
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
vma_url="http://127.0.0.1:$vma"
start_service omam_pid oma_m "$tmp/oma-mariadb.log" "$CBTRACK" oma \
    --db "$db_url" --poll-interval 0.3 --allow-vma "$vma_url"
start_service omas_pid oma_s "$tmp/oma-sqlite.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --poll-interval 0.3 --allow-vma "$vma_url"

size=$(( 64 * 1024 * 1024 ))
inc_make_base "$tmp/d0.qcow2" "$size"
inc_make_base "$tmp/d1.qcow2" "$size"
vs_start_peer -disks "$size,$size"

# register JOB: tell both OMAs of the job of the VM.
register ()
{
    local body port
    body=$(jq -n --arg id "$1" --arg vm "$VS_VM" --arg vma "$vma_url" \
        '{id: $id, source_vm_name: $vm, vma_url: $vma,
          replication_type: "incremental", disks: ["disk-2000", "disk-2001"]}')
    for port in "$oma_m" "$oma_s"; do
        curl -sf -X POST -d "$body" \
            "http://127.0.0.1:$port/api/v1/replications" >/dev/null ||
            fail "register $1 with the OMA on port $port"
    done
}

# manifest FILE JOB: both disks, no "since".
manifest ()
{
    jq -n --arg job "$2" --arg url "$vs_url" --arg tp "$vs_thumbprint" \
        --arg vm "$VS_VM" --arg vma "$vma_url" \
        --arg u0 "$d0_uri" --arg u1 "$d1_uri" \
        --arg t0 "$tmp/t0.img" --arg t1 "$tmp/t1.img" '
        {job_id: $job, vma_url: $vma,
         vsphere: {url: $url, user: "user", thumbprint: $tp, vm: $vm},
         disks: [{disk_id: "disk-2000", disk_key: 2000, source: $u0,
                  target: $t0},
                 {disk_id: "disk-2001", disk_key: 2001, source: $u1,
                  target: $t1}]}' >"$1"
}

# oma_change_ids PORT: "disk-2000=C0 disk-2001=C1" as the OMA says.
oma_change_ids ()
{
    curl -sf "http://127.0.0.1:$1/api/v1/vms/$VS_VM/disks" |
        jq -r '[.disks[] | "\(.disk_id)=\(.change_id)"] | sort | join(" ")'
}

qemu-img bitmap --add "$tmp/d0.qcow2" b2
qemu-img bitmap --add "$tmp/d1.qcow2" b2
inc_serve d0 "$tmp/d0.qcow2"
inc_serve d1 "$tmp/d1.qcow2"
vs_areas_allocated "$d0_uri" 2000
vs_areas_allocated "$d1_uri" 2001

# Nothing stored yet: --oma-url gives a full copy.
[ "$(oma_change_ids "$oma_m")" = "" ] || fail "a fresh OMA knows changeIds"
register job-1
manifest "$tmp/m1.json" job-1
"$CBTRACK" copy -q --manifest "$tmp/m1.json" --oma-url "http://127.0.0.1:$oma_m" \
    >"$tmp/ids" 2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "job-1"; }
check_same "$d0_uri" "$tmp/t0.img"
check_same "$d1_uri" "$tmp/t1.img"
want="$(sed 's/ /=/' "$tmp/ids" | sort | tr '\n' ' ' | sed 's/ $//')"
case "$want" in *"/2 "*"/2") ;; *) fail "unexpected changeIds: $want" ;; esac
for port in "$oma_m" "$oma_s"; do
    wait_for 30 test "$(oma_change_ids "$port")" = "$want" ||
        fail "OMA on port $port: '$(oma_change_ids "$port")', want '$want'"
done
[ "$(sqlite3 "$tmp/oma.db" "SELECT count(*) FROM vm_disks
      WHERE job_id = 'job-1' AND change_id LIKE '52 %/2'")" = 2 ] ||
    fail "vm_disks.change_id in SQLite"
[ "$(mariadb_query "$db" "SELECT count(*) FROM vm_disks
      WHERE job_id = 'job-1' AND change_id LIKE '52 %/2'")" = 2 ] ||
    fail "vm_disks.change_id in MariaDB"

# Writes; the next job continues from the OMA's changeIds.
inc_stop d0
inc_stop d1
mapfile -t cmds < <(inc_scattered_writes "$size" 21 20)
inc_write "$tmp/d0.qcow2" "${cmds[@]}"
mapfile -t cmds < <(inc_scattered_writes "$size" 22 20)
inc_write "$tmp/d1.qcow2" "${cmds[@]}"
inc_serve d0 "$tmp/d0.qcow2" --bitmap=b2
inc_serve d1 "$tmp/d1.qcow2" --bitmap=b2
vs_areas_dirty "$d0_uri" b2 2000 2
vs_areas_dirty "$d1_uri" b2 2001 2
total=$(( $(inc_dirty_data_bytes "$d0_uri" b2) + $(inc_dirty_data_bytes "$d1_uri" b2) ))
register job-2
manifest "$tmp/m2.json" job-2
"$CBTRACK" copy -q --manifest "$tmp/m2.json" --oma-url "http://127.0.0.1:$oma_s" \
    >"$tmp/ids" 2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "job-2"; }
check_same "$d0_uri" "$tmp/t0.img"
check_same "$d1_uri" "$tmp/t1.img"
grep -q 'key=2000 changeId=52 .*/2 ' "$vs_log" &&
    grep -q 'key=2001 changeId=52 .*/2 ' "$vs_log" ||
    fail "the changeIds were not taken from the OMA"
curl -sf "$vma_url/api/v1/progress/job-2" >"$tmp/job.json"
jq -e --argjson t "$total" '.status == "completed" and .total_bytes == $t
    and .sync_type == "incremental"' "$tmp/job.json" >/dev/null ||
    { cat "$tmp/job.json" >&2; fail "job-2: total $total"; }
want="$(sed 's/ /=/' "$tmp/ids" | sort | tr '\n' ' ' | sed 's/ $//')"
wait_for 30 test "$(oma_change_ids "$oma_m")" = "$want" ||
    fail "the OMA did not move to job-2's changeIds"
stop_service "$omam_pid" "$tmp/oma-mariadb.log"
stop_service "$omas_pid" "$tmp/oma-sqlite.log"
stop_service "$vma_pid" "$tmp/vma.log"
