/* cbtrack - the progress model and its wire contract (I/O-free). */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/jsonutil.h"
#include "common/progress-model.h"
#include "common/timeutil.h"

/* A body can name no more than this; anything longer is a mistake. */
#define CBT_ERROR_INPUT_MAX (64 * 1024)

/* The largest count a document may carry (jansson's integers are
 * int64_t; reals above this are out of range).
 */
#define CBT_DOC_NUMBER_MAX 9.2e18

#define CBT_INVALID_ID_TEXT "ids are 1-128 characters of [A-Za-z0-9._:-]"

struct cbt_word {
  const char *word;
  int value;
};

/* Every word a sender may use, canonical name first for each value. */
static const struct cbt_word cbt_status_words[] = {
  { "queued", CBT_STATUS_QUEUED },
  { "in_progress", CBT_STATUS_IN_PROGRESS },
  { "completed", CBT_STATUS_COMPLETED },
  { "failed", CBT_STATUS_FAILED },
  { "pending", CBT_STATUS_QUEUED },
  { "running", CBT_STATUS_IN_PROGRESS },
  { "complete", CBT_STATUS_COMPLETED },
};

static const struct cbt_word cbt_sync_type_words[] = {
  { "full", CBT_SYNC_FULL },
  { "incremental", CBT_SYNC_INCREMENTAL },
  { "initial", CBT_SYNC_FULL },
};

static const struct cbt_word cbt_stage_words[] = {
  { "Analysis", CBT_STAGE_ANALYSIS },
  { "Resume", CBT_STAGE_RESUME },
  { "Transfer", CBT_STAGE_TRANSFER },
  { "Finalize", CBT_STAGE_FINALIZE },
};

#define CBT_NWORDS(words) (sizeof (words) / sizeof (words)[0])

/* Finds STR (case-insensitive) in WORDS.  Returns 0 with *RET set, or -1. */
static int
cbt_word_lookup (const struct cbt_word *words, size_t n, const char *str,
                 int *ret)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcasecmp (words[i].word, str) == 0) {
      *ret = words[i].value;
      return 0;
    }
  return -1;
}

/* The first (canonical) word of VALUE in WORDS, or "unknown". */
static const char *
cbt_word_name (const struct cbt_word *words, size_t n, int value)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (words[i].value == value)
      return words[i].word;
  return "unknown";
}

const char *
cbt_status_name (enum cbt_status status)
{
  return cbt_word_name (cbt_status_words, CBT_NWORDS (cbt_status_words),
                        (int)status);
}

const char *
cbt_status_shown_name (enum cbt_status status, bool cancelled)
{
  return status == CBT_STATUS_FAILED && cancelled ? CBT_STATUS_CANCELLED_NAME
                                                  : cbt_status_name (status);
}

const char *
cbt_stage_name (enum cbt_stage stage)
{
  return cbt_word_name (cbt_stage_words, CBT_NWORDS (cbt_stage_words),
                        (int)stage);
}

const char *
cbt_sync_type_name (enum cbt_sync_type sync_type)
{
  return cbt_word_name (cbt_sync_type_words, CBT_NWORDS (cbt_sync_type_words),
                        (int)sync_type);
}

int
cbt_status_parse (const char *str, enum cbt_status *ret)
{
  int v;

  if (cbt_word_lookup (cbt_status_words, CBT_NWORDS (cbt_status_words), str,
                       &v) == -1)
    return -1;
  *ret = (enum cbt_status)v;
  return 0;
}

int
cbt_sync_type_parse (const char *str, enum cbt_sync_type *ret)
{
  int v;

  if (cbt_word_lookup (cbt_sync_type_words, CBT_NWORDS (cbt_sync_type_words),
                       str, &v) == -1)
    return -1;
  *ret = (enum cbt_sync_type)v;
  return 0;
}

int
cbt_stage_parse (const char *str, enum cbt_stage *ret)
{
  int v;

  if (cbt_word_lookup (cbt_stage_words, CBT_NWORDS (cbt_stage_words), str,
                       &v) == -1)
    return -1;
  *ret = (enum cbt_stage)v;
  return 0;
}

int
cbt_stage_rank (const char *stage)
{
  enum cbt_stage s;

  if (cbt_stage_parse (stage, &s) == -1)
    return CBT_STAGE_TRANSFER;
  return (int)s;
}

bool
cbt_status_is_running (enum cbt_status status)
{
  return status == CBT_STATUS_QUEUED || status == CBT_STATUS_IN_PROGRESS;
}

double
cbt_percent (uint64_t done, uint64_t total, bool completed)
{
  uint64_t hundredths;

  if (completed)
    return 100.0;
  if (total == 0 || done == 0)
    return 0.0;
  if (done >= total)
    return 99.99;
  /* Integer arithmetic where it cannot overflow, so that 2/3 is 66.66
   * and never rounds up.
   */
  if (done <= UINT64_MAX / 10000)
    hundredths = done * 10000 / total;
  else
    hundredths = (uint64_t)floor ((double)done / (double)total * 10000.0);
  if (hundredths > 9999)
    hundredths = 9999;
  return (double)hundredths / 100.0;
}

