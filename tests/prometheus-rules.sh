#!/usr/bin/env bash
# contrib/prometheus/alerts.yml passes `promtool check rules` and its unit
# tests (`promtool test rules`); the Grafana dashboard is valid JSON; and
# every cbtrack metric that the rules and the dashboard name is one that
# a running `cbtrack vma` or `cbtrack oma` exposes.
. "$(dirname "$0")/functions.sh" || exit 1
requires promtool --version
requires jq --version
requires curl --version
make_tmpdir

cd "$SRCDIR/contrib/prometheus"
promtool check rules alerts.yml || fail "promtool check rules"
promtool test rules alerts-test.yml || fail "promtool test rules"
jq -e '.panels | length > 0' "$SRCDIR/contrib/grafana/cbtrack.json" \
    >/dev/null || fail "the dashboard is not valid JSON"

# Names exposed, with one active job so that per-job series exist.
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "http://127.0.0.1:$vma" \
    --poll-interval 0.2
curl -sf -o /dev/null -d '{"disk_id":"d1","status":"in_progress",
    "total_bytes":100,"bytes_transferred":1}' \
    "http://127.0.0.1:$vma/api/v1/progress/j1/update" || fail "update"
wait_for 20 sh -c "curl -sf http://127.0.0.1:$oma/metrics |
    grep -q '^cbtrack_oma_job_total_bytes{job_id=\"j1\"}'" ||
    fail "the OMA did not poll j1"
{ curl -sf "http://127.0.0.1:$vma/metrics"
  curl -sf "http://127.0.0.1:$oma/metrics"; } |
    grep -v '^#' | grep -oE '^[a-z_]+' |
    sed -E 's/_(bucket|sum|count)$//' | sort -u >"$tmp/exposed"
grep -ohE '\bcbtrack_[a-z_]*[a-z]\b' alerts.yml "$SRCDIR/contrib/grafana/cbtrack.json" |
    sed -E 's/_(bucket|sum|count)$//' | sort -u >"$tmp/used"
missing=$(comm -23 "$tmp/used" "$tmp/exposed")
[ -z "$missing" ] || fail "named but not exposed: $missing"
stop_service "$oma_pid" "$tmp/oma.log"
stop_service "$vma_pid" "$tmp/vma.log"
