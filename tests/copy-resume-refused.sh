#!/usr/bin/env bash
# A checkpoint is trusted only for the copy it was made for: another
# source, another plan (a different changed-area list) or another target
# is refused in one line and nothing is written; --restart throws the
# checkpoint away and copies from the start.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires jq --version
make_tmpdir

start_nbdkit src -t 1 --filter=rate sparse-random size=64M seed=5 percent=50 rate=40M
start_nbdkit other sparse-random size=64M seed=6 percent=50
start_nbdkit ref sparse-random size=64M seed=5 percent=50
ckpt="$XDG_STATE_HOME/cbtrack/job-r--disk-1.checkpoint"
ids=(--job job-r --disk disk-1 --report-interval 0.2)

# kill_midway CMD...: start CMD, kill it once its checkpoint claims data.
kill_midway ()
{
    "$@" &
    local pid=$!
    wait_for 20 jq -e '.done_bytes > 0' "$ckpt" || fail "no checkpoint"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || :
}

# refused WHY CMD...: CMD exits 1 with one line naming WHY, and neither
# the target nor the checkpoint changes.
refused ()
{
    local why=$1 before ck
    shift
    before=$(sha256sum < "$tmp/target.img")
    ck=$(sha256sum < "$ckpt")
    expect_exit 1 "$@"
    [ "$(wc -l < "$tmp/stderr")" = 1 ] || { cat "$tmp/stderr"; fail "not one line"; }
    grep -q "was made for $why" "$tmp/stderr" || { cat "$tmp/stderr"; fail "no '$why'"; }
    grep -q -- "--restart" "$tmp/stderr" || fail "no hint of --restart"
    [ "$(sha256sum < "$tmp/target.img")" = "$before" ] || fail "target written"
    [ "$(sha256sum < "$ckpt")" = "$ck" ] || fail "checkpoint changed"
}

kill_midway "$CBTRACK" copy -q "${ids[@]}" "$src_uri" "$tmp/target.img"
refused "another source" \
    "$CBTRACK" copy -q "${ids[@]}" "$other_uri" "$tmp/target.img"
cp "$tmp/target.img" "$tmp/copy.img"
refused "another target" \
    "$CBTRACK" copy -q "${ids[@]}" "$src_uri" "$tmp/copy.img"
# The same path, but another file (replaced while the copy was stopped).
mv "$tmp/target.img" "$tmp/saved.img"
cp "$tmp/saved.img" "$tmp/target.img"
refused "another target" \
    "$CBTRACK" copy -q "${ids[@]}" "$src_uri" "$tmp/target.img"
mv "$tmp/saved.img" "$tmp/target.img"

# --restart: the checkpoint goes, the copy starts over and completes.
"$CBTRACK" copy -q --restart --progress-json=3 "${ids[@]}" "$src_uri" \
    "$tmp/target.img" 3>"$tmp/restart.json"
check_same "$ref_uri" "$tmp/target.img"
jq -e -s '.[0].stage == "Analysis" and .[-1].resumed_bytes == 0' \
    "$tmp/restart.json" >/dev/null || { head -c 600 "$tmp/restart.json" >&2; fail "--restart resumed"; }
[ ! -e "$ckpt" ] || fail "the finished copy left its checkpoint"

# Another plan: an incremental copy from one changed-area list, rerun
# with another list.
cat > "$tmp/ca1.json" <<JSON
{"startOffset":0,"length":67108864,"changedArea":[{"start":0,"length":33554432}]}
JSON
cat > "$tmp/ca2.json" <<JSON
{"startOffset":0,"length":67108864,"changedArea":[{"start":0,"length":16777216}]}
JSON
kill_midway "$CBTRACK" copy -q "${ids[@]}" --changed-areas "$tmp/ca1.json" \
    "$src_uri" "$tmp/target.img"
refused "another changed-area list" "$CBTRACK" copy -q "${ids[@]}" \
    --changed-areas "$tmp/ca2.json" "$src_uri" "$tmp/target.img"
refused "another sync type" \
    "$CBTRACK" copy -q "${ids[@]}" "$src_uri" "$tmp/target.img"
# The same command resumes and completes.
"$CBTRACK" copy -q "${ids[@]}" --changed-areas "$tmp/ca1.json" \
    "$src_uri" "$tmp/target.img"
check_same "$ref_uri" "$tmp/target.img"
