/* cbtrack - the progress model and its wire contract (DESIGN §1, §3).
 *
 * This module is the one definition of what progress is, for every part
 * of cbtrack: the copier, the progress service (vma), the poller (oma)
 * and `cbtrack status` all include it, and no other file computes a
 * percent or spells a field name of the two wire documents.
 *
 *   - the status, stage and sync-type vocabularies and their names;
 *   - the percent rule: 100 only when completed; otherwise the fraction
 *     floored to 0.01 and at most 99.99; a total of 0 is 100 when
 *     completed, else 0;
 *   - the ETA rule: 0 when completed; remaining / throughput while in
 *     progress with a known throughput; unknown otherwise;
 *   - disk → job aggregation;
 *   - the update document (the body of POST /api/v1/progress/{job}/update)
 *     and the job document (the answer of GET /api/v1/progress/{job}),
 *     encoded and decoded here, with every field name defined once below.
 *
 * It does no I/O (jansson only builds and reads JSON in memory), so unit
 * tests call it directly.
 */
#ifndef CBTRACK_COMMON_PROGRESS_MODEL_H
#define CBTRACK_COMMON_PROGRESS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/ids.h"
#include "common/vector.h"

/* The field names of both wire documents.  The update document uses the
 * names of the original migratekit client, so existing senders work
 * unchanged; the job document reuses them for the same concepts.
 */
#define CBT_FIELD_JOB_ID "job_id"
#define CBT_FIELD_DISK_ID "disk_id"
#define CBT_FIELD_STAGE "stage"
#define CBT_FIELD_STATUS "status"
#define CBT_FIELD_SYNC_TYPE "sync_type"
#define CBT_FIELD_BYTES_TRANSFERRED "bytes_transferred"
#define CBT_FIELD_RESUMED_BYTES "resumed_bytes"
#define CBT_FIELD_TOTAL_BYTES "total_bytes"
#define CBT_FIELD_PERCENT "percent"
#define CBT_FIELD_THROUGHPUT_BPS "throughput_bps"
#define CBT_FIELD_ETA_SECONDS "eta_seconds"
#define CBT_FIELD_BYTES_WRITTEN "bytes_written"
#define CBT_FIELD_BYTES_ZERO_SKIPPED "bytes_zero_skipped"
#define CBT_FIELD_BYTES_ZEROED "bytes_zeroed"
#define CBT_FIELD_CAPACITY_BYTES "capacity_bytes"
#define CBT_FIELD_HOLE_BYTES "hole_bytes"
#define CBT_FIELD_ZERO_BYTES "zero_bytes"
#define CBT_FIELD_ELAPSED_SECONDS "elapsed_seconds"
#define CBT_FIELD_ERROR_MESSAGE "error_message"
#define CBT_FIELD_STALLED "stalled" /* in progress, not moving */
#define CBT_FIELD_STALLED_SECONDS "stalled_seconds" /* since when, if so */
#define CBT_FIELD_CHANGE_ID "change_id" /* VMware CBT: the changeId after */
#define CBT_FIELD_WARNING "warning"     /* something the operator must know */
#define CBT_FIELD_STARTED_AT "started_at"
#define CBT_FIELD_UPDATED_AT "updated_at"
#define CBT_FIELD_SECONDS_SINCE_UPDATE "seconds_since_update"
/* Job document only: the job's run (1, then one more each time a sender
 * starts a new run of a completed or failed disk, as a resumed copy does)
 * and the whole seconds since that run started, so a reader can tell a
 * new run from the old one without trusting clocks across machines.
 */
#define CBT_FIELD_RUN "run"
#define CBT_FIELD_SECONDS_SINCE_RUN_START "seconds_since_run_start"
#define CBT_FIELD_VM_NAME "vm_name" /* optional, from other services */
/* Update body only: who sends (an id the sender picks once per process;
 * the service refuses a second sender of a disk while the first is
 * live), and the start of a new run of a disk (the only way to move a
 * completed or failed disk back to queued or in_progress).
 */
#define CBT_FIELD_SENDER_ID "sender_id"
#define CBT_FIELD_NEW_RUN "new_run"
/* Cancelling a job (DESIGN §5): "cancel": true in a VMA's answer to an
 * update asks the copier to stop; in the job document,
 * "cancel_requested": true says a cancel was asked for, and "cancelled":
 * true that the job ended (failed) because of it.
 */
