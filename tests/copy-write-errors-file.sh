#!/usr/bin/env bash
# A file target whose filesystem fails writes early in the copy, then
# recovers: the copy must fail (exit 1, a failed final update), never say
# "done".  The target filesystem is ext4 on a loop device whose backing
# file lives on a tiny tmpfs: while a filler file holds the tmpfs full,
# write-back to the loop device fails with I/O errors; then the filler is
# removed and later writes succeed.  A copier that lets sync_file_range
# swallow the error sees a clean fdatasync at the end and exits 0 over a
# target with holes in it.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires mkfs.ext4 -V
requires losetup --version
requires test "$(id -u)" = 0
make_tmpdir

# No journal: a failed journal write would turn the filesystem read-only,
# and the point is a filesystem that recovers.
mount_loop_ext4 "$tmp/mnt" 160M -O ^has_journal

# 96 MiB of data that is nowhere zero, served at 16 MiB/s (128 Mbit/s): six
# seconds.
start_nbdkit src --filter=rate pattern size=96M rate=128M

# Fill the tmpfs: from now on, blocks of fs.img not yet allocated cannot be.
dd if=/dev/zero of="$tmp/mnt.backing/filler" bs=1M 2>/dev/null || :

got=0
"$CBTRACK" copy --progress-json=3 "$src_uri" "$tmp/mnt/out.img" \
    3>"$tmp/progress.json" 2>"$tmp/stderr" &
copy=$!
sleep 2
rm -f "$tmp/mnt.backing/filler"
wait "$copy" || got=$?

if [ "$got" = 0 ]; then
    # Show what "done" covered: the target as the disk holds it.
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || :
    cmp "$tmp/mnt/out.img" <(nbdcopy -- "$src_uri" -) >&2 || :
    cat "$tmp/stderr" >&2
    fail "the copy exited 0 although the target lost writes"
fi
[ "$got" = 1 ] || { cat "$tmp/stderr" >&2; fail "exit $got, expected 1"; }
grep -Eq 'cbtrack copy: .*(Input/output error|No space left)' \
    "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "no clear error line"; }
jq -e -s '.[-1].status == "failed" and .[-1].percent < 100' \
    "$tmp/progress.json" >/dev/null || fail "no final failed update"
