#!/usr/bin/env bash
# An incremental copy (a qcow2 dirty bitmap served by qemu-nbd) killed
# with SIGKILL at ten random moments, each time run again with the same
# command: the target ends equal to the source, and the bytes written
# over all runs stay close to the plan's total.  The target is an NBD
# export (nbdkit file, slowed down by its rate filter).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/resume-functions.sh"
inc_requires
requires nbdkit --version
make_tmpdir

size=$(( 64 * 1024 * 1024 ))
src="$tmp/source.qcow2"
img="$tmp/target.img"
inc_make_base "$src" "$size"
truncate -s "$size" "$img"
inc_serve srv "$src"
"$CBTRACK" copy -q "$srv_uri" "$img"
inc_stop srv

qemu-img bitmap --add "$src" b1
cmds=()
for mib in 1 7 15 22 30 37 44 50 57; do
    cmds+=("write -s $tmp/rand.bin $(( mib * 1048576 + 4096 )) 4194304")
done
inc_write "$src" "${cmds[@]}"
inc_serve srv "$src" --bitmap=b1
planned=$(plan_value "$srv_uri" transfer_bytes --bitmap b1)

# -t 1: nbdkit 1.32 can abort when a client dies with replies in flight.
# It also makes the target handle one request at a time, so a flush
# waits behind every write queued before it: the copy keeps 1 MiB in
# flight (-C 1 -R 4), not the default 16 MiB, or a checkpoint would come
# only every few seconds at this rate.
start_nbdkit dst -t 1 --filter=log --filter=rate file "$img" \
    rate=40M logfile="$tmp/dst.log"
resume_kill_loop 10 "$CBTRACK" copy -q --report-interval 0.2 -C 1 -R 4 \
    --progress-json=3 --bitmap b1 "$srv_uri" "$dst_uri"
check_overhead "$(write_bytes "$tmp/dst.log")" "$planned" "$resume_runs"
inc_stop srv
inc_expect_equal "$img" "$src" "incremental copy killed 10 times"
[ -z "$(ls -A "$XDG_STATE_HOME/cbtrack")" ] || fail "a checkpoint was left"
