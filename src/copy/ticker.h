/* cbtrack copy - the ticker: one thread per job that turns the progress
 * of every disk into every output the user asked for.
 *
 * A few times a second the ticker snapshots each disk's progress once,
 * sums the snapshots into the job's, and from that one consistent set of
 * numbers emits:
 *
 *  - a live bar on stderr for the job ("12.0 GiB of 18.0 GiB (67 %)
 *    210 MiB/s ETA 0:29"), redrawn a few times a second;
 *  - nbdcopy-compatible "N/100" lines of the job's percent on a file
 *    descriptor, whenever the whole percent changes;
 *  - one JSON object per disk and line on a file descriptor, every report
 *    interval, at every stage or status change of that disk, when kicked,
 *    and at the end;
 *  - the same JSON (without null fields) handed to a sink, the VMA
 *    reporter, on the same schedule.
 *
 * A disk in the Transfer stage on which nothing completed for
 * CBT_STALL_INTERVALS report intervals is reported stalled (with since
 * how long), so that a copy stuck on a server that stopped answering
 * does not look alive.  A reader of the "N/100" or JSON lines that goes
 * away (EPIPE) loses them: the ticker stops writing there, warns once,
 * and the copy goes on.  Each disk's final JSON line is written once.
 *
 * The ticker only reads the progress of the disks; the copy never waits
 * for it.  All its output state (what was last written, and when) belongs
 * to the ticker thread alone.  Other threads talk to it only through
 * ticker_kick, ticker_sync and ticker_stop.
 */
#ifndef CBTRACK_COPY_TICKER_H
#define CBTRACK_COPY_TICKER_H

#include <stdbool.h>
#include <stddef.h>

#include "copy/disk.h"
#include "copy/job.h"

/* Receives the JSON update of disk DISK_ID (NULL for a job-level update).
 * FINAL marks the disk's last update.  Called from the ticker thread; must
 * not block (reporter_offer has this signature).
 */
typedef void (*ticker_sink) (void *opaque, const char *disk_id,
                             const char *json, bool final);

struct ticker_options {
  bool bar;          /* live job bar on stderr */
  int percent_fd;    /* -1, or where the job's "N/100" lines go */
  int json_fd;       /* -1, or where every disk's JSON lines go */
  double interval;   /* seconds between a disk's JSON updates (> 0) */
  ticker_sink sink;  /* NULL, or where every disk's JSON goes too */
  void *sink_opaque; /* passed to SINK */
  job_warn_fn warn;  /* NULL, or where warnings go (with index SIZE_MAX:
                        about the job, not one disk) */
  void *warn_opaque; /* passed to WARN */
};

struct ticker;

/* True if OPTS asks for any output at all (else no ticker is needed). */
bool ticker_is_wanted (const struct ticker_options *opts);

/* Starts the ticker thread for the N disks at DISKS, whose progress it
 * reads (each disk's id names its JSON updates).  The disks must be
 * initialised (disk_init) and, like the strings in OPTS, outlive the
 * ticker.  Returns the ticker, or NULL with an error recorded.
 */
struct ticker *ticker_start (struct disk *disks, size_t n,
                             const struct ticker_options *opts);

/* Asks for an update of disk INDEX now, rather than at the next interval
 * (after a stage change).  Never blocks for I/O.  Accepts NULL.
 */
void ticker_kick (struct ticker *t, size_t index);

/* Makes the ticker emit an update of every disk taken after this call,
 * and waits until it has: when ticker_sync returns 0, every disk's state
 * as of the call has been written and handed to the sink.  Waits at most
 * TIMEOUT seconds (the ticker may be stuck writing to a full pipe); on
 * timeout returns -1 with an error recorded, and the update still goes
 * out when the ticker gets to it.  Accepts NULL (returns 0).
 */
int ticker_sync (struct ticker *t, double timeout);

/* Emits the final update of every disk and of the job (each disk should
 * be completed or failed by now), stops the thread and frees T.  Accepts
 * NULL.  It waits for those last writes: a reader of --progress or
 * --progress-json that stops reading a full pipe holds it, as it would
 * hold nbdcopy.
 */
void ticker_stop (struct ticker *t);

#endif /* CBTRACK_COPY_TICKER_H */