#define CBT_FIELD_CANCEL "cancel"
#define CBT_FIELD_CANCEL_REQUESTED "cancel_requested"
#define CBT_FIELD_CANCELLED "cancelled"
#define CBT_FIELD_DISKS "disks"
#define CBT_FIELD_JOBS "jobs"   /* the list answer: {"count", "jobs"} */
#define CBT_FIELD_COUNT "count" /* of the list answer */
/* Of the list answer too: the service's change counter when the list was
 * taken (ask "?since=" it next time for what changed after), and, when a
 * "?limit=" page is full, the id to ask "?after=" for the next page.
 */
#define CBT_FIELD_VERSION "version"
#define CBT_FIELD_NEXT_AFTER "next_after"

/* The longest stage text kept ("Analysis", "Transfer", "Finalize", or any
 * other short label a sender uses).
 */
#define CBT_STAGE_MAX 32

/* Longer error messages are cut (at a UTF-8 character boundary). */
#define CBT_ERROR_MAX 1024

/* The longest VM name a decoded job document keeps. */
#define CBT_VM_NAME_MAX 255

enum cbt_status {
  CBT_STATUS_QUEUED,
  CBT_STATUS_IN_PROGRESS,
  CBT_STATUS_COMPLETED,
  CBT_STATUS_FAILED,
};

/* The stages a copy goes through, in order.  Resume is the stage of a
 * copy that restarted from a checkpoint, between its analysis and the
 * first byte it moves (Analysis is then skipped: the resumed bytes are
 * known from the start).  Senders may name others; they rank with
 * Transfer (cbt_stage_rank).
 */
enum cbt_stage {
  CBT_STAGE_ANALYSIS,
  CBT_STAGE_RESUME,
  CBT_STAGE_TRANSFER,
  CBT_STAGE_FINALIZE,
};

enum cbt_sync_type {
  CBT_SYNC_FULL,
  CBT_SYNC_INCREMENTAL,
};

/* The canonical names: "queued", "in_progress", "completed", "failed";
 * "Analysis", "Resume", "Transfer", "Finalize"; "full", "incremental".
 */
const char *cbt_status_name (enum cbt_status status);
const char *cbt_stage_name (enum cbt_stage stage);
const char *cbt_sync_type_name (enum cbt_sync_type sync_type);

/* The status shown for a job that failed because it was cancelled:
 * "cancelled".  It is not a status of its own (a cancelled job is failed,
 * as one stopped by SIGTERM, and resumes the same way), only the word the
 * job document's readers, the OMA's API and UI and `cbtrack status` show.
 */
#define CBT_STATUS_CANCELLED_NAME "cancelled"

/* The status word to show: "cancelled" when STATUS is failed and
 * CANCELLED, else cbt_status_name (STATUS).
 */
const char *cbt_status_shown_name (enum cbt_status status, bool cancelled);

/* Maps a status word to enum cbt_status: queued (or pending), in_progress
 * (or running), completed (or complete), failed; case-insensitive, so the
 * "Queued"/"Running"/"Completed" of older senders work.  Returns 0, or -1
 * for any other word with *RET untouched.
 */
int cbt_status_parse (const char *str, enum cbt_status *ret);

/* Maps full, incremental and initial (= full) to enum cbt_sync_type,
 * case-insensitive.  Returns 0, or -1 for any other word with *RET
 * untouched.
 */
int cbt_sync_type_parse (const char *str, enum cbt_sync_type *ret);

/* Maps a stage name (case-insensitive) to enum cbt_stage.  Returns 0, or
 * -1 for any other text with *RET untouched.
 */
int cbt_stage_parse (const char *str, enum cbt_stage *ret);

/* Orders stage texts: Analysis (0) < Resume (1) < Transfer and any
 * unknown label (2) < Finalize (3).
 */
int cbt_stage_rank (const char *stage);

/* Replaces every control character of the UTF-8 text S (C0, DEL and the
 * C1 controls U+0080..U+009F) by spaces, in place, so that a text from a
 * peer (an error message, a name) cannot drive a terminal (ESC, CR,
 * BEL...).  The decoders below apply it to every text they keep.
 */