int
cbt_percent_shown (double percent)
{
  long shown;

  if (!(percent > 0))
    return 0;
  if (percent >= 100)
    return 100;
  shown = lround (percent);
  return shown >= 100 ? 99 : (int)shown;
}

bool
cbt_eta (enum cbt_status status, uint64_t done, uint64_t total,
         double throughput_bps, double *ret_eta)
{
  double eta;

  if (status == CBT_STATUS_COMPLETED) {
    *ret_eta = 0;
    return true;
  }
  if (status != CBT_STATUS_IN_PROGRESS || !(throughput_bps > 0))
    return false;
  eta = done >= total ? 0 : (double)(total - done) / throughput_bps;
  if (!(eta <= CBT_ETA_MAX))
    return false; /* a trickle over a huge disk: no honest ETA */
  *ret_eta = eta;
  return true;
}

void
cbt_progress_derive (struct cbt_progress *p)
{
  p->percent = cbt_percent (p->bytes_transferred, p->total_bytes,
                            p->status == CBT_STATUS_COMPLETED);
  p->has_eta = cbt_eta (p->status, p->bytes_transferred, p->total_bytes,
                        p->throughput_bps, &p->eta_seconds);
  if (!p->has_eta)
    p->eta_seconds = 0;
}

void
cbt_aggregate_init (struct cbt_aggregate *agg)
{
  memset (agg, 0, sizeof *agg);
  agg->run_rank = CBT_STAGE_FINALIZE + 1;
  agg->done_rank = -1;
}

void
cbt_aggregate_add (struct cbt_aggregate *agg, const struct cbt_progress *d,
                   const char *disk_id)
{
  struct cbt_progress *s = &agg->sum;
  int rank;

  agg->nr_disks++;
  s->bytes_transferred += d->bytes_transferred;
  s->resumed_bytes += d->resumed_bytes;
  s->total_bytes += d->total_bytes;
  s->bytes_written += d->bytes_written;
  s->bytes_zero_skipped += d->bytes_zero_skipped;
  s->bytes_zeroed += d->bytes_zeroed;
  s->capacity_bytes += d->capacity_bytes;
  s->hole_bytes += d->hole_bytes;
  s->zero_bytes += d->zero_bytes;
  if (d->elapsed_seconds > s->elapsed_seconds)
    s->elapsed_seconds = d->elapsed_seconds;
  if (d->sync_type == CBT_SYNC_INCREMENTAL)
    s->sync_type = CBT_SYNC_INCREMENTAL;
  /* Only a running disk moves bytes. */
  if (d->status == CBT_STATUS_IN_PROGRESS) {
    s->throughput_bps += d->throughput_bps;
    agg->nr_running++;
    if (d->stalled) {
      if (agg->nr_stalled == 0 || d->stalled_seconds < agg->stalled_min)
        agg->stalled_min = d->stalled_seconds;
      agg->nr_stalled++;
    }
  }

  switch (d->status) {
  case CBT_STATUS_FAILED:
    if (s->error_message == NULL && d->error_message != NULL &&
        d->error_message[0] != '\0') {
      s->error_message = d->error_message;
      s->error_disk = disk_id;
    }
    agg->any_failed = true;
    agg->nr_started++;
    break;
  case CBT_STATUS_COMPLETED:
    agg->nr_completed++;
    agg->nr_started++;
    break;
  case CBT_STATUS_IN_PROGRESS: agg->nr_started++; break;
  case CBT_STATUS_QUEUED: break;
  }

  if (d->stage == NULL || d->stage[0] == '\0')
    return;
  rank = cbt_stage_rank (d->stage);
  if (cbt_status_is_running (d->status)) {
    if (rank < agg->run_rank) {
      agg->run_rank = rank;
      agg->run_stage = d->stage;
    }
  } else if (rank > agg->done_rank) {
    agg->done_rank = rank;
    agg->done_stage = d->stage;
  }
}

void
cbt_aggregate_finish (const struct cbt_aggregate *agg,
                      const enum cbt_status *job_status,
                      struct cbt_progress *ret)
{
  struct cbt_progress p = agg->sum;

  assert (agg->nr_completed <= agg->nr_started);
  assert (agg->nr_started <= agg->nr_disks);
  assert (p.bytes_transferred <= p.total_bytes);

  if (agg->any_failed || (job_status && *job_status == CBT_STATUS_FAILED))
    p.status = CBT_STATUS_FAILED;
  else if (agg->nr_disks > 0 && agg->nr_completed == agg->nr_disks)
    p.status = CBT_STATUS_COMPLETED;
  else if (agg->nr_started > 0 ||
           (job_status && *job_status == CBT_STATUS_IN_PROGRESS))
    p.status = CBT_STATUS_IN_PROGRESS;
  else
    p.status = CBT_STATUS_QUEUED;

