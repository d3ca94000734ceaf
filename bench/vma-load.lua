-- wrk script for bench/vma-load: POST progress updates, as copiers do, to
-- JOBS jobs x DISKS disks (environment VMA_JOBS, VMA_DISKS), spread over
-- every job and disk in turn; prints one summary line per measure.
local jobs = tonumber(os.getenv("VMA_JOBS") or "1000")
local disks = tonumber(os.getenv("VMA_DISKS") or "4")
local total = 64 * 1024 * 1024 * 1024
-- wrk's thread count (the shell passes it), so that the threads' request
-- numbers interleave without gaps.
local nthreads = tonumber(os.getenv("VMA_WRK_THREADS") or "1")
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end

function init(args)
   counter = 0
   headers = { ["Content-Type"] = "application/json" }
end

function request()
   -- Threads interleave so that together they cover every job and disk.
   local n = counter * nthreads + id
   counter = counter + 1
   local job = n % jobs
   local disk = math.floor(n / jobs) % disks
   local round = math.floor(n / (jobs * disks))
   local done = (round * 1048576) % total
   local body = string.format(
      '{"disk_id":"disk-%d","stage":"Transfer","status":"in_progress",' ..
      '"sync_type":"full","bytes_transferred":%d,"total_bytes":%d,' ..
      '"throughput_bps":%d,"percent":%.2f,"bytes_written":%d,' ..
      '"bytes_zero_skipped":0,"capacity_bytes":%d,"error_message":""}',
      disk, done, total, 220200960, 100 * done / total, done, total)
   return wrk.format("POST", "/api/v1/progress/bench-job-" .. job ..
                     "/update", headers, body)
end

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   io.write(string.format(
      "RESULT updates=%d seconds=%.2f updates_per_s=%.0f p50_ms=%.3f " ..
      "p99_ms=%.3f max_ms=%.3f non2xx=%d errors=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, summary.errors.status,
      summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout))
end
