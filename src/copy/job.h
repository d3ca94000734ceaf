/* cbtrack copy - a job: one or more disks copied under one total.
 *
 * Every disk is analysed before any data moves, so the job's total is
 * fixed from the start (and, with a reporter, the VMA has every disk's
 * total before the first byte moves).  Then the disks are transferred,
 * at most `parallel` at a time.  A failed disk fails the job: disks not
 * yet started are not started, and are reported failed with the reason.
 */
#ifndef CBTRACK_COPY_JOB_H
#define CBTRACK_COPY_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "copy/copier.h"
#include "copy/disk.h"
#include "copy/reporter.h"

struct job_options {
  struct copier_options copier;
  unsigned parallel;         /* disks transferred at once (>= 1) */
  bool bar;                  /* live job bar on stderr */
  bool quiet;                /* no summary lines */
  int percent_fd;            /* -1 or FD for the job's "N/100" lines */
  int json_fd;               /* -1 or FD for every disk's JSON lines */
  double interval;           /* seconds between JSON/VMA updates */
  struct reporter *reporter; /* NULL, or where disk updates go */
};

#define JOB_DEFAULT_PARALLEL 2

/* Runs the job of the N disks in SPECS.  Prints warnings, the failure of
 * each failed disk and (unless quiet) one summary line per disk to
 * stderr, prefixed "cbtrack copy: ".  Returns 0 when every disk completed
 * (flushed), -1 otherwise.
 */
int job_run (const struct disk_spec *specs, size_t n,
             const struct job_options *opts);

#endif /* CBTRACK_COPY_JOB_H */
