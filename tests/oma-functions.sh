# cbtrack - helpers for the tests of `cbtrack oma`.
#
# Source after functions.sh and make_tmpdir.

# http METHOD PATH [CURL ARGS...]: one request to the OMA on $port; the
# status code on stdout, the body in $tmp/body, the headers in
# $tmp/headers.
http ()
{
    local method=$1 path=$2
    shift 2
    # curl's own status does not matter: a server that answers 413 and
    # closes while the body is still being sent makes curl exit 55, and a
    # missing answer shows as status 000.
    curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
        -X "$method" "$@" "http://127.0.0.1:$port$path" || true
}

# expect CODE METHOD PATH [CURL ARGS...]: the answer has status CODE and,
# for errors, a JSON {"error": "..."} body.
expect ()
{
    local want=$1 got
    shift
    got=$(http "$@")
    [ "$got" = "$want" ] || {
        cat "$tmp/body" >&2
        fail "$* answered $got, expected $want"
    }
    if [ "$want" -ge 400 ]; then
        jq -e '.error | type == "string" and length > 0' "$tmp/body" \
            >/dev/null || fail "$*: no JSON error in: $(cat "$tmp/body")"
    fi
}

# api_tests DB: start an OMA on the --db URL DB (with a token file) and
# check its whole JSON API: auth, registering, bad requests that change
# nothing, one job with its disks, PATCH, and the page with its parts.
# Stops the OMA at the end; job-1's setup_progress_percent is then 42.5.
api_tests ()
{
    local db=$1 oma_pid before
    echo "s3cret-token" >"$tmp/token"
    local auth=(-H "Authorization: Bearer s3cret-token")
    start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma --db "$db" \
        --token-file "$tmp/token" --vma http://127.0.0.1:9 \
        --poll-interval 1h

    expect 200 GET /api/v1/replications
    jq -e '.count == 0 and .replications == []' "$tmp/body" >/dev/null ||
        fail "fresh database is not empty"

    local job='{"id":"job-1","source_vm_name":"web01 \"quoted\" <b>",
        "vma_url":"http://127.0.0.1:9","replication_type":"full",
        "disks":["disk-2000",{"disk_id":"disk-2001","capacity_bytes":4096}]}'
    expect 401 POST /api/v1/replications -d "$job"
    expect 401 POST /api/v1/replications -d "$job" \
        -H "Authorization: Bearer wrong"
    expect 201 POST /api/v1/replications -d "$job" "${auth[@]}"
    jq -e '.status == "success" and .id == "job-1"' "$tmp/body" >/dev/null ||
        fail "POST reply: $(cat "$tmp/body")"
    expect 409 POST /api/v1/replications -d "$job" "${auth[@]}"
    # Default vma_url: the first --vma.
    expect 201 POST /api/v1/replications -d '{"id":"job-2"}' "${auth[@]}"

    http GET /api/v1/replications >/dev/null
    before=$(cat "$tmp/body")

    # Bad requests change nothing.
    expect 400 POST /api/v1/replications -d '{"id":' "${auth[@]}"
    expect 400 POST /api/v1/replications -d '[1]' "${auth[@]}"
    expect 400 POST /api/v1/replications -d '{"id":7}' "${auth[@]}"
    expect 400 POST /api/v1/replications -d '{"id":"../x"}' "${auth[@]}"
    expect 400 POST /api/v1/replications -d '{"id":"a b"}' "${auth[@]}"
    expect 400 POST /api/v1/replications -d '{"id":"caf\u00e9"}' "${auth[@]}"
    expect 400 POST /api/v1/replications \
        -d "{\"id\":\"$(printf 'a%.0s' $(seq 200))\"}" "${auth[@]}"
    expect 400 POST /api/v1/replications \
        -d '{"id":"job-3","disks":["d","d"]}' "${auth[@]}"
    expect 400 POST /api/v1/replications \
        -d '{"id":"job-3","vma_url":"javascript:alert(1)"}' "${auth[@]}"
    expect 400 POST /api/v1/replications \
        -d '{"id":"job-3","disks":[{"disk_id":"d","capacity_bytes":-1}]}' \
        "${auth[@]}"
    head -c $((1024 * 1024)) /dev/zero | tr '\0' 'x' >"$tmp/huge"
    expect 413 POST /api/v1/replications --data-binary "@$tmp/huge" \
        -H 'Expect: 100-continue' "${auth[@]}"
    expect 413 POST /api/v1/replications --data-binary "@$tmp/huge" \
        -H 'Expect:' "${auth[@]}"
    expect 400 PATCH /api/v1/replications/job-1 -d '{}' "${auth[@]}"
    expect 400 PATCH /api/v1/replications/job-1 \
        -d '{"setup_progress_percent":150}' "${auth[@]}"
    expect 400 PATCH /api/v1/replications/job-1 \
        -d '{"setup_progress_percent":"50"}' "${auth[@]}"
    expect 401 PATCH /api/v1/replications/job-1 \
        -d '{"setup_progress_percent":50}'
    expect 404 PATCH /api/v1/replications/nope \
        -d '{"setup_progress_percent":50}' "${auth[@]}"
    expect 405 DELETE /api/v1/replications/job-1 "${auth[@]}"
    grep -qi '^Allow:.*GET' "$tmp/headers" || fail "405 without Allow"
    expect 405 PUT /api/v1/replications "${auth[@]}"
    expect 404 GET /api/v1/replications/nope
    expect 400 GET '/api/v1/replications/..%2Fetc'
    expect 404 GET /api/v1/nothing
    http GET /api/v1/replications >/dev/null
    [ "$(cat "$tmp/body")" = "$before" ] ||
        fail "a bad request changed the jobs"

    # One job with its disks.
    expect 200 GET /api/v1/replications/job-1
    jq -e '.id == "job-1" and .source_vm_name == "web01 \"quoted\" <b>"
           and .status == "pending" and .replication_type == "full"
           and .progress_percent == 0 and .eta_seconds == null
           and (.disks | map(.disk_id)) == ["disk-2000", "disk-2001"]
           and .disks[1].capacity_bytes == 4096
           and .disks[0].sync_status == "pending" and .history == []' \
        "$tmp/body" >/dev/null || fail "GET job-1: $(cat "$tmp/body")"
    expect 200 GET /api/v1/replications/job-2
    jq -e '.vma_url == "http://127.0.0.1:9" and .source_vm_name == "job-2"' \
        "$tmp/body" >/dev/null || fail "GET job-2: $(cat "$tmp/body")"

    # PATCH the setup phase.
    expect 200 PATCH /api/v1/replications/job-1 \
        -d '{"setup_progress_percent":42.5}' "${auth[@]}"
    expect 200 PATCH /api/v1/replications/job-1 \
        -d '{"current_operation":"Creating volumes"}' "${auth[@]}"
    expect 200 GET /api/v1/replications/job-1
    jq -e '.setup_progress_percent == 42.5
           and .current_operation == "Creating volumes"' "$tmp/body" \
        >/dev/null || fail "PATCH: $(cat "$tmp/body")"

    # The page and its parts.
    expect 200 GET /
    grep -qi '^Content-Type: text/html' "$tmp/headers" || fail "/ type"
    grep -qi "^Content-Security-Policy: default-src 'none'" "$tmp/headers" ||
        fail "/ has no CSP"
    expect 200 GET /ui/app.js
    grep -q textContent "$tmp/body" || fail "app.js"
    grep -q 'innerHTML' "$tmp/body" && fail "app.js uses innerHTML"
    expect 200 GET /ui/style.css

    stop_service "$oma_pid" "$tmp/oma.log"
}

