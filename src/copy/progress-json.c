/* cbtrack copy - progress as JSON (I/O-free). */
#include <math.h>

#include <jansson.h>

#include "copy/progress-json.h"

char *
progress_json_format (const struct progress_snapshot *s, const char *disk_id,
                      bool eta_null)
{
  json_t *o = json_object ();
  char *text = NULL;
  int r = 0;

  if (o == NULL)
    return NULL;
  if (disk_id)
    r |= json_object_set_new (o, "disk_id", json_string (disk_id));
  r |= json_object_set_new (o, "stage",
                            json_string (progress_stage_name (s->stage)));
  r |= json_object_set_new (o, "status",
                            json_string (progress_status_name (s->status)));
  r |= json_object_set_new (
      o, "sync_type", json_string (s->incremental ? "incremental" : "full"));
  r |= json_object_set_new (o, "bytes_transferred",
                            json_integer ((json_int_t)s->bytes_transferred));
  r |= json_object_set_new (o, "total_bytes",
                            json_integer ((json_int_t)s->total_bytes));
  /* Two decimals: enough to see motion on a large disk. */
  r |= json_object_set_new (o, "percent",
                            json_real (floor (s->percent * 100) / 100));
  r |= json_object_set_new (
      o, "throughput_bps",
      json_integer ((json_int_t)llround (s->throughput_bps)));
  if (s->eta_seconds >= 0)
    r |= json_object_set_new (
        o, "eta_seconds", json_integer ((json_int_t)llround (s->eta_seconds)));
  else if (eta_null)
    r |= json_object_set_new (o, "eta_seconds", json_null ());
  r |= json_object_set_new (o, "bytes_written",
                            json_integer ((json_int_t)s->bytes_written));
  r |= json_object_set_new (o, "bytes_zero_skipped",
                            json_integer ((json_int_t)s->bytes_zero_skipped));
  r |= json_object_set_new (o, "bytes_zeroed",
                            json_integer ((json_int_t)s->bytes_zeroed));
  r |= json_object_set_new (o, "capacity_bytes",
                            json_integer ((json_int_t)s->capacity_bytes));
  r |= json_object_set_new (o, "hole_bytes",
                            json_integer ((json_int_t)s->hole_bytes));
  r |= json_object_set_new (o, "zero_bytes",
                            json_integer ((json_int_t)s->zero_bytes));
  r |= json_object_set_new (
      o, "elapsed_seconds",
      json_real (round (s->elapsed_seconds * 1000) / 1000));
  if (s->status == STATUS_FAILED)
    r |= json_object_set_new (o, "error_message",
                              json_string (s->error_message));
  if (r == 0)
    text = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                              JSON_REAL_PRECISION (10));
  json_decref (o);
  return text;
}