void cbt_text_strip_controls (char *s);

/* True while STATUS is not final (queued or in progress). */
bool cbt_status_is_running (enum cbt_status status);

/* THE percent rule: 100 × DONE / TOTAL floored to 0.01, at most 99.99
 * unless COMPLETED, and exactly 100 when COMPLETED.  A TOTAL of 0 is 100
 * when COMPLETED, else 0; DONE above TOTAL counts as TOTAL.  Never NaN.
 */
double cbt_percent (uint64_t done, uint64_t total, bool completed);

/* PERCENT (from cbt_percent) rounded to a whole number for people, never
 * 100 before it is 100.
 */
int cbt_percent_shown (double percent);

/* The longest ETA worth saying (about 31,700 years); the VMA refuses
 * longer ones as nonsense.
 */
#define CBT_ETA_MAX 1e12

/* THE ETA rule: 0 when STATUS is completed; (TOTAL - DONE) / THROUGHPUT
 * when in progress and THROUGHPUT (bytes per second) is above 0 and the
 * result is at most CBT_ETA_MAX; unknown otherwise.  Returns true and sets
 * *RET_ETA when known, false with *RET_ETA untouched when not.
 */
bool cbt_eta (enum cbt_status status, uint64_t done, uint64_t total,
              double throughput_bps, double *ret_eta);

/* One disk's or one job's progress as every part reports it.  Texts point
 * into storage the caller keeps alive while the struct is used.
 */
struct cbt_progress {
  const char *stage; /* a stage name; "" when none is known */
  enum cbt_status status;
  enum cbt_sync_type sync_type;
  uint64_t bytes_transferred;
  uint64_t resumed_bytes; /* of those, done before a restart (checkpoint) */
  uint64_t total_bytes;
  double percent;        /* by cbt_percent; see cbt_progress_derive */
  double throughput_bps; /* 0 when not known */
  bool has_eta;          /* false: unknown (JSON null or left out) */
  double eta_seconds;
  uint64_t bytes_written;
  uint64_t bytes_zero_skipped;
  uint64_t bytes_zeroed;
  uint64_t capacity_bytes;
  uint64_t hole_bytes;
  uint64_t zero_bytes;
  double elapsed_seconds;
  const char *error_message; /* NULL or "" when none */
  const char *change_id;     /* a disk's changeId once completed; NULL or "" */
  const char *warning;       /* a disk's warning (full instead of incremental);
                                NULL or "" */
  const char *error_disk;    /* after aggregation: the failed disk it came
                                from, or NULL */
  bool stalled;              /* in progress, but nothing completed for a
                                while (cbt_stall_check) */
  double stalled_seconds;    /* how long, when stalled */
};

/* Sets the derived fields of P from its status, byte counts and
 * throughput: percent by the percent rule, and the ETA by the ETA rule
 * (unknown when the rule does not know it).  Everything else is kept.
 */
void cbt_progress_derive (struct cbt_progress *p);

/* Disk → job aggregation.  Initialise with cbt_aggregate_init, add each
 * disk with cbt_aggregate_add, then cbt_aggregate_finish gives the job:
 *   - every byte count is the sum over the disks; throughput_bps is the
 *     sum over the disks in progress, and 0 unless the job is in progress;
 *     elapsed_seconds is the longest;
 *   - status: failed if any disk failed (or JOB_STATUS says failed),
 *     completed when every disk completed, in progress once any disk
 *     started (or JOB_STATUS says in progress), else queued;
 *   - stage: the earliest (cbt_stage_rank) among the disks still running,
 *     else the latest among the finished ones, else "";
 *   - sync_type: incremental if any disk is;
 *   - error_message: the first failed disk's non-empty one, with
 *     error_disk naming that disk;
 *   - stalled: the job is in progress and every disk in progress is
 *     stalled (the job moves while any of them does), for the shortest
 *     of their stalled_seconds;
 *   - percent and ETA by the rules, from the sums.
 * The struct's members are private to this module.
 */
