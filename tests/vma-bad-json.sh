#!/usr/bin/env bash
# cbtrack vma: malformed JSON, JSON that is not an object, and duplicate
# keys get 400 and a JSON error, and leave the job byte for byte as it was.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma
bad_input_job

bad_body 400 '{bad'
bad_body 400 '{"disk_id":"d1",'
bad_body 400 ''
bad_body 400 '[]'
bad_body 400 '"update"'
bad_body 400 'null'
bad_body 400 '{"a":1}{"b":2}'
bad_body 400 '{"bytes_transferred":1,"bytes_transferred":2}'
bad_body 400 $'{"stage":"\xff\xfe"}'

expect_http 200 GET /healthz
stop_vma