  p.stage = agg->run_stage    ? agg->run_stage
            : agg->done_stage ? agg->done_stage
                              : "";
  if (p.status != CBT_STATUS_IN_PROGRESS)
    p.throughput_bps = 0;
  /* The job is stuck only when none of its running disks moves. */
  p.stalled = p.status == CBT_STATUS_IN_PROGRESS && agg->nr_running > 0 &&
              agg->nr_stalled == agg->nr_running;
  p.stalled_seconds = p.stalled ? agg->stalled_min : 0;
  cbt_progress_derive (&p);
  *ret = p;
}

/* ---- Stall detection ---- */

bool
cbt_is_stale (enum cbt_status status, double age, double stale_after)
{
  return status == CBT_STATUS_IN_PROGRESS && age > stale_after;
}

bool
cbt_rate_is_live (enum cbt_status status, bool stalled, bool stale)
{
  return status == CBT_STATUS_IN_PROGRESS && !stalled && !stale;
}

double
cbt_average_rate (uint64_t bytes, double seconds)
{
  if (!(seconds > 0))
    return 0;
  return (double)bytes / seconds;
}

bool
cbt_stall_check (struct cbt_stall *s, uint64_t marker, double now,
                 double threshold, double *ret_seconds)
{
  double quiet;

  if (!s->seen || marker != s->marker) {
    s->seen = true;
    s->marker = marker;
    s->changed_at = now;
  }
  quiet = now - s->changed_at;
  if (quiet >= threshold && quiet > 0) {
    *ret_seconds = quiet;
    return true;
  }
  *ret_seconds = 0;
  return false;
}

/* Adds the stalled flag of P to OBJ (and since when, if stalled). */
static void
cbt_put_stalled (json_t *obj, const struct cbt_progress *p, int *failed)
{
  cbt_json_set_counted (obj, CBT_FIELD_STALLED, json_boolean (p->stalled),
                        failed);
  if (p->stalled)
    cbt_json_set_counted (
        obj, CBT_FIELD_STALLED_SECONDS,
        json_integer ((json_int_t)floor (p->stalled_seconds)), failed);
}

/* ---- The update document ---- */

char *
cbt_update_encode (const struct cbt_progress *p, const char *disk_id,
                   unsigned flags)
{
  json_t *o = json_object ();
  char *text = NULL;
  int failed = 0;

  if (o == NULL)
    return NULL;
  if (disk_id)
    cbt_json_set_counted (o, CBT_FIELD_DISK_ID, json_string (disk_id),
                          &failed);
  cbt_json_set_counted (o, CBT_FIELD_STAGE,
                        json_string (p->stage ? p->stage : ""), &failed);
  cbt_json_set_counted (o, CBT_FIELD_STATUS,
                        json_string (cbt_status_name (p->status)), &failed);
  cbt_json_set_counted (o, CBT_FIELD_SYNC_TYPE,
                        json_string (cbt_sync_type_name (p->sync_type)),
                        &failed);
  cbt_json_set_counted (o, CBT_FIELD_BYTES_TRANSFERRED,
                        json_integer ((json_int_t)p->bytes_transferred),
                        &failed);
  cbt_json_set_counted (o, CBT_FIELD_RESUMED_BYTES,
                        json_integer ((json_int_t)p->resumed_bytes), &failed);
  cbt_json_set_counted (o, CBT_FIELD_TOTAL_BYTES,
                        json_integer ((json_int_t)p->total_bytes), &failed);
  cbt_json_set_counted (o, CBT_FIELD_PERCENT, json_real (p->percent), &failed);
  cbt_json_set_counted (o, CBT_FIELD_THROUGHPUT_BPS,
                        json_integer ((json_int_t)llround (p->throughput_bps)),
                        &failed);
  if (p->has_eta)
    cbt_json_set_counted (o, CBT_FIELD_ETA_SECONDS,
                          json_integer ((json_int_t)llround (p->eta_seconds)),
                          &failed);
  else if (flags & CBT_ENCODE_ETA_NULL)
    cbt_json_set_counted (o, CBT_FIELD_ETA_SECONDS, json_null (), &failed);
  cbt_json_set_counted (o, CBT_FIELD_BYTES_WRITTEN,
                        json_integer ((json_int_t)p->bytes_written), &failed);
  cbt_json_set_counted (o, CBT_FIELD_BYTES_ZERO_SKIPPED,
                        json_integer ((json_int_t)p->bytes_zero_skipped),
                        &failed);
  cbt_json_set_counted (o, CBT_FIELD_BYTES_ZEROED,
                        json_integer ((json_int_t)p->bytes_zeroed), &failed);
  cbt_json_set_counted (o, CBT_FIELD_CAPACITY_BYTES,
                        json_integer ((json_int_t)p->capacity_bytes), &failed);
  cbt_json_set_counted (o, CBT_FIELD_HOLE_BYTES,
                        json_integer ((json_int_t)p->hole_bytes), &failed);
  cbt_json_set_counted (o, CBT_FIELD_ZERO_BYTES,
                        json_integer ((json_int_t)p->zero_bytes), &failed);
  cbt_json_set_counted (o, CBT_FIELD_ELAPSED_SECONDS,
                        json_real (round (p->elapsed_seconds * 1000) / 1000),
                        &failed);
  cbt_put_stalled (o, p, &failed);
  if (p->status == CBT_STATUS_FAILED)
    cbt_json_set_counted (
        o, CBT_FIELD_ERROR_MESSAGE,
        json_string (p->error_message ? p->error_message : ""), &failed);
  if (p->status == CBT_STATUS_COMPLETED && p->change_id && p->change_id[0])
    cbt_json_set_counted (o, CBT_FIELD_CHANGE_ID, json_string (p->change_id),
                          &failed);
  if (p->warning && p->warning[0])
    cbt_json_set_counted (o, CBT_FIELD_WARNING, json_string (p->warning),
                          &failed);
  if (failed == 0)
    text = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                              JSON_REAL_PRECISION (10));
  json_decref (o);
  return text;
}

