#!/usr/bin/env bash
# nbdcopy's targets: null: reads the whole source and discards it; '-'
# (stdout) is refused, and no file named '-' appears.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir
cd "$tmp"

start_nbdkit src pattern size=8M
"$CBTRACK" copy --progress=3 3>"$tmp/percent" "$src_uri" null: \
    2>"$tmp/stderr"
grep -q 'done: full 8.0 MiB of data copied' "$tmp/stderr" ||
    fail "null: did not copy the source's 8 MiB: $(cat "$tmp/stderr")"
[ "$(tail -n1 "$tmp/percent")" = 100/100 ] || fail "no 100/100"
[ ! -e "$tmp/null:" ] || fail "a file named null: was created"

# The source is really read: a read error fails the copy.
start_nbdkit bad --filter=error pattern size=8M error-pread-rate=1
expect_exit 1 "$CBTRACK" copy -q "$bad_uri" null:

expect_exit 2 "$CBTRACK" copy -q "$src_uri" -
expect_stderr "'-' \(standard input/output\) is not supported"
[ ! -e "$tmp/-" ] || fail "a file named - was created"
expect_exit 2 "$CBTRACK" copy -q - "$tmp/out.img"

# null: cannot be read.
expect_exit 1 "$CBTRACK" copy -q null: "$tmp/out.img"
expect_stderr "null: discards what is written"
