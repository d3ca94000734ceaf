/* cbtrack vma - one progress update, parsed and checked. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/jsonutil.h"
#include "vma/update.h"

/* A body can name no more than this; anything longer is a mistake. */
#define VMA_ERROR_INPUT_MAX (64 * 1024)

struct vma_word {
  const char *word;
  int value;
};

static const struct vma_word vma_status_words[] = {
  { "queued", VMA_STATUS_QUEUED },
  { "pending", VMA_STATUS_QUEUED },
  { "in_progress", VMA_STATUS_IN_PROGRESS },
  { "running", VMA_STATUS_IN_PROGRESS },
  { "completed", VMA_STATUS_COMPLETED },
  { "complete", VMA_STATUS_COMPLETED },
  { "failed", VMA_STATUS_FAILED },
};

static const struct vma_word vma_sync_type_words[] = {
  { "full", VMA_SYNC_FULL },
  { "initial", VMA_SYNC_FULL },
  { "incremental", VMA_SYNC_INCREMENTAL },
};

static int
vma_word_lookup (const struct vma_word *words, size_t n, const char *str,
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

int
vma_status_parse (const char *str, enum vma_status *ret)
{
  int v;

  if (vma_word_lookup (vma_status_words,
                       sizeof vma_status_words / sizeof vma_status_words[0],
                       str, &v) == -1)
    return -1;
  *ret = (enum vma_status)v;
  return 0;
}

int
vma_sync_type_parse (const char *str, enum vma_sync_type *ret)
{
  int v;

  if (vma_word_lookup (vma_sync_type_words,
                       sizeof vma_sync_type_words /
                           sizeof vma_sync_type_words[0],
                       str, &v) == -1)
    return -1;
  *ret = (enum vma_sync_type)v;
  return 0;
}

const char *
vma_status_name (enum vma_status status)
{
  switch (status) {
  case VMA_STATUS_QUEUED: return "queued";
  case VMA_STATUS_IN_PROGRESS: return "in_progress";
  case VMA_STATUS_COMPLETED: return "completed";
  case VMA_STATUS_FAILED: return "failed";
  }
  return "unknown";
}

const char *
vma_sync_type_name (enum vma_sync_type sync_type)
{
  return sync_type == VMA_SYNC_INCREMENTAL ? "incremental" : "full";
}

void
vma_update_clear (struct vma_update *update)
{
  if (update == NULL)
    return;
  free (update->error_message);
  update->error_message = NULL;
  update->has &= ~(unsigned)VMA_HAS_ERROR_MESSAGE;
}

/* Reads one unsigned counter KEY into *DST, setting BIT in *HAS. */
static int
vma_update_counter (const json_t *obj, const char *key, unsigned bit,
                    uint64_t *dst, unsigned *has)
{
  int r = cbt_json_get_uint64 (obj, key, dst);

  if (r == 1)
    *has |= bit;
  return r;
}

/* True when S has no control characters (stage labels end up in
 * terminals and Prometheus labels).
 */
static bool
vma_text_is_printable (const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

int
vma_update_parse (const char *body, size_t len, struct vma_update *ret)
{
  struct vma_update u = { 0 };
  json_t *obj;
  const char *s;
  double d;
  int r = -1;

  obj = cbt_json_parse_object (body, len);
  if (obj == NULL)
    return -1;

  switch (cbt_json_get_string (obj, "disk_id", CBT_ID_MAX, &s)) {
  case -1:
    if (json_is_string (json_object_get (obj, "disk_id")))
      cbt_set_error ("invalid disk_id: ids are 1-128 characters of "
                     "[A-Za-z0-9._:-]");
    goto out;
  case 1:
    /* migratekit leaves disk_id out for job-level updates; an empty
     * string means the same.
     */
    if (s[0] != '\0' && !cbt_id_is_valid (s)) {
      cbt_set_error ("invalid disk_id: ids are 1-128 characters of "
                     "[A-Za-z0-9._:-]");
      goto out;
    }
    memcpy (u.disk_id, s, strlen (s) + 1);
    break;
  }

  switch (cbt_json_get_string (obj, "stage", VMA_STAGE_MAX, &s)) {
  case -1: goto out;
  case 1:
    if (!vma_text_is_printable (s)) {
      cbt_set_error ("stage must not contain control characters");
      goto out;
    }
    memcpy (u.stage, s, strlen (s) + 1);
    u.has |= VMA_HAS_STAGE;
    break;
  }

  switch (cbt_json_get_string (obj, "status", 64, &s)) {
  case -1: goto out;
  case 1:
    /* migratekit omits an empty status: treat "" the same way. */
    if (s[0] == '\0')
      break;
    if (vma_status_parse (s, &u.status) == -1) {
      cbt_set_error ("status must be one of queued, in_progress, completed, "
                     "failed");
      goto out;
    }
    u.has |= VMA_HAS_STATUS;
    break;
  }

  switch (cbt_json_get_string (obj, "sync_type", 64, &s)) {
  case -1: goto out;
  case 1:
    if (s[0] == '\0')
      break;
    if (vma_sync_type_parse (s, &u.sync_type) == -1) {
      cbt_set_error ("sync_type must be one of full, incremental, initial");
      goto out;
    }
    u.has |= VMA_HAS_SYNC_TYPE;
    break;
  }

  if (vma_update_counter (obj, "bytes_transferred", VMA_HAS_BYTES_TRANSFERRED,
                          &u.bytes_transferred, &u.has) == -1 ||
      vma_update_counter (obj, "total_bytes", VMA_HAS_TOTAL_BYTES,
                          &u.total_bytes, &u.has) == -1 ||
      vma_update_counter (obj, "bytes_written", VMA_HAS_BYTES_WRITTEN,
                          &u.bytes_written, &u.has) == -1 ||
      vma_update_counter (obj, "bytes_zero_skipped",
                          VMA_HAS_BYTES_ZERO_SKIPPED, &u.bytes_zero_skipped,
                          &u.has) == -1 ||
      vma_update_counter (obj, "capacity_bytes", VMA_HAS_CAPACITY,
                          &u.capacity_bytes, &u.has) == -1)
    goto out;

  /* Throughput may come as a real from senders that smooth it; it is
   * kept in whole bytes per second.
   */
  switch (cbt_json_get_number (obj, "throughput_bps", 0, 1e15, &d)) {
  case -1: goto out;
  case 1:
    u.throughput_bps = (uint64_t)(d + 0.5);
    u.has |= VMA_HAS_THROUGHPUT;
    break;
  }

  switch (cbt_json_get_number (obj, "eta_seconds", 0, 1e12, &d)) {
  case -1: goto out;
  case 1:
    u.eta_seconds = d;
    u.has |= VMA_HAS_ETA;
    break;
  }

  /* The sender's percent is checked but not kept: the service computes
   * it from the byte counts, so it cannot disagree with them.
   */
  if (cbt_json_get_number (obj, "percent", 0, 100, &d) == -1)
    goto out;

  switch (
      cbt_json_get_string (obj, "error_message", VMA_ERROR_INPUT_MAX, &s)) {
  case -1: goto out;
  case 1:
    u.error_message = cbt_json_strndup_utf8 (s, VMA_ERROR_MAX);
    if (u.error_message == NULL) {
      cbt_set_error ("out of memory");
      goto out;
    }
    u.has |= VMA_HAS_ERROR_MESSAGE;
    break;
  }

  *ret = u;
  r = 0;

out:
  if (r == -1)
    free (u.error_message);
  json_decref (obj);
  return r;
}
