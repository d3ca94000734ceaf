#!/usr/bin/env bash
# The checkpoint options: --state-dir, --restart, --no-checkpoint, and
# their errors.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir

start_nbdkit src sparse-random size=16M seed=3 percent=30 runlength=65536
"$CBTRACK" copy --help | grep -q -- "--state-dir DIR" || fail "--help"
"$CBTRACK" copy --help | grep -q -- "--no-checkpoint" || fail "--help"

expect_exit 2 "$CBTRACK" copy --no-checkpoint --restart "$src_uri" "$tmp/t.img"
expect_stderr "excludes --state-dir and --restart"
expect_exit 2 "$CBTRACK" copy --state-dir "" "$src_uri" "$tmp/t.img"
# A state directory that cannot be made: one line, nothing written.
touch "$tmp/file"
expect_exit 1 "$CBTRACK" copy -q --state-dir "$tmp/file/state" "$src_uri" \
    "$tmp/t.img"
expect_stderr "state directory .*: cannot create"
[ ! -e "$tmp/t.img" ] || fail "the target was created"

# --state-dir is where the checkpoint goes; a failed copy keeps it.
start_nbdkit bad --filter=error sparse-random size=16M seed=3 percent=30 runlength=65536 \
    error-pread=EIO error-pread-rate=1
expect_exit 1 "$CBTRACK" copy -q --state-dir "$tmp/sd" --job j --disk d \
    "$bad_uri" "$tmp/t.img"
[ -s "$tmp/sd/j--d.checkpoint" ] || fail "no checkpoint in --state-dir"
[ ! -e "$XDG_STATE_HOME/cbtrack" ] || fail "the default directory was used"
# --no-checkpoint writes none.
rm -f "$tmp/t.img"
expect_exit 1 "$CBTRACK" copy -q --no-checkpoint "$bad_uri" "$tmp/t.img"
[ ! -e "$XDG_STATE_HOME/cbtrack" ] || fail "--no-checkpoint wrote one"
# Without --job, the name is a hash of source and target, and the
# default directory is $XDG_STATE_HOME/cbtrack.
expect_exit 1 "$CBTRACK" copy -q "$bad_uri" "$tmp/t.img"
ls "$XDG_STATE_HOME/cbtrack" | grep -qE '^copy-[0-9a-f]{16}\.checkpoint$' ||
    fail "no copy-HASH.checkpoint"
# The good source under the same name is another source: refused;
# --restart copies.
expect_exit 1 "$CBTRACK" copy -q --state-dir "$tmp/sd" --job j --disk d \
    "$src_uri" "$tmp/t.img"
expect_stderr "made for another source"
"$CBTRACK" copy -q --restart --state-dir "$tmp/sd" --job j --disk d \
    "$src_uri" "$tmp/t.img"
check_same "$src_uri" "$tmp/t.img"
[ ! -e "$tmp/sd/j--d.checkpoint" ] || fail "checkpoint left after success"
