#!/usr/bin/env bash
# cbtrack copy / plan: usage errors exit 2 with one clear line; --help
# lists the options.
. "$(dirname "$0")/functions.sh" || exit 1
make_tmpdir

expect_exit 2 "$CBTRACK" copy
expect_stderr 'expected SOURCE and TARGET'
expect_exit 2 "$CBTRACK" copy a
expect_exit 2 "$CBTRACK" copy --connections 0 a b
expect_stderr 'invalid --connections'
expect_exit 2 "$CBTRACK" copy --requests x a b
expect_exit 2 "$CBTRACK" copy --request-size 1000 a b
expect_stderr 'multiple of 4096'
expect_exit 2 "$CBTRACK" copy --progress=999 a b
expect_stderr 'not open'
expect_exit 2 "$CBTRACK" copy --bitmap b --changed-areas f a b
expect_stderr 'alternatives'
expect_exit 2 "$CBTRACK" copy --no-such-option a b
expect_exit 2 "$CBTRACK" plan
"$CBTRACK" copy --help | grep -q -- '--target-is-zero' || fail "copy --help"
"$CBTRACK" plan --help | grep -q -- '--json' || fail "plan --help"
