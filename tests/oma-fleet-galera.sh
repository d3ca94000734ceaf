#!/usr/bin/env bash
# Two OMAs on two nodes of a three-node MariaDB Galera cluster (loopback,
# the first node bootstraps): they split the jobs (a claim that loses
# Galera's certification at COMMIT, error 1213, runs again), and when one
# is killed (kill -9) the other takes its jobs over and they complete.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v mariadbd
requires command -v mariadb-install-db
requires command -v rsync
galera=/usr/lib/galera/libgalera_smm.so
if [ ! -e "$galera" ]; then
    echo "$0: test skipped: no Galera provider $galera (Debian galera-4)" >&2
    exit 77
fi
# A joining node copies the donor's data with rsync (SST); run as root,
# the joiner's rsync daemon drops to nobody and cannot write the files.
if [ "$(id -u)" = 0 ]; then
    echo "$0: test skipped: run as root, Galera's rsync state transfer cannot write the joiner's files (run the tests as a normal user)" >&2
    exit 77
fi
if [ "${CBTRACK_MARIADB:-1}" != 1 ]; then
    echo "$0: test skipped: cbtrack built without MariaDB" >&2
    exit 77
fi

# stop_node DIR: stop a node, killing it when it does not stop in time.
stop_node ()
{
    local pid
    [ -s "$1/pid" ] || return 0
    pid=$(cat "$1/pid")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    return 0
}

# start_node N CLUSTER-ADDRESS [ARGS...]: node N of the cluster.
start_node ()
{
    local n=$1 address=$2 dir="$tmp/galera-$1"
    shift 2
    mkdir -p "$dir/tmp"
    mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" \
        --auth-root-authentication-method=normal --skip-test-db \
        --tmpdir="$dir/tmp" >"$dir/install.log" 2>&1 ||
        { cat "$dir/install.log" >&2; fail "mariadb-install-db failed"; }
    cleanup_fn stop_node "$dir"
    # A joining node copies the donor's data with rsync (SST).
    mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" \
        --socket="$dir/sock" --port="${sql_port[$n]}" --bind-address=127.0.0.1 \
        --pid-file="$dir/pid" --tmpdir="$dir/tmp" --log-error="$dir/error.log" \
        --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
        --innodb-flush-log-at-trx-commit=2 --skip-name-resolve \
        --binlog-format=ROW --innodb-autoinc-lock-mode=2 \
        --wsrep-on=ON --wsrep-provider="$galera" \
        --wsrep-cluster-name="cbtrack-$$" \
        --wsrep-node-address="127.0.0.1:${gcomm_port[$n]}" \
        --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:${gcomm_port[$n]};ist.recv_addr=127.0.0.1:${ist_port[$n]};gcache.size=16M" \
        --wsrep-sst-method=rsync \
        --wsrep-sst-receive-address="127.0.0.1:${sst_port[$n]}" \
        --wsrep-cluster-address="$address" "$@" \
        </dev/null >/dev/null 2>&1 &
}

cluster_size ()
{
    mariadb --no-defaults -S "$tmp/galera-1/sock" -u root -N -B \
        -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | cut -f2
}

declare -a sql_port gcomm_port ist_port sst_port
for n in 1 2 3; do
    sql_port[$n]=$(pick_port); gcomm_port[$n]=$(pick_port)
    ist_port[$n]=$(pick_port); sst_port[$n]=$(pick_port)
done
start_node 1 gcomm:// --wsrep-new-cluster
wait_for 60 mariadb --no-defaults -S "$tmp/galera-1/sock" -u root -e 'SELECT 1' ||
    { cat "$tmp/galera-1/error.log" >&2; fail "the first Galera node did not start"; }
# synced N: node N has joined the cluster and serves.
synced ()
{
    [ "$(mariadb --no-defaults -S "$tmp/galera-$1/sock" -u root -N -B \
         -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null |
         cut -f2)" = Synced ]
}
# One joiner at a time.
for n in 2 3; do
    start_node $n "gcomm://127.0.0.1:${gcomm_port[1]}"
    wait_for 90 synced $n ||
        { grep -iE "error|sst" "$tmp"/galera-*/error.log | tail -30 >&2; fail "node $n did not join"; }
done
[ "$(cluster_size)" = 3 ] || fail "no 3-node cluster"
db="$tmp/galera-1" # for row and mariadb_query

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
jobs=8
for i in $(seq $jobs); do vma_update "$vma" "gal-$i" d1 in_progress 10 100; done
opts=(--vma "http://127.0.0.1:$vma" --poll-interval 0.3 --lease 2 --dead-timeout 60 -v)
start_service a_pid a_port "$tmp/a.log" "$CBTRACK" oma "${opts[@]}" --node-id a \
    --db "mysql://root@localhost/cbtrack?socket=$tmp/galera-1/sock"
start_service b_pid b_port "$tmp/b.log" "$CBTRACK" oma "${opts[@]}" --node-id b \
    --db "mysql://root@localhost/cbtrack?socket=$tmp/galera-2/sock"

split () { all_polled_by "$a_port" a $((jobs / 2)) && all_polled_by "$b_port" b $((jobs / 2)); }
wait_for 60 split || { owners "$a_port" >&2; fail "the jobs are not split"; }

kill -9 "$a_pid"
for i in $(seq $jobs); do vma_update "$vma" "gal-$i" d1 completed 100 100; done
completed ()
{
    [ "$(mariadb_query "$db" "SELECT COUNT(*) FROM replication_jobs
         WHERE status = 'completed' AND bytes_transferred = 100")" = $jobs ]
}
wait_for 60 completed ||
    fail "not all jobs completed: $(mariadb_query "$db" "SELECT id, status FROM replication_jobs")"
grep -q "declared dead" "$tmp/b.log" && fail "a job died with its poller"
stop_service "$b_pid" "$tmp/b.log"
