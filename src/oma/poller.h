/* cbtrack oma - the poller: VMAs → database (DESIGN §4).
 *
 * Every interval it discovers jobs on the configured VMAs (those whose
 * discovery lease it holds), claims its share of the active jobs from the
 * store, fetches each from its VMA concurrently
 * (libcurl multi), lets poll-logic decide, and writes all results in one
 * transaction.  When the database is down it keeps polling from the list
 * it last read and writes again once the database is back; because every
 * VMA answer is absolute, nothing is lost.
 */
#ifndef CBTRACK_OMA_POLLER_H
#define CBTRACK_OMA_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oma/store.h"

/* Receives the poller's log lines (no trailing newline). */
typedef void (*oma_log_fn) (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));

struct oma_metrics;

struct oma_poller_config {
  struct oma_store *store;
  const char *const *vma_urls; /* for discovery; may be empty */
  size_t n_vma_urls;
  double interval;       /* seconds between cycle starts */
  double dead_timeout;   /* seconds of silence before a job is failed */
  double http_timeout;   /* per request, seconds; 0 = min(10, interval) */
  const char *vma_token; /* sent as a bearer token to VMAs; may be NULL */
  const char *ca_file;   /* --cacert: the CAs of https:// VMAs; may be NULL */
  oma_log_fn log;        /* warnings and, when verbose, cycle stats */
  int verbose;
  struct oma_metrics *metrics; /* NULL, or where to record (metrics.h) */
  /* Leases (store.h): the node id this OMA joins the fleet as, or NULL to
   * poll every active job unfenced; LEASE in seconds; JOINED when the
   * caller has joined already.  A joined poller renews its lease every
   * third of it from a thread of its own, claims its share of the jobs
   * each cycle, and leaves the fleet when freed.
   */
  const char *node_id;
  int64_t lease;
  bool joined;
};

/* What one cycle did. */
struct oma_poll_stats {
  size_t discovered;       /* new jobs registered from the VMAs' lists */
  size_t active;           /* jobs polled */
  size_t answered;         /* of which the VMA answered 200 */
  size_t written;          /* updates committed */
  int db_ok;               /* the database took every read and write */
  double seconds;          /* wall time of the whole cycle */
  double discover_seconds; /* of which discovery */
  double load_seconds;     /* reading the active jobs from the store */
  double fetch_seconds;    /* fetching the jobs from the VMAs */
  double write_seconds;    /* and writing the results */
};

struct oma_poller;

/* Creates a poller (curl handles included) without starting a thread.
 * CONFIG's strings must outlive it.  Returns NULL with an error recorded.
 */
struct oma_poller *oma_poller_create (const struct oma_poller_config *config);

/* Runs one full cycle now, in the calling thread.  Returns 0 and fills
 * *RET_STATS (may be NULL); a database or VMA failure is not an error of
 * the cycle (it is logged and retried next time).  Returns -1 only when
 * out of memory.
 */
int oma_poller_cycle (struct oma_poller *poller,
                      struct oma_poll_stats *ret_stats);

/* Starts the background thread running a cycle every interval.  Returns
 * 0, or -1 with an error recorded.
 */
int oma_poller_start (struct oma_poller *poller);

/* Stops the threads (interrupting a cycle in flight), leaves the fleet
 * (the node's jobs are taken over at once) and frees the poller.  Accepts
 * NULL.
 */
void oma_poller_free (struct oma_poller *poller);

#endif /* CBTRACK_OMA_POLLER_H */
