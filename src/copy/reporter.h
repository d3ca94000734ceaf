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

/* Starts a reporter for JOB_ID at the VMA at URL ("http://host:port"),
 * sending "Authorization: Bearer TOKEN" when TOKEN is not NULL.  Returns
 * NULL with an error recorded (out of memory, no thread).
 */
struct reporter *reporter_start (const char *url, const char *job_id,
                                 const char *token);

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