# vma_post PORT JOB BODY: one update to the VMA on PORT.
vma_post ()
{
    curl -sf -o /dev/null -X POST -d "$3" \
        "http://127.0.0.1:$1/api/v1/progress/$2/update" ||
        fail "update of $2 refused: $3"
}

# vma_update PORT JOB DISK STATUS DONE TOTAL: a disk's update in the
# Transfer stage (capacity twice the total).
vma_update ()
{
    vma_post "$1" "$2" "{\"disk_id\":\"$3\",\"stage\":\"Transfer\",
        \"status\":\"$4\",\"sync_type\":\"full\",\"bytes_transferred\":$5,
        \"total_bytes\":$6,\"throughput_bps\":1000,\"capacity_bytes\":$(($6 * 2))}"
}

# row JOB: "status|progress_percent|bytes_transferred|total_bytes" from
# the MariaDB server of $db, through the mariadb command-line client.
row ()
{
    mariadb_query "$db" "SELECT CONCAT_WS('|', status, progress_percent,
        bytes_transferred, total_bytes) FROM replication_jobs
        WHERE id = '$1'"
}

# row_is JOB ROW: row JOB is ROW.
row_is () { [ "$(row "$1")" = "$2" ]; }

# error_of JOB: the job's error_message in the MariaDB server of $db.
error_of ()
{
    mariadb_query "$db" "SELECT error_message FROM replication_jobs
        WHERE id = '$1'"
}

