/* cbtrack copy - the progress monitor: one thread that turns a progress
 * into every output the user asked for.
 *
 *  - a live bar on stderr ("12.0 GiB of 18.0 GiB (67 %) 210 MiB/s ETA
 *    0:29"), redrawn a few times a second;
 *  - nbdcopy-compatible "N/100" lines on a file descriptor, whenever the
 *    whole percent changes;
 *  - one JSON object per line on a file descriptor, every report interval,
 *    at every stage change, and at the end;
 *  - the same JSON handed to a sink (the VMA reporter), on the same
 *    schedule.
 *
 * The monitor only reads the progress; the copy never waits for it.
 */
#ifndef CBTRACK_COPY_MONITOR_H
#define CBTRACK_COPY_MONITOR_H

#include <stdbool.h>

#include "copy/progress.h"

/* Receives each JSON update (with disk_id, ETA left out when unknown).
 * Must not block: called from the monitor thread.
 */
typedef void (*monitor_sink) (void *opaque, const char *disk_id,
                              const char *json, bool final);

struct monitor_options {
  bool bar;            /* live bar on stderr */
  int percent_fd;      /* -1, or where "N/100" lines go */
  int json_fd;         /* -1, or where JSON lines go */
  double interval;     /* seconds between JSON updates */
  const char *disk_id; /* for the sink's JSON; NULL to leave out */
  const char *label;   /* prefix of the bar (e.g. the disk id) or NULL */
  monitor_sink sink;   /* NULL, or the VMA reporter */
  void *sink_opaque;
};

struct monitor;

/* Where a monitor gets its numbers: fills *RET with the state at NOW. */
typedef void (*monitor_snapshot_fn) (void *opaque, double now,
                                     struct progress_snapshot *ret);

/* A monitor_snapshot_fn for one disk: OPAQUE is its struct progress. */
void monitor_progress_snapshot (void *opaque, double now,
                                struct progress_snapshot *ret);

/* Starts a monitor that reads its numbers from SNAPSHOT (OPAQUE).
 * Returns the monitor, or NULL with an error recorded.  OPAQUE and the
 * strings in OPTS must outlive the monitor.
 */
struct monitor *monitor_start (monitor_snapshot_fn snapshot, void *opaque,
                               const struct monitor_options *opts);

/* Asks for an update now (after a stage change).  Accepts NULL. */
void monitor_kick (struct monitor *m);

/* Emits the final update (the progress should be completed or failed by
 * now), stops the thread and frees M.  Accepts NULL.
 */
void monitor_stop (struct monitor *m);

#endif /* CBTRACK_COPY_MONITOR_H */
