#!/usr/bin/env bash
# The dispatcher: --help, --version, unknown commands.
. "$(dirname "$0")/functions.sh" || exit 1
make_tmpdir

"$CBTRACK" --version | grep -Eq '^cbtrack [0-9]+\.[0-9]+\.[0-9]+$' ||
    fail "--version"
"$CBTRACK" --help | grep -q '^  copy ' || fail "--help lists copy"
"$CBTRACK" --help | grep -q '^  vma ' || fail "--help lists vma"

expect_exit 2 "$CBTRACK"
expect_exit 2 "$CBTRACK" frobnicate
expect_stderr "unknown command 'frobnicate'"
