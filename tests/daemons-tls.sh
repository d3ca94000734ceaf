#!/usr/bin/env bash
# TLS on both daemons (--tls-cert, --tls-key) and --cacert in every
# client: the copier reports over https, `cbtrack status` reads over
# https, the OMA polls over https and serves its API over https (its
# session cookie is Secure); a certificate from another CA is refused by
# each of them.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires curl --version
requires jq --version
requires openssl version
make_tmpdir
set -o pipefail

# A throwaway CA, a server certificate it signs for 127.0.0.1, and a
# self-signed one for the same address that nobody trusts.
ssl () { openssl "$@" 2>/dev/null || fail "openssl $1"; }
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 1 -subj /CN=cbtrack-test-ca
ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/srv.key" -out "$tmp/srv.csr" -subj /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$tmp/ext"
ssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -out "$tmp/srv.pem" -days 1 -extfile "$tmp/ext"
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/other.key" -out "$tmp/other.pem" -days 1 -subj /CN=other \
    -addext subjectAltName=IP:127.0.0.1
tls=(--tls-cert "$tmp/srv.pem" --tls-key "$tmp/srv.key")

expect_exit 1 "$CBTRACK" vma --tls-cert "$tmp/srv.pem"
expect_stderr 'go together'

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma "${tls[@]}"
grep -q 'HTTPS' "$tmp/vma.log" || fail "the VMA does not say HTTPS"
vma_url="https://127.0.0.1:$vma"
curl -sf --cacert "$tmp/ca.pem" "$vma_url/healthz" >/dev/null ||
    fail "healthz over https"
curl -sf "http://127.0.0.1:$vma/healthz" >/dev/null &&
    fail "the VMA answers plain http"
curl -sf --cacert "$tmp/other.pem" "$vma_url/healthz" >/dev/null &&
    fail "curl trusted a certificate of another CA"

start_nbdkit src pattern size=8M
# A reporter that does not trust the VMA's certificate reports nothing
# (and the copy still succeeds).
"$CBTRACK" copy -q --vma-url "$vma_url" --cacert "$tmp/other.pem" \
    --job untrusted --disk d1 "$src_uri" "$tmp/t0.img" ||
    fail "the copy failed with an untrusted VMA"
curl -s --cacert "$tmp/ca.pem" -o /dev/null -w '%{http_code}' \
    "$vma_url/api/v1/progress/untrusted" | grep -qx 404 ||
    fail "an untrusted VMA got the reports"
# With the right CA the reports arrive.
"$CBTRACK" copy -q --vma-url "$vma_url" --cacert "$tmp/ca.pem" \
    --job tls-1 --disk d1 "$src_uri" "$tmp/t1.img" || fail "the copy failed"
check_same "$src_uri" "$tmp/t1.img"
curl -sf --cacert "$tmp/ca.pem" "$vma_url/api/v1/progress/tls-1" |
    jq -e '.status == "completed"' >/dev/null || fail "the VMA's job"

# cbtrack status over https.
"$CBTRACK" status --vma "$vma_url" --cacert "$tmp/ca.pem" tls-1 \
    >"$tmp/status" || fail "status over https"
grep -q '^tls-1  completed' "$tmp/status" || fail "status: $(cat "$tmp/status")"
expect_exit 1 "$CBTRACK" status --vma "$vma_url" --cacert "$tmp/other.pem" tls-1
expect_stderr 'certificate'
expect_exit 1 "$CBTRACK" status --vma "$vma_url" tls-1

# The OMA polls over https and serves https; its cookie is Secure.
echo tok >"$tmp/auth-token"
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma "${tls[@]}" \
    --db "sqlite:$tmp/oma.db" --vma "$vma_url" --cacert "$tmp/ca.pem" \
    --auth-token-file "$tmp/auth-token" --poll-interval 0.3
oma_url="https://127.0.0.1:$oma"
api () { curl -sf --cacert "$tmp/ca.pem" -H "Authorization: Bearer tok" \
             "$oma_url/api/v1/replications/tls-1"; }
polled () { api | jq -e '.status == "completed"' >/dev/null; }
wait_for 30 polled || fail "the OMA did not poll over https"
curl -sf --cacert "$tmp/ca.pem" -D "$tmp/headers" -o /dev/null \
    -H 'Content-Type: application/json' -d '{"token":"tok"}' \
    "$oma_url/api/v1/login" || fail "login over https"
grep -i '^set-cookie:' "$tmp/headers" | grep -q '; Secure' ||
    fail "the cookie is not Secure under TLS: $(cat "$tmp/headers")"

# An OMA that does not trust the VMA's certificate learns nothing.
start_service omab_pid omab "$tmp/oma-b.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma-b.db" --vma "$vma_url" --cacert "$tmp/other.pem" -v \
    --poll-interval 0.3
refused () { grep -q 'discovery on .*certif' "$tmp/oma-b.log"; }
wait_for 30 refused || fail "the untrusted VMA was not refused: $(cat "$tmp/oma-b.log")"
[ "$(curl -sf "http://127.0.0.1:$omab/api/v1/replications" | jq .count)" = 0 ] ||
    fail "jobs came from an untrusted VMA"
stop_service "$omab_pid" "$tmp/oma-b.log"
stop_service "$oma_pid" "$tmp/oma.log"
stop_service "$vma_pid" "$tmp/vma.log"