void
cbt_update_clear (struct cbt_update *update)
{
  if (update == NULL)
    return;
  free (update->error_message);
  update->error_message = NULL;
  update->has &= ~(unsigned)CBT_HAS_ERROR_MESSAGE;
}

/* Reads one unsigned counter KEY into *DST, setting BIT in *HAS. */
static int
cbt_update_counter (const json_t *obj, const char *key, unsigned bit,
                    uint64_t *dst, unsigned *has)
{
  int r = cbt_json_get_uint64 (obj, key, dst);

  if (r == 1)
    *has |= bit;
  return r;
}

void
cbt_text_strip_controls (char *s)
{
  unsigned char *p = (unsigned char *)s;

  for (; *p; p++) {
    if (*p < 0x20 || *p == 0x7f)
      *p = ' ';
    else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
      p[0] = p[1] = ' '; /* U+0080..U+009F, the C1 controls (CSI...) */
      p++;
    }
  }
}

/* True when S has no control characters (stage labels end up in
 * terminals and Prometheus labels).
 */
static bool
cbt_text_is_printable (const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

/* True if the changeId S is printable ASCII (vSphere's are hex digits,
 * blanks, '-' and '/').
 */
static bool
cbt_change_id_is_valid (const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      return false;
  return true;
}

int
cbt_update_decode (const char *body, size_t len, struct cbt_update *ret)
{
  struct cbt_update u = { 0 };
  json_t *obj;
  const char *s;
  double d;
  int flag;
  int r = -1;

  obj = cbt_json_parse_object (body, len);
  if (obj == NULL)
    return -1;

  switch (cbt_json_get_string (obj, CBT_FIELD_DISK_ID, CBT_ID_MAX, &s)) {
  case -1:
    if (json_is_string (json_object_get (obj, CBT_FIELD_DISK_ID)))
      cbt_set_error ("invalid disk_id: " CBT_INVALID_ID_TEXT);
    goto out;
  case 1:
    /* migratekit leaves disk_id out for job-level updates; an empty
     * string means the same.
     */
    if (s[0] != '\0' && !cbt_id_is_valid (s)) {
      cbt_set_error ("invalid disk_id: " CBT_INVALID_ID_TEXT);
      goto out;
    }
    memcpy (u.disk_id, s, strlen (s) + 1);
    break;
  }

  switch (cbt_json_get_string (obj, CBT_FIELD_STAGE, CBT_STAGE_MAX, &s)) {
  case -1: goto out;
  case 1:
    if (!cbt_text_is_printable (s)) {
      cbt_set_error ("stage must not contain control characters");
      goto out;
    }
    memcpy (u.stage, s, strlen (s) + 1);
    u.has |= CBT_HAS_STAGE;
    break;
  }

  switch (cbt_json_get_string (obj, CBT_FIELD_STATUS, 64, &s)) {
  case -1: goto out;
  case 1:
    /* migratekit omits an empty status: treat "" the same way. */
    if (s[0] == '\0')
      break;
    if (cbt_status_parse (s, &u.status) == -1) {
      cbt_set_error ("status must be one of queued, in_progress, completed, "
                     "failed");
      goto out;
    }
    u.has |= CBT_HAS_STATUS;
    break;
  }

  switch (cbt_json_get_string (obj, CBT_FIELD_SYNC_TYPE, 64, &s)) {
  case -1: goto out;
  case 1:
    if (s[0] == '\0')
      break;
    if (cbt_sync_type_parse (s, &u.sync_type) == -1) {
      cbt_set_error ("sync_type must be one of full, incremental, initial");
      goto out;
    }
    u.has |= CBT_HAS_SYNC_TYPE;
    break;
  }

  if (cbt_update_counter (obj, CBT_FIELD_BYTES_TRANSFERRED,
                          CBT_HAS_BYTES_TRANSFERRED, &u.bytes_transferred,
                          &u.has) == -1 ||
      cbt_update_counter (obj, CBT_FIELD_RESUMED_BYTES, CBT_HAS_RESUMED_BYTES,
                          &u.resumed_bytes, &u.has) == -1 ||
      cbt_update_counter (obj, CBT_FIELD_TOTAL_BYTES, CBT_HAS_TOTAL_BYTES,
                          &u.total_bytes, &u.has) == -1 ||
      cbt_update_counter (obj, CBT_FIELD_BYTES_WRITTEN, CBT_HAS_BYTES_WRITTEN,
                          &u.bytes_written, &u.has) == -1 ||
      cbt_update_counter (obj, CBT_FIELD_BYTES_ZERO_SKIPPED,
                          CBT_HAS_BYTES_ZERO_SKIPPED, &u.bytes_zero_skipped,
                          &u.has) == -1 ||
      cbt_update_counter (obj, CBT_FIELD_CAPACITY_BYTES, CBT_HAS_CAPACITY,
                          &u.capacity_bytes, &u.has) == -1)
    goto out;

  /* Throughput may come as a real from senders that smooth it; it is
   * kept in whole bytes per second.
   */
  switch (cbt_json_get_number (obj, CBT_FIELD_THROUGHPUT_BPS, 0, 1e15, &d)) {
  case -1: goto out;
  case 1:
    u.throughput_bps = (uint64_t)(d + 0.5);
    u.has |= CBT_HAS_THROUGHPUT;
    break;
  }

  switch (
      cbt_json_get_number (obj, CBT_FIELD_ETA_SECONDS, 0, CBT_ETA_MAX, &d)) {
  case -1: goto out;
  case 1:
    u.eta_seconds = d;
    u.has |= CBT_HAS_ETA;
    break;
  }

  switch (cbt_json_get_bool (obj, CBT_FIELD_STALLED, &flag)) {
  case -1: goto out;
  case 1:
    u.stalled = flag;
    u.has |= CBT_HAS_STALLED;
    break;
  }
  switch (cbt_json_get_number (obj, CBT_FIELD_STALLED_SECONDS, 0, CBT_ETA_MAX,
                               &d)) {
  case -1: goto out;
  case 1:
    if (u.stalled)
      u.stalled_seconds = d;
    break;
  }

  /* The sender's percent is checked but not kept: the service computes
   * it from the byte counts, so it cannot disagree with them.
   */
  if (cbt_json_get_number (obj, CBT_FIELD_PERCENT, 0, 100, &d) == -1)
    goto out;

  switch (cbt_json_get_string (obj, CBT_FIELD_ERROR_MESSAGE,
                               CBT_ERROR_INPUT_MAX, &s)) {
  case -1: goto out;
  case 1:
    u.error_message = cbt_json_strndup_utf8 (s, CBT_ERROR_MAX);
    if (u.error_message == NULL) {
      cbt_set_error ("out of memory");
      goto out;
    }
    cbt_text_strip_controls (u.error_message);
    u.has |= CBT_HAS_ERROR_MESSAGE;
    break;
  }

  switch (
      cbt_json_get_string (obj, CBT_FIELD_CHANGE_ID, CBT_CHANGE_ID_MAX, &s)) {
  case -1: goto out;
  case 1:
    if (!cbt_change_id_is_valid (s)) {
      cbt_set_error ("'%s' must be printable text", CBT_FIELD_CHANGE_ID);
      goto out;
    }
    snprintf (u.change_id, sizeof u.change_id, "%s", s);
    u.has |= CBT_HAS_CHANGE_ID;
    break;
  }

  switch (
      cbt_json_get_string (obj, CBT_FIELD_WARNING, CBT_ERROR_INPUT_MAX, &s)) {
  case -1: goto out;
  case 1: {
    char *w = cbt_json_strndup_utf8 (s, CBT_WARNING_MAX);

    if (w == NULL) {
      cbt_set_error ("out of memory");
      goto out;
    }
    snprintf (u.warning, sizeof u.warning, "%s", w);
    free (w);
    u.has |= CBT_HAS_WARNING;
    break;
  }
  }

  switch (cbt_json_get_string (obj, CBT_FIELD_SENDER_ID, CBT_ID_MAX, &s)) {
  case -1:
    if (json_is_string (json_object_get (obj, CBT_FIELD_SENDER_ID)))
      cbt_set_error ("invalid sender_id: " CBT_INVALID_ID_TEXT);
    goto out;
  case 1:
    if (s[0] != '\0' && !cbt_id_is_valid (s)) {
      cbt_set_error ("invalid sender_id: " CBT_INVALID_ID_TEXT);
      goto out;
    }
    memcpy (u.sender_id, s, strlen (s) + 1);
    break;
  }

  {
    int new_run = 0;

    if (cbt_json_get_bool (obj, CBT_FIELD_NEW_RUN, &new_run) == -1)
      goto out;
    u.new_run = new_run != 0;
  }

  *ret = u;
  r = 0;

out:
  if (r == -1)
    free (u.error_message);
  json_decref (obj);
  return r;
}

/* ---- The job document ---- */

/* A count as a JSON integer (callers keep every count and sum at or below
 * INT64_MAX).
 */
static json_t *
cbt_doc_uint (uint64_t v)
{
  return json_integer ((json_int_t)v);
}

static json_t *
cbt_doc_utc (double wall)
{
  char buf[32];

  return json_string (cbt_format_utc (wall, buf, sizeof buf));
}

static json_t *
cbt_doc_age (double age)
{
  return json_integer (age > 0 ? (json_int_t)floor (age) : 0);
}

/* The progress fields shared by jobs and disks, in the documented order. */
static void
cbt_doc_put_progress (json_t *obj, const struct cbt_progress *p, int *failed)
{
  cbt_json_set_counted (obj, CBT_FIELD_STAGE,
                        json_string (p->stage ? p->stage : ""), failed);
  cbt_json_set_counted (obj, CBT_FIELD_STATUS,
                        json_string (cbt_status_name (p->status)), failed);
  cbt_json_set_counted (obj, CBT_FIELD_SYNC_TYPE,
                        json_string (cbt_sync_type_name (p->sync_type)),
                        failed);
  cbt_json_set_counted (obj, CBT_FIELD_BYTES_TRANSFERRED,
                        cbt_doc_uint (p->bytes_transferred), failed);
  cbt_json_set_counted (obj, CBT_FIELD_RESUMED_BYTES,
                        cbt_doc_uint (p->resumed_bytes), failed);
  cbt_json_set_counted (obj, CBT_FIELD_TOTAL_BYTES,
                        cbt_doc_uint (p->total_bytes), failed);
  cbt_json_set_counted (obj, CBT_FIELD_PERCENT, json_real (p->percent),
                        failed);
  cbt_json_set_counted (obj, CBT_FIELD_THROUGHPUT_BPS,
                        cbt_doc_uint ((uint64_t)llround (p->throughput_bps)),
                        failed);
  cbt_json_set_counted (
      obj, CBT_FIELD_ETA_SECONDS,
      p->has_eta ? json_integer ((json_int_t)llround (p->eta_seconds))
                 : json_null (),
      failed);
  cbt_put_stalled (obj, p, failed);
}

json_t *
cbt_job_doc_encode (const char *job_id, const struct cbt_progress *p,
                    const struct cbt_doc_times *t)
{
  json_t *obj = json_object (), *error;
  int failed = 0;

  if (obj == NULL)
    return NULL;
  cbt_json_set_counted (obj, CBT_FIELD_JOB_ID, json_string (job_id), &failed);
  cbt_doc_put_progress (obj, p, &failed);
  assert (t->run >= 1);
  cbt_json_set_counted (obj, CBT_FIELD_STARTED_AT,
                        cbt_doc_utc (t->started_wall), &failed);
  cbt_json_set_counted (obj, CBT_FIELD_UPDATED_AT,
                        cbt_doc_utc (t->updated_wall), &failed);
  cbt_json_set_counted (obj, CBT_FIELD_SECONDS_SINCE_UPDATE,
                        cbt_doc_age (t->age), &failed);
  cbt_json_set_counted (obj, CBT_FIELD_RUN, cbt_doc_uint (t->run), &failed);
  cbt_json_set_counted (obj, CBT_FIELD_SECONDS_SINCE_RUN_START,
                        cbt_doc_age (t->run_age), &failed);
  if (p->error_message == NULL)
    error = json_string ("");
  else if (p->error_disk != NULL)
    error = json_sprintf ("disk %s: %s", p->error_disk, p->error_message);
  else
    error = json_string (p->error_message);
  cbt_json_set_counted (obj, CBT_FIELD_ERROR_MESSAGE, error, &failed);
  cbt_json_set_counted (obj, CBT_FIELD_DISKS, json_array (), &failed);
  if (failed) {
    json_decref (obj);
    return NULL;
  }
  return obj;
}

int
cbt_job_doc_set_cancel (json_t *job_doc, enum cbt_status status,
                        bool requested)
{
  if (!requested)
    return 0;
  return json_object_set_new (job_doc, CBT_FIELD_CANCEL_REQUESTED,
                              json_boolean (requested)) == -1 ||
                 json_object_set_new (
                     job_doc, CBT_FIELD_CANCELLED,
                     json_boolean (requested &&
                                   status == CBT_STATUS_FAILED)) == -1
             ? -1
             : 0;
}

int
cbt_job_doc_add_disk (json_t *job_doc, const char *disk_id,
                      const struct cbt_progress *p, double updated_wall,
                      double age)
{
  json_t *obj = json_object ();
  int failed = 0;

  if (obj == NULL)
    return -1;
  cbt_json_set_counted (obj, CBT_FIELD_DISK_ID, json_string (disk_id),
                        &failed);
  cbt_doc_put_progress (obj, p, &failed);
  cbt_json_set_counted (obj, CBT_FIELD_BYTES_WRITTEN,
                        cbt_doc_uint (p->bytes_written), &failed);
  cbt_json_set_counted (obj, CBT_FIELD_BYTES_ZERO_SKIPPED,
                        cbt_doc_uint (p->bytes_zero_skipped), &failed);
  cbt_json_set_counted (obj, CBT_FIELD_CAPACITY_BYTES,
                        cbt_doc_uint (p->capacity_bytes), &failed);
  cbt_json_set_counted (obj, CBT_FIELD_UPDATED_AT, cbt_doc_utc (updated_wall),
                        &failed);
  cbt_json_set_counted (obj, CBT_FIELD_SECONDS_SINCE_UPDATE, cbt_doc_age (age),
                        &failed);
  cbt_json_set_counted (obj, CBT_FIELD_ERROR_MESSAGE,
                        json_string (p->error_message ? p->error_message : ""),
                        &failed);
  if (p->change_id && p->change_id[0])
    cbt_json_set_counted (obj, CBT_FIELD_CHANGE_ID, json_string (p->change_id),
                          &failed);
  if (p->warning && p->warning[0])
    cbt_json_set_counted (obj, CBT_FIELD_WARNING, json_string (p->warning),
                          &failed);
  if (failed == 0 && json_array_append_new (
                         json_object_get (job_doc, CBT_FIELD_DISKS), obj) == 0)
    return 0;
  if (failed)
    json_decref (obj);
  return -1;
}

/* Reads KEY of OBJ as a non-negative number into *RET (0 when absent or
 * null).  Returns 0, or -1 with a message.
 */
static int
cbt_doc_get_number (const json_t *obj, const char *key, double *ret)
{
  const json_t *v = json_object_get (obj, key);
  double d;

  if (v == NULL || json_is_null (v)) {
    *ret = 0;
    return 0;
  }
  if (!json_is_number (v)) {
    cbt_set_error ("the VMA's '%s' is not a number", key);
    return -1;
  }
  d = json_number_value (v);
  if (!(d >= 0) || d > CBT_DOC_NUMBER_MAX) {
    cbt_set_error ("the VMA's '%s' is out of range", key);
    return -1;
  }
  *ret = d;
  return 0;
}

/* Reads KEY of OBJ as a count, rounded to a whole number. */
static int
cbt_doc_get_count (const json_t *obj, const char *key, uint64_t *ret)
{
  double d;

  if (cbt_doc_get_number (obj, key, &d) == -1)
    return -1;
  *ret = (uint64_t)llround (d);
  return 0;
}

/* Reads the ETA of OBJ: *RET_HAS is false when it is null or absent. */
static int
cbt_doc_get_eta (const json_t *obj, bool *ret_has, uint64_t *ret)
{
  const json_t *v = json_object_get (obj, CBT_FIELD_ETA_SECONDS);

  *ret_has = v != NULL && !json_is_null (v);
  *ret = 0;
  return *ret_has ? cbt_doc_get_count (obj, CBT_FIELD_ETA_SECONDS, ret) : 0;
}

/* Copies string KEY of OBJ into DST of SIZE bytes (cut to fit at a
 * character boundary); "" when absent or null.
 */
static int
cbt_doc_get_text (const json_t *obj, const char *key, char *dst, size_t size)
{
  const json_t *v = json_object_get (obj, key);
  const char *s;
  size_t len;

  dst[0] = '\0';
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v)) {
    cbt_set_error ("the VMA's '%s' is not a string", key);
    return -1;
  }
  s = json_string_value (v);
  len = strlen (s);
  if (len >= size) {
    len = size - 1;
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
      len--;
  }
  memcpy (dst, s, len);
  dst[len] = '\0';
  cbt_text_strip_controls (dst);
  return 0;
}

