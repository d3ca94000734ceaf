#!/usr/bin/env bash
# cbtrack oma: --help, and bad options, URLs and files refused with the
# right exit status before anything starts.
. "$SRCDIR/tests/functions.sh"
make_tmpdir

"$CBTRACK" oma --help | grep -q '^Usage: cbtrack oma' || fail "--help"
expect_exit 2 "$CBTRACK" oma --frobnicate
expect_exit 2 "$CBTRACK" oma --db postgres://x/y
expect_stderr "expected sqlite:PATH or mysql://"
expect_exit 2 "$CBTRACK" oma --vma ftp://x
expect_exit 2 "$CBTRACK" oma --poll-interval 0
expect_exit 2 "$CBTRACK" oma --dead-timeout never
expect_exit 2 "$CBTRACK" oma extra-argument
expect_exit 1 "$CBTRACK" oma --token-file "$tmp/missing-token"
expect_exit 1 "$CBTRACK" oma --db "sqlite:$tmp/no/such/dir/x.db" \
    --listen 127.0.0.1:0
