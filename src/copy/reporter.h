/* cbtrack copy - reporting progress to a VMA (DESIGN §2, §3).
 *
 * A reporter owns one thread and one libcurl handle.  The job's ticker
 * hands it each disk's latest update (a JSON body); the thread POSTs it to
 * URL/api/v1/progress/JOB/update.  Only the newest body per disk is kept:
 * updates are absolute, so a VMA that was down or slow gets the full state
 * with the next one.  Nothing here ever blocks the copy: offering is a
 * copy under a lock, and a failed POST is retried quietly.
 */
#ifndef CBTRACK_COPY_REPORTER_H
#define CBTRACK_COPY_REPORTER_H

#include <stdbool.h>

struct reporter;

/* Where and how a reporter reports. */
struct reporter_options {
  const char *url;     /* the VMA, "http://host:port" or "https://..." */
  const char *job_id;  /* the job's id */
  const char *token;   /* NULL, or sent as "Authorization: Bearer TOKEN" */
  const char *ca_file; /* NULL, or the CAs an https:// VMA is checked
                          against (--cacert) instead of the system's */
  /* When not NULL, called once, on the reporter's thread, when a VMA
   * answer to an update carries "cancel": true (DESIGN §5): the job was
   * cancelled and the copy must stop as on SIGTERM.
   */
  void (*on_cancel) (void);
};

/* Starts a reporter as OPTS says (the strings are copied).  Returns NULL
 * with an error recorded (out of memory, no thread).
 */
struct reporter *reporter_start (const struct reporter_options *opts);

/* True when a VMA's answer BODY (LEN bytes) to an update asks the
 * sender to stop: a JSON object whose "cancel" is true.  I/O free.
 */
bool reporter_reply_cancels (const char *body, size_t len);

/* Queues JSON, the body of an update of disk DISK_ID (NULL for job-level
 * updates), for sending, replacing any unsent body of the same disk.  FINAL
 * marks the disk's last update.  A ticker sink: the signature matches
 * ticker_sink.  Never blocks for I/O.
 */
void reporter_offer (void *reporter, const char *disk_id, const char *json,
                     bool final);

/* Waits up to TIMEOUT seconds until everything offered so far was sent
 * (or the VMA refused it).  Returns true if nothing is left unsent.
 */
bool reporter_flush (struct reporter *r, double timeout);

/* Tries to deliver what is left for up to TIMEOUT seconds, then stops
 * the thread and frees R.  Accepts NULL.
 */
void reporter_stop (struct reporter *r, double timeout);

#endif /* CBTRACK_COPY_REPORTER_H */