struct cbt_aggregate {
  struct cbt_progress sum;
  size_t nr_disks, nr_completed, nr_started;
  bool any_failed;
  int run_rank, done_rank;
  const char *run_stage, *done_stage;
  size_t nr_running, nr_stalled;
  double stalled_min;
};

/* Starts an empty aggregate. */
void cbt_aggregate_init (struct cbt_aggregate *agg);

/* Adds DISK, named DISK_ID (may be NULL), to AGG.  DISK's texts must live
 * until cbt_aggregate_finish.
 */
void cbt_aggregate_add (struct cbt_aggregate *agg,
                        const struct cbt_progress *disk, const char *disk_id);

/* Fills *RET with the job AGG describes.  JOB_STATUS, when not NULL, is
 * the status a job-level update gave (only failed and in progress weigh
 * in).  An aggregate without disks is a queued job with nothing known.
 */
void cbt_aggregate_finish (const struct cbt_aggregate *agg,
                           const enum cbt_status *job_status,
                           struct cbt_progress *ret);

/* ---- Stall detection ---- */

/* A copy in progress is stalled once nothing it does has completed for
 * this many report intervals.
 */
#define CBT_STALL_INTERVALS 3

/* The state of one stall detector: start it zeroed. */
struct cbt_stall {
  bool seen;         /* a marker was seen */
  uint64_t marker;   /* the last one */
  double changed_at; /* when it last changed */
};

/* Feeds detector S with MARKER (a number that changes whenever the copy
 * makes progress: bytes completed, a stage change) at time NOW, in
 * seconds of a monotonic clock.  Returns true and sets *RET_SECONDS to the
 * time since MARKER last changed when that reached THRESHOLD seconds;
 * false (*RET_SECONDS set to 0) otherwise.  The first call is never
 * stalled.
 */
bool cbt_stall_check (struct cbt_stall *s, uint64_t marker, double now,
                      double threshold, double *ret_seconds);

/* ---- Truth on screen: when a rate still means something ---- */

/* The copier's default report interval (`cbtrack copy --report-interval`),
 * in seconds.
 */
#define CBT_REPORT_INTERVAL_DEFAULT 2.0

/* A running job is stale once it has had no update for more than this
 * many report intervals.
 */
#define CBT_STALE_INTERVALS 3

/* The default age (seconds) past which a job still in progress is stale:
 * CBT_STALE_INTERVALS default report intervals.
 */
#define CBT_STALE_AFTER_DEFAULT                                               \
  (CBT_STALE_INTERVALS * CBT_REPORT_INTERVAL_DEFAULT)

/* THE staleness rule: a job or disk in progress whose last update is AGE
 * seconds old is stale when AGE is above STALE_AFTER (CBT_STALE_INTERVALS
 * report intervals).  Only a job in progress can be stale: a finished
 * one's last update is its last word.
 */
bool cbt_is_stale (enum cbt_status status, double age, double stale_after);

/* THE rule of what a rate means: a throughput and an ETA are shown only
 * for a job (or disk) in progress that is neither STALLED (the copier says
 * nothing completed for a while) nor STALE (cbt_is_stale).  Everywhere
 * else they are unknown (JSON null), never the last number seen.
 */
bool cbt_rate_is_live (enum cbt_status status, bool stalled, bool stale);

/* The average rate of a transfer of BYTES that took SECONDS: BYTES /
 * SECONDS, or 0 when SECONDS is not above 0 (a transfer within one
 * second of its start has no meaningful average).
 */
double cbt_average_rate (uint64_t bytes, double seconds);

/* ---- The update document (POST /api/v1/progress/{job}/update) ---- */

/* Which fields of a struct cbt_update were given. */
enum {
  CBT_HAS_STAGE = 1 << 0,
  CBT_HAS_STATUS = 1 << 1,
  CBT_HAS_SYNC_TYPE = 1 << 2,
  CBT_HAS_BYTES_TRANSFERRED = 1 << 3,
  CBT_HAS_TOTAL_BYTES = 1 << 4,
  CBT_HAS_THROUGHPUT = 1 << 5,
  CBT_HAS_ETA = 1 << 6,
  CBT_HAS_BYTES_WRITTEN = 1 << 7,
  CBT_HAS_BYTES_ZERO_SKIPPED = 1 << 8,
  CBT_HAS_CAPACITY = 1 << 9,
  CBT_HAS_ERROR_MESSAGE = 1 << 10,
  CBT_HAS_RESUMED_BYTES = 1 << 11,
  CBT_HAS_STALLED = 1 << 12,
  CBT_HAS_CHANGE_ID = 1 << 13,
  CBT_HAS_WARNING = 1 << 14,
};