# owners OMAPORT: "JOB NODE" per job, from the API of the OMA on OMAPORT
# (NODE is "-" for a job no OMA has claimed).
owners ()
{
    curl -sf "http://127.0.0.1:$1/api/v1/replications" |
        jq -r '.replications[] | "\(.id) \(.polled_by // "-")"' | sort
}

# all_polled_by OMAPORT NODE N: the N jobs are all claimed by NODE.
all_polled_by ()
{
    [ "$(owners "$1" | awk -v n="$2" '$2 == n' | wc -l)" = "$3" ]
}

# start_log_proxy PORTVAR UPSTREAMPORT LOG: a proxy in front of the VMA on
# UPSTREAMPORT that logs "USER-AGENT<TAB>PATH" per request into LOG.
start_log_proxy ()
{
    local _lp_var=$1 _lp_file="$tmp/proxy-$RANDOM.port"
    python3 "$SRCDIR/tests/helpers/log-proxy.py" "$_lp_file" \
        "http://127.0.0.1:$2" "$3" &
    cleanup_fn kill_daemon $!
    wait_for 10 test -s "$_lp_file" || fail "the log proxy did not start"
    printf -v "$_lp_var" '%s' "$(cat "$_lp_file")"
}

# db_query ENGINE SQL: run SQL on the test's database of ENGINE (sqlite:
# $tmp/oma.db; mariadb: the server start_mariadb db started), printing the
# rows.  MariaDB spells DROP INDEX with its table; write it as SQLite does.
db_query ()
{
    if [ "$1" = sqlite ]; then
        sqlite3 "$tmp/oma.db" "$2"
    else
        mariadb_query "$db" "${2//DROP INDEX replication_jobs_owner/DROP INDEX replication_jobs_owner ON replication_jobs}"
    fi
}

# old_schema_db ENGINE SQL: make today's schema on ENGINE with one job
# (old-1, VM "web", disk disk-2000), then take it back with SQL (which
# drops the later versions' columns and tables and their cbtrack_schema
# rows).  Sets $url (the --db URL) and $newest (today's schema version).
old_schema_db ()
{
    local engine=$1 pid port
    if [ "$engine" = sqlite ]; then url="sqlite:$tmp/oma.db"; else url=$db_url; fi
    start_service pid port "$tmp/oma-$engine.log" "$CBTRACK" oma --db "$url" \
        --poll-interval 1h --allow-vma "127.0.0.1:*"
    curl -sf -X POST -d '{"id":"old-1","source_vm_name":"web",
        "vma_url":"http://127.0.0.1:9","disks":["disk-2000"]}' \
        "http://127.0.0.1:$port/api/v1/replications" >/dev/null ||
        fail "$engine: register"
    stop_service "$pid" "$tmp/oma-$engine.log"
    newest=$(db_query "$engine" "SELECT MAX(version) FROM cbtrack_schema")
    db_query "$engine" "$2"
}

# schema_back_to VERSION: the SQL that takes a database of today's schema
# back to VERSION: the columns, tables and indexes of every later version
# go, newest first, and so do their rows of cbtrack_schema.  Each schema
# version the OMA gains adds its undo here.
schema_back_to ()
{
    local v=$1
    [ "$v" -ge 5 ] || echo "DROP TABLE oma_nodes; DROP TABLE oma_discovery;
         DROP INDEX replication_jobs_owner;
         ALTER TABLE replication_jobs DROP COLUMN owner_node;
         ALTER TABLE replication_jobs DROP COLUMN owner_generation;"
    [ "$v" -ge 4 ] || echo "ALTER TABLE vm_disks DROP COLUMN throughput_bps;
         ALTER TABLE vm_disks DROP COLUMN eta_seconds;
         ALTER TABLE replication_jobs DROP COLUMN stalled_since;"
    [ "$v" -ge 3 ] ||
        echo "ALTER TABLE replication_jobs DROP COLUMN cancel_requested_at;"
    [ "$v" -ge 2 ] || echo "ALTER TABLE vm_disks DROP COLUMN change_id;"
    echo "DELETE FROM cbtrack_schema WHERE version > $v;"
}

# disk_columns ENGINE: the columns of vm_disks, one a line.
disk_columns ()
{
    if [ "$1" = sqlite ]; then
        db_query sqlite "SELECT name FROM pragma_table_info('vm_disks')"
    else
        db_query mariadb "SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'cbtrack' AND table_name = 'vm_disks'"
    fi
}
