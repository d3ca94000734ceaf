/* cbtrack copy - a job: one or more disks copied under one total.
 *
 * Every disk is analysed before any data moves, so the job's total is
 * fixed from the start (and, with a reporter, the VMA has every disk's
 * total before the first byte moves).  Then the disks are transferred,
 * at most `parallel` at a time.  A failed disk fails the job: disks not
 * yet started are not started, and are reported failed with the reason.
 *
 * The threads of a copy
 * ---------------------
 *
 * main        copy_main, then job_run.  Owns the options, the job and its
 *             disks.  Analyses every disk in turn (opens the endpoints,
 *             reads the maps, builds the plan, fixes the totals), then
 *             hands the analysed disks to the disk runners, joins them,
 *             stops the ticker and returns one result per disk.  Only
 *             copy_main prints (warnings, failures, summaries).
 *
 * disk runner min(parallel, disks) threads, started by job_run after the
 *             analysis.  Each takes the next disk from an atomic index
 *             and owns it (plan, endpoints) until disk_transfer returns:
 *             no other thread touches those until job_run joins it.
 *
 * worker      per disk being transferred, one per connection (copier_run
 *             starts and joins them; see copier.c).  Each owns its
 *             connection index, its request slots and their buffers; the
 *             workers of a disk share only the plan cursor (under the
 *             copier's lock) and add completed bytes to the disk's
 *             progress (atomics, never locks).
 *
 * writer      per regular-file target, while its disk transfers
 *             (file-ops.c).  Carries out the workers' writes, zeroes and
 *             flushes to that file in the order they were queued, and
 *             hands each completion back to the worker that queued it
 *             (its eventfd; the worker runs the callback).  Owns the
 *             file's write-back window.  Writes to one file are
 *             serialised by the kernel anyway; with one writer the
 *             workers keep reading instead of waiting for each other or
 *             for the disk.
 *
 * ticker      one per job (ticker.h), when any output is wanted.  Reads
 *             every disk's progress, a few times a second and on demand,
 *             and owns every output: the bar, the "N/100" lines, the JSON
 *             lines, and what is offered to the reporter.
 *
 * reporter    one per process (reporter.h), made by copy_main when there
 *             is a VMA.  Owns the libcurl handle and the newest unsent
 *             update of each disk; POSTs them.
 *
 * signals     one per process, made by copy_main before any other thread
 *             (which all inherit the blocked SIGINT, SIGTERM, SIGHUP).
 *             It only sets the stop request (faults.h); the workers see
 *             it and end the copy as a failure.  A second signal exits.
 *
 * How they hand off
 * -----------------
 *
 * - Numbers flow one way: workers and runners write a disk's progress
 *   (progress_account_*, stage and status changes); the ticker reads it
 *   with progress_snapshot.  Neither side waits for the other.
 * - After a stage or status change the runner or main calls ticker_kick,
 *   which only sets a flag: that disk's update goes out at the next tick.
 * - Before the first byte moves, main calls ticker_sync: it waits, with a
 *   bound, until the ticker has emitted an update of every disk taken
 *   after the call, so every total is with the reporter; then
 *   reporter_flush waits, with a bound, until those are POSTed.  A slow
 *   or down VMA delays the copy by at most JOB_ANNOUNCE_SECONDS.
 * - The ticker hands updates to the reporter with reporter_offer, a copy
 *   under the reporter's lock: it never waits for the network.
 * - The first failure is recorded under the job's lock; runners then mark
 *   the disks they would have started failed instead.
 * - At the end job_run joins the runners (so every disk is completed or
 *   failed), then ticker_stop sends the final update of every disk and
 *   joins the ticker; only then does main read the results.  copy_main
 *   stops the reporter last, giving it a bounded time to deliver.
 *
 * Checkpoints (checkpoint.h)
 * ----------------------------
 *
 * With a state directory, every disk keeps a checkpoint.  job_run reads
 * them before the ticker starts (disk_checkpoint_open), so a rerun's
 * first update already shows the bytes done; disk_analyse checks each
 * against its copy.  While a disk transfers, the thread in copier_run
 * (the disk runner) writes its checkpoint every report interval, after
 * a worker flushed the target.  A disk that completes writes a
 * "completed" checkpoint; when every disk of the job completed, job_run
 * removes them all, so a job stopped half-way copies only its unfinished
 * disks when run again.
 *
 * Stopping a copy (a failure, or an interruption such as a signal): make
 * the copier fail (its first error wins) so that no new request starts
 * and the workers drain; copier_run then returns -1 and disk_transfer
 * calls disk_checkpoint_stopped, which flushes the target and writes the
 * done-set.  Whatever stops a copy through that path gets its checkpoint
 * for free; nothing else needs to know about checkpoints.
 *
 * What bounds the waits: the ticker sync and the reporter flush have
 * deadlines, libcurl has timeouts, the reporter is given a fixed time to
 * deliver at exit, and after a failure requests in flight are drained for
 * at most a few seconds.  Every NBD connection has --connect-timeout;
 * a connection on which requests (or block status, or a flush) wait
 * without a reply for --io-timeout is given up, and a lost connection must
 * come back within
 * --reconnect-timeout (faults.h).  A --progress or --progress-json
 * reader that stays but stops reading costs the ticker at most 2 s a
 * line (its lines are dropped meanwhile); one that goes away ends that
 * output.
 */
#ifndef CBTRACK_COPY_JOB_H
#define CBTRACK_COPY_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "copy/copier.h"
#include "copy/disk.h"
#include "copy/reporter.h"

/* Receives a warning about disk INDEX of the job (SIZE_MAX: about the
 * whole job) that does not stop it: the source has no allocation map, so
 * the whole disk counts as data (on the main thread, during the
 * analysis); a reader of the progress lines went away (on the ticker
 * thread).
 */
typedef void (*job_warn_fn) (void *opaque, size_t index, const char *message);

struct job_options {
  struct copier_options copier;
  unsigned parallel;         /* disks transferred at once (>= 1) */
  bool bar;                  /* live job bar on stderr */
  int percent_fd;            /* -1 or FD for the job's "N/100" lines */
  int json_fd;               /* -1 or FD for every disk's JSON lines */
  double interval;           /* seconds between JSON/VMA updates */
  struct reporter *reporter; /* NULL, or where disk updates go */
  job_warn_fn warn;          /* NULL, or where warnings go */
  void *warn_opaque;
  const char *state_dir; /* NULL, or where the checkpoints live */
  const char *job_id;    /* NULL, or the job's id (names checkpoints) */
  bool restart;          /* throw existing checkpoints away */
};

/* Disks transferred at once by default: 4 disks at once moved a job of 4
 * faster than 1 or 2 did (bench/copy-job), with a file's writer and one
 * connection each on 2 CPUs.
 */
#define JOB_DEFAULT_PARALLEL 4

/* How long, at most, the VMA is given to learn every disk's total before
 * the first byte moves.
 */
#define JOB_ANNOUNCE_SECONDS 2.0

/* Runs the job of the N (>= 1) disks in SPECS and fills RET_RESULTS, an
 * array of N, with what became of each disk: completed (flushed), or
 * failed with the reason.  Returns 0 when the job ran (whatever the fate
 * of its disks), or -1 with an error recorded and RET_RESULTS untouched
 * when it could not run at all (out of memory, no thread).  Prints
 * nothing: besides the results, only the outputs asked for in OPTS (bar,
 * progress lines, reports) and the WARN callback say anything.
 */
int job_run (const struct disk_spec *specs, size_t n,
             const struct job_options *opts, struct disk_result *ret_results);

#endif /* CBTRACK_COPY_JOB_H */