/* The longest warning kept. */
#define CBT_WARNING_MAX 512

/* The longest changeId kept (vSphere's are about 50 bytes). */
#define CBT_CHANGE_ID_MAX 128

/* One update as the service reads it.  A field that is absent or null is
 * "not given" (its CBT_HAS_* bit is clear); unknown fields are ignored.
 */
struct cbt_update {
  unsigned has;                 /* CBT_HAS_* bits */
  char disk_id[CBT_ID_MAX + 1]; /* "" for a job-level update */
  char stage[CBT_STAGE_MAX + 1];
  enum cbt_status status;
  enum cbt_sync_type sync_type;
  uint64_t bytes_transferred;
  uint64_t resumed_bytes;
  uint64_t total_bytes;
  uint64_t throughput_bps;
  double eta_seconds;
  uint64_t bytes_written;
  uint64_t bytes_zero_skipped;
  uint64_t capacity_bytes;
  char *error_message;    /* owned; NULL unless CBT_HAS_ERROR_MESSAGE */
  bool stalled;           /* with CBT_HAS_STALLED */
  double stalled_seconds; /* with CBT_HAS_STALLED; 0 unless stalled */
  char change_id[CBT_CHANGE_ID_MAX + 1]; /* "" unless CBT_HAS_CHANGE_ID */
  char warning[CBT_WARNING_MAX + 1];     /* "" unless CBT_HAS_WARNING */
  char sender_id[CBT_ID_MAX + 1];        /* "" when the sender gave none */
  bool new_run;                          /* a new run of the disk (or job) */
};

/* Flags of cbt_update_encode. */
enum {
  /* An unknown ETA is written as null (for --progress-json readers);
   * without it, it is left out (the service reads null as "not given").
   */
  CBT_ENCODE_ETA_NULL = 1 << 0,
};

/* Encodes P as one compact line of the update document: disk_id (when
 * DISK_ID is not NULL), stage, status, sync_type, bytes_transferred,
 * resumed_bytes, total_bytes, percent, throughput_bps, eta_seconds,
 * bytes_written, bytes_zero_skipped, bytes_zeroed, capacity_bytes, hole_bytes,
 * zero_bytes, elapsed_seconds, stalled (with stalled_seconds when true),
 * error_message when failed, change_id when completed with one (VMware CBT:
 * the disk's changeId the target now holds), and warning when there is one.
 * FLAGS are CBT_ENCODE_* bits.  Returns a malloc'd string, or NULL when out
 * of memory.
 */
char *cbt_update_encode (const struct cbt_progress *p, const char *disk_id,
                         unsigned flags);

/* Decodes and checks the LEN bytes of BODY: every field is checked for
 * type and range (ids, stage text without control characters, known
 * status and sync-type words, non-negative integer counts, percent in
 * 0..100, which is checked but not kept: the service computes it;
 * stalled a boolean, stalled_seconds a non-negative number).
 * Returns 0 and fills *RET (release it with cbt_update_clear), or -1 with
 * a message recorded (cbt_get_error) that is fit to send back to the
 * client, *RET untouched.
 */
int cbt_update_decode (const char *body, size_t len, struct cbt_update *ret);

/* Frees what *UPDATE owns.  Accepts NULL. */
void cbt_update_clear (struct cbt_update *update);

/* ---- The job document (GET /api/v1/progress/{job}) ---- */

/* When a job ran, for its document. */
struct cbt_doc_times {
  double started_wall; /* the job's first update (wall clock) */
  double updated_wall; /* its last update */
  double age;          /* seconds since the last update */
  unsigned run;        /* see CBT_FIELD_RUN; at least 1 */
  double run_age;      /* seconds since the current run started */
};