/* Reads the stalled flag of OBJ (false when absent or null) and, when
 * true, since when.
 */
static int
cbt_doc_get_stalled (const json_t *obj, bool *ret_stalled, double *ret_seconds)
{
  const json_t *v = json_object_get (obj, CBT_FIELD_STALLED);

  *ret_stalled = false;
  *ret_seconds = 0;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_boolean (v)) {
    cbt_set_error ("the VMA's '%s' is not a boolean", CBT_FIELD_STALLED);
    return -1;
  }
  *ret_stalled = json_is_true (v);
  return *ret_stalled
             ? cbt_doc_get_number (obj, CBT_FIELD_STALLED_SECONDS, ret_seconds)
             : 0;
}

/* Reads the boolean KEY of OBJ into *RET: false when absent or null. */
static int
cbt_doc_get_flag (const json_t *obj, const char *key, bool *ret)
{
  const json_t *v = json_object_get (obj, key);

  *ret = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_boolean (v)) {
    cbt_set_error ("the VMA's '%s' is not a boolean", key);
    return -1;
  }
  *ret = json_is_true (v);
  return 0;
}

/* Reads status KEY of OBJ: an unknown or missing word is in_progress. */
static int
cbt_doc_get_status (const json_t *obj, enum cbt_status *ret)
{
  char word[64];

  if (cbt_doc_get_text (obj, CBT_FIELD_STATUS, word, sizeof word) == -1)
    return -1;
  if (cbt_status_parse (word, ret) == -1)
    *ret = CBT_STATUS_IN_PROGRESS;
  return 0;
}

