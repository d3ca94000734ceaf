#!/usr/bin/env bash
# A failing copy reporting to a real cbtrack vma ends with a failed update
# carrying the error.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/vma-functions.sh" || exit 1
requires nbdkit --version
requires curl --version
requires jq --version
make_tmpdir

start_vma

start_nbdkit bad --filter=error pattern size=8M error-pread=EIO \
    error-pread-rate=1
expect_exit 1 "$CBTRACK" copy -q --vma-url "$vma_url" --job job-bad \
    --disk d0 "$bad_uri" "$tmp/bad.img"
get_json "$vma_url/api/v1/progress/job-bad" | jq -e '.status == "failed"
    and (.disks[0].error_message | test("Input/output error"))' >/dev/null ||
    fail "failed copy not reported as failed"