/* Builds the job document of job JOB_ID with progress P (percent and ETA
 * as derived): job_id, stage, status, sync_type, bytes_transferred,
 * resumed_bytes, total_bytes, percent, throughput_bps, eta_seconds (null
 * when unknown), stalled (with stalled_seconds when true), started_at and
 * updated_at (UTC), seconds_since_update, run and seconds_since_run_start
 * (whole seconds, never negative), all from T, error_message ("disk ID: …"
 * when it came from a disk), and an empty disks[] for
 * cbt_job_doc_add_disk.  Returns a new reference, or NULL when out of
 * memory.
 */
json_t *cbt_job_doc_encode (const char *job_id, const struct cbt_progress *p,
                            const struct cbt_doc_times *t);

/* Adds the cancel fields to JOB_DOC (from cbt_job_doc_encode, whose status
 * is STATUS) when REQUESTED: "cancel_requested": true and "cancelled":
 * whether STATUS is failed.  Without REQUESTED the document stays as it
 * is (readers take absent fields as false).  Returns 0, or -1 when out of
 * memory.
 */
int cbt_job_doc_set_cancel (json_t *job_doc, enum cbt_status status,
                            bool requested);

/* Appends disk DISK_ID with progress P to the disks[] of JOB_DOC: disk_id,
 * the progress fields as for the job, bytes_written, bytes_zero_skipped,
 * capacity_bytes, updated_at, seconds_since_update, error_message.
 * Returns 0, or -1 when out of memory.
 */
int cbt_job_doc_add_disk (json_t *job_doc, const char *disk_id,
                          const struct cbt_progress *p, double updated_wall,
                          double age);

/* One disk of a decoded job document. */
struct cbt_doc_disk {
  char disk_id[CBT_ID_MAX + 1];
  enum cbt_status status;
  uint64_t bytes_transferred; /* at most total_bytes */
  uint64_t total_bytes;
  uint64_t capacity_bytes;
  double percent; /* as the service sent it */
  uint64_t throughput_bps;
  bool has_eta;
  uint64_t eta_seconds;
  char error_message[CBT_ERROR_MAX + 1];
  char change_id[CBT_CHANGE_ID_MAX + 1]; /* "" when none */
};
DEFINE_VECTOR_TYPE (cbt_doc_disk_vector, struct cbt_doc_disk);

/* A decoded job document. */
struct cbt_doc_job {
  char job_id[CBT_ID_MAX + 1];
  char stage[CBT_STAGE_MAX + 1];
  enum cbt_status status; /* an unknown or missing word reads as
                             in_progress */
  bool has_sync_type;
  enum cbt_sync_type sync_type;
  char vm_name[256];          /* optional; "" when absent */
  uint64_t bytes_transferred; /* at most total_bytes */
  uint64_t total_bytes;
  double percent; /* as the service sent it */
  uint64_t throughput_bps;
  bool has_eta;
  uint64_t eta_seconds;
  double seconds_since_update;
  uint64_t resumed_bytes; /* of bytes_transferred, done by earlier runs */
  uint64_t run;           /* 0 when absent (an older or another service) */
  double seconds_since_run_start; /* 0 when absent */
  bool stalled;                   /* false when absent */
  double stalled_seconds;         /* 0 unless stalled */
  bool cancel_requested;          /* false when absent */
  bool cancelled; /* failed because cancelled; false when absent */
  char error_message[CBT_ERROR_MAX + 1];
  cbt_doc_disk_vector disks;
};
DEFINE_VECTOR_TYPE (cbt_doc_job_vector, struct cbt_doc_job);

/* Decodes the job document OBJ into *RET_JOB (its disks too unless
 * WITH_DISKS is false; release with cbt_doc_job_reset).  Unknown fields
 * are ignored; missing numbers are 0; texts are cut to fit; ids must be
 * valid and numbers non-negative; bytes_transferred is clipped to
 * total_bytes.  Returns 0, or -1 with a message recorded and *RET_JOB
 * untouched.
 */
int cbt_job_doc_decode (const json_t *obj, bool with_disks,
                        struct cbt_doc_job *ret_job);

/* Frees what JOB holds (not JOB).  Accepts NULL. */
void cbt_doc_job_reset (struct cbt_doc_job *job);

#endif /* CBTRACK_COMMON_PROGRESS_MODEL_H */