static int
cbt_doc_decode_disk (const json_t *obj, struct cbt_doc_disk *d)
{
  double percent;

  memset (d, 0, sizeof *d);
  if (!json_is_object (obj)) {
    cbt_set_error ("a disk of the VMA's job is not an object");
    return -1;
  }
  if (cbt_doc_get_text (obj, CBT_FIELD_DISK_ID, d->disk_id,
                        sizeof d->disk_id) == -1 ||
      cbt_doc_get_status (obj, &d->status) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_BYTES_TRANSFERRED,
                         &d->bytes_transferred) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_TOTAL_BYTES, &d->total_bytes) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_CAPACITY_BYTES, &d->capacity_bytes) ==
          -1 ||
      cbt_doc_get_number (obj, CBT_FIELD_PERCENT, &percent) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_THROUGHPUT_BPS, &d->throughput_bps) ==
          -1 ||
      cbt_doc_get_eta (obj, &d->has_eta, &d->eta_seconds) == -1 ||
      cbt_doc_get_text (obj, CBT_FIELD_ERROR_MESSAGE, d->error_message,
                        sizeof d->error_message) == -1 ||
      cbt_doc_get_text (obj, CBT_FIELD_CHANGE_ID, d->change_id,
                        sizeof d->change_id) == -1)
    return -1;
  if (!cbt_id_is_valid (d->disk_id)) {
    cbt_set_error ("the VMA sent an invalid disk id");
    return -1;
  }
  d->percent = percent > 100 ? 100 : percent;
  if (d->bytes_transferred > d->total_bytes)
    d->bytes_transferred = d->total_bytes;
  return 0;
}

int
cbt_job_doc_decode (const json_t *obj, bool with_disks,
                    struct cbt_doc_job *ret_job)
{
  struct cbt_doc_job job;
  const json_t *disks, *v;
  struct cbt_doc_disk d;
  char sync_type[64];
  double percent;
  size_t i;

  memset (&job, 0, sizeof job);
  if (!json_is_object (obj)) {
    cbt_set_error ("the VMA's job is not a JSON object");
    return -1;
  }
  if (cbt_doc_get_text (obj, CBT_FIELD_JOB_ID, job.job_id,
                        sizeof job.job_id) == -1 ||
      cbt_doc_get_text (obj, CBT_FIELD_STAGE, job.stage, sizeof job.stage) ==
          -1 ||
      cbt_doc_get_status (obj, &job.status) == -1 ||
      cbt_doc_get_text (obj, CBT_FIELD_SYNC_TYPE, sync_type,
                        sizeof sync_type) == -1 ||
      cbt_doc_get_text (obj, CBT_FIELD_VM_NAME, job.vm_name,
                        sizeof job.vm_name) == -1 ||
      cbt_doc_get_text (obj, CBT_FIELD_ERROR_MESSAGE, job.error_message,
                        sizeof job.error_message) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_BYTES_TRANSFERRED,
                         &job.bytes_transferred) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_TOTAL_BYTES, &job.total_bytes) == -1 ||
      cbt_doc_get_number (obj, CBT_FIELD_PERCENT, &percent) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_THROUGHPUT_BPS, &job.throughput_bps) ==
          -1 ||
      cbt_doc_get_eta (obj, &job.has_eta, &job.eta_seconds) == -1 ||
      cbt_doc_get_number (obj, CBT_FIELD_SECONDS_SINCE_UPDATE,
                          &job.seconds_since_update) == -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_RESUMED_BYTES, &job.resumed_bytes) ==
          -1 ||
      cbt_doc_get_count (obj, CBT_FIELD_RUN, &job.run) == -1 ||
      cbt_doc_get_number (obj, CBT_FIELD_SECONDS_SINCE_RUN_START,
                          &job.seconds_since_run_start) == -1 ||
      cbt_doc_get_stalled (obj, &job.stalled, &job.stalled_seconds) == -1 ||
      cbt_doc_get_flag (obj, CBT_FIELD_CANCEL_REQUESTED,
                        &job.cancel_requested) == -1 ||
      cbt_doc_get_flag (obj, CBT_FIELD_CANCELLED, &job.cancelled) == -1)
    return -1;
  if (job.status != CBT_STATUS_FAILED)
    job.cancelled = false;
  if (!cbt_id_is_valid (job.job_id)) {
    cbt_set_error ("the VMA sent an invalid job id");
    return -1;
  }
  job.has_sync_type = cbt_sync_type_parse (sync_type, &job.sync_type) == 0;
  job.percent = percent > 100 ? 100 : percent;
  if (job.bytes_transferred > job.total_bytes)
    job.bytes_transferred = job.total_bytes;

  disks = with_disks ? json_object_get (obj, CBT_FIELD_DISKS) : NULL;
  if (disks && !json_is_null (disks)) {
    if (!json_is_array (disks)) {
      cbt_set_error ("the VMA's 'disks' is not an array");
      return -1;
    }
    json_array_foreach (disks, i, v)
    {
      if (cbt_doc_decode_disk (v, &d) == -1)
        goto err;
      if (cbt_doc_disk_vector_append (&job.disks, d) == -1) {
        cbt_set_error_errno (errno, "decode the VMA's job");
        goto err;
      }
    }
  }
  *ret_job = job;
  return 0;

err:
  cbt_doc_job_reset (&job);
  return -1;
}

void
cbt_doc_job_reset (struct cbt_doc_job *job)
{
  if (job)
    cbt_doc_disk_vector_reset (&job->disks);
}
