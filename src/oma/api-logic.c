/* cbtrack oma - the JSON API's decisions, free of I/O. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/ids.h"
#include "common/jsonutil.h"
#include "common/progress-model.h"
#include "common/timeutil.h"
#include "oma/api-logic.h"
#include "oma/poll-logic.h"

static json_t *
render_time (int64_t t)
{
  char buf[32];

  if (t == 0)
    return json_null ();
  return json_string (cbt_format_utc ((double)t, buf, sizeof buf));
}

/* The model's status for a replication_jobs.status or a
 * vm_disks.sync_status word.
 */
static enum cbt_status
api_status (const char *word)
{
  if (strcmp (word, "replicating") == 0 || strcmp (word, "syncing") == 0)
    return CBT_STATUS_IN_PROGRESS;
  if (strcmp (word, "completed") == 0)
    return CBT_STATUS_COMPLETED;
  if (strcmp (word, "failed") == 0)
    return CBT_STATUS_FAILED;
  return CBT_STATUS_QUEUED;
}

void
oma_job_view (const struct oma_job *job, int64_t now, double stale_after,
              struct oma_job_view *ret)
{
  enum cbt_status status = api_status (job->status);
  struct oma_job_view v;
  bool stale;

  memset (&v, 0, sizeof v);
  /* A row the poller stopped refreshing is as stale as a copier that
   * stopped reporting.
   */
  stale = job->updated_at > 0 &&
          cbt_is_stale (status, (double)(now - job->updated_at), stale_after);
  if (status == CBT_STATUS_IN_PROGRESS && (job->stalled_since > 0 || stale)) {
    v.stalled = true;
    v.stalled_since =
        job->stalled_since > 0 ? job->stalled_since : job->updated_at;
  }
  v.has_rate = cbt_rate_is_live (status, v.stalled, stale);
  v.rate_bps = v.has_rate ? job->transfer_speed_bps : 0;
  if (status == CBT_STATUS_COMPLETED) {
    v.has_eta = true;
    v.eta_seconds = 0;
  } else if (v.has_rate && job->eta_seconds >= 0) {
    v.has_eta = true;
    v.eta_seconds = job->eta_seconds;
  }
  if (job->started_at > 0) {
    int64_t end = job->completed_at > 0 ? job->completed_at : now;

    v.has_duration = end >= job->started_at;
    v.duration_seconds = v.has_duration ? end - job->started_at : 0;
  }
  if (status == CBT_STATUS_COMPLETED && v.has_duration &&
      v.duration_seconds > 0) {
    v.has_average = true;
    v.average_rate_bps = cbt_average_rate ((uint64_t)job->bytes_transferred,
                                           (double)v.duration_seconds);
  }
  *ret = v;
}

static json_t *
render_disk (const struct oma_disk *d, bool job_live)
{
  enum cbt_status status = api_status (d->sync_status);
  bool live = job_live && status == CBT_STATUS_IN_PROGRESS;
  json_t *obj = json_object ();
  int failed = 0;

  if (obj == NULL)
    return NULL;
  cbt_json_set_counted (obj, "disk_id", json_string (d->disk_id), &failed);
  cbt_json_set_counted (obj, "capacity_bytes",
                        json_integer (d->capacity_bytes), &failed);
  cbt_json_set_counted (obj, "total_bytes", json_integer (d->total_bytes),
                        &failed);
  cbt_json_set_counted (obj, "bytes_synced", json_integer (d->bytes_synced),
                        &failed);
  cbt_json_set_counted (obj, "sync_progress_percent",
                        json_real (d->sync_progress_percent), &failed);
  cbt_json_set_counted (obj, "sync_status", json_string (d->sync_status),
                        &failed);
  cbt_json_set_counted (obj, "throughput_bps",
                        live ? json_integer (d->throughput_bps) : json_null (),
                        &failed);
  cbt_json_set_counted (obj, "eta_seconds",
                        status == CBT_STATUS_COMPLETED ? json_integer (0)
                        : live && d->eta_seconds >= 0
                            ? json_integer (d->eta_seconds)
                            : json_null (),
                        &failed);
  cbt_json_set_counted (obj, "updated_at", render_time (d->updated_at),
                        &failed);
  if (d->change_id[0])
    cbt_json_set_counted (obj, "change_id", json_string (d->change_id),
                          &failed);
  if (failed) {
    json_decref (obj);
    return NULL;
  }
  return obj;
}

static json_t *
render_sample (const struct oma_sample *p)
{
  return json_pack ("{s:o,s:I,s:I,s:f}", "t", render_time (p->sampled_at),
                    "bytes_transferred", (json_int_t)p->bytes_transferred,
                    "transfer_speed_bps", (json_int_t)p->transfer_speed_bps,
                    "progress_percent", p->progress_percent);
}

const char *
oma_job_status_shown (const struct oma_job *job)
{
  return job->cancel_requested_at != 0 && strcmp (job->status, "failed") == 0
             ? CBT_STATUS_CANCELLED_NAME
             : job->status;
}

json_t *
oma_render_job (const struct oma_job *job, bool with_history, int64_t now,
                double stale_after)
{
  json_t *obj = json_object (), *disks = json_array (), *history = NULL;
  struct oma_job_view v;
  int failed = 0;
  size_t i;

  if (obj == NULL || disks == NULL)
    goto oom;
  oma_job_view (job, now, stale_after, &v);
  cbt_json_set_counted (obj, "id", json_string (job->id), &failed);
  cbt_json_set_counted (obj, "source_vm_name",
                        json_string (job->source_vm_name), &failed);
  cbt_json_set_counted (obj, "replication_type",
                        json_string (job->replication_type), &failed);
  cbt_json_set_counted (obj, "status",
                        json_string (oma_job_status_shown (job)), &failed);
  cbt_json_set_counted (obj, "cancel_requested_at",
                        render_time (job->cancel_requested_at), &failed);
  cbt_json_set_counted (obj, "current_operation",
                        json_string (job->current_operation), &failed);
  cbt_json_set_counted (obj, "progress_percent",
                        json_real (job->progress_percent), &failed);
  cbt_json_set_counted (obj, "setup_progress_percent",
                        json_real (job->setup_progress_percent), &failed);
  cbt_json_set_counted (obj, "bytes_transferred",
                        json_integer (job->bytes_transferred), &failed);
  cbt_json_set_counted (obj, "total_bytes", json_integer (job->total_bytes),
                        &failed);
  cbt_json_set_counted (obj, "transfer_speed_bps",
                        v.has_rate ? json_integer (v.rate_bps) : json_null (),
                        &failed);
  cbt_json_set_counted (
      obj, "eta_seconds",
      v.has_eta ? json_integer (v.eta_seconds) : json_null (), &failed);
  cbt_json_set_counted (obj, "stalled", json_boolean (v.stalled), &failed);
  cbt_json_set_counted (obj, "stalled_since", render_time (v.stalled_since),
                        &failed);
  cbt_json_set_counted (obj, "duration_seconds",
                        v.has_duration ? json_integer (v.duration_seconds)
                                       : json_null (),
                        &failed);
  cbt_json_set_counted (
      obj, "average_rate_bps",
      v.has_average ? json_real (v.average_rate_bps) : json_null (), &failed);
  cbt_json_set_counted (obj, "vma_url", json_string (job->vma_url), &failed);
  cbt_json_set_counted (
      obj, "error_message",
      job->error_message[0] ? json_string (job->error_message) : json_null (),
      &failed);
  cbt_json_set_counted (obj, "created_at", render_time (job->created_at),
                        &failed);
  cbt_json_set_counted (obj, "updated_at", render_time (job->updated_at),
                        &failed);
  cbt_json_set_counted (obj, "started_at", render_time (job->started_at),
                        &failed);
  cbt_json_set_counted (obj, "completed_at", render_time (job->completed_at),
                        &failed);
  cbt_json_set_counted (obj, "last_progress_at",
                        render_time (job->last_progress_at), &failed);
  cbt_json_set_counted (obj, "polled_by",
                        job->owner_node[0] ? json_string (job->owner_node)
                                           : json_null (),
                        &failed);
  for (i = 0; i < job->disks.len; i++)
    if (json_array_append_new (
            disks, render_disk (&job->disks.ptr[i], v.has_rate)) == -1)
      failed++;
  cbt_json_set_counted (obj, "disks", disks, &failed);
  disks = NULL;
  if (with_history) {
    history = json_array ();
    if (history == NULL)
      goto oom;
    for (i = 0; i < job->history.len; i++)
      if (json_array_append_new (history,
                                 render_sample (&job->history.ptr[i])) == -1)
        failed++;
    cbt_json_set_counted (obj, "history", history, &failed);
  }
  if (failed)
    goto oom;
  return obj;

oom:
  json_decref (disks);
  json_decref (obj);
  return NULL;
}

/* ---- The list ---- */

int
oma_list_query_parse (const char *status, const char *q, const char *vm,
                      const char *sort, const char *limit, const char *after,
                      const char *format, struct oma_list_query *ret)
{
  static const struct {
    const char *word;
    unsigned bits;
  } filters[] = {
    { "pending", OMA_FILTER_PENDING },
    { "replicating", OMA_FILTER_REPLICATING },
    { "completed", OMA_FILTER_COMPLETED },
    { "failed", OMA_FILTER_FAILED },
    { "stalled", OMA_FILTER_STALLED },
    { CBT_STATUS_CANCELLED_NAME, OMA_FILTER_CANCELLED },
    { "active", OMA_FILTER_ACTIVE },
  };
  static const char *const sorts[] = {
    [OMA_SORT_CREATED] = "created",   [OMA_SORT_STARTED] = "started",
    [OMA_SORT_PROGRESS] = "progress", [OMA_SORT_ETA] = "eta",
    [OMA_SORT_NAME] = "name",
  };
  struct oma_list_query query;
  size_t i;

  memset (&query, 0, sizeof query);
  query.sort = OMA_SORT_CREATED;
  query.descending = true;
  if (status != NULL && status[0] != '\0') {
    const char *p = status;

    while (*p) {
      size_t len = strcspn (p, ",");
      bool found = false;

      for (i = 0; i < sizeof filters / sizeof *filters; i++)
        if (strlen (filters[i].word) == len &&
            strncmp (filters[i].word, p, len) == 0) {
          query.statuses |= filters[i].bits;
          found = true;
        }
      if (!found) {
        cbt_set_error ("status must be a comma-separated list of pending, "
                       "replicating, completed, failed, stalled, active");
        return -1;
      }
      p += len;
      if (*p == ',')
        p++;
    }
  }
  if (q != NULL && strlen (q) > OMA_NAME_MAX) {
    cbt_set_error ("q is longer than %d bytes", OMA_NAME_MAX);
    return -1;
  }
  if (vm != NULL && strlen (vm) > OMA_NAME_MAX) {
    cbt_set_error ("vm is longer than %d bytes", OMA_NAME_MAX);
    return -1;
  }
  oma_copy_text (query.q, sizeof query.q, q);
  oma_copy_text (query.vm, sizeof query.vm, vm);
  if (sort != NULL && sort[0] != '\0') {
    const char *key = sort[0] == '-' ? sort + 1 : sort;
    bool found = false;

    for (i = 0; i < sizeof sorts / sizeof *sorts; i++)
      if (strcmp (key, sorts[i]) == 0) {
        query.sort = (enum oma_sort_key)i;
        query.descending = sort[0] == '-';
        found = true;
      }
    if (!found) {
      cbt_set_error ("sort must be created, started, progress, eta or "
                     "name, with a leading - for descending");
      return -1;
    }
  }
  if (limit != NULL && limit[0] != '\0') {
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul (limit, &end, 10);
    if (errno != 0 || *end != '\0' || limit[0] < '1' || limit[0] > '9' ||
        n > OMA_LIST_LIMIT_MAX) {
      cbt_set_error ("limit must be 1 to %d", OMA_LIST_LIMIT_MAX);
      return -1;
    }
    query.limit = n;
  }
  if (after != NULL && after[0] != '\0') {
    if (!cbt_id_is_valid (after)) {
      cbt_set_error ("after must be a job id");
      return -1;
    }
    oma_copy_text (query.after, sizeof query.after, after);
  }
  if (format != NULL && format[0] != '\0') {
    if (strcmp (format, "csv") == 0)
      query.csv = true;
    else if (strcmp (format, "json") != 0) {
      cbt_set_error ("format must be json or csv");
      return -1;
    }
  }
  *ret = query;
  return 0;
}

/* One job being sorted. */
struct api_sort_item {
  size_t i;
  const struct oma_job *job;
  bool unknown; /* no key: sorts last either way */
  double key;
};

/* The sort of the list being built (qsort has no context argument). */
struct api_sort_ctx {
  enum oma_sort_key sort;
  bool descending;
};
static _Thread_local struct api_sort_ctx api_sort_ctx;

static int
api_sort_cmp (const void *a, const void *b)
{
  const struct api_sort_item *x = a, *y = b;
  int c = 0;

  if (x->unknown != y->unknown)
    return x->unknown ? 1 : -1;
  if (api_sort_ctx.sort == OMA_SORT_NAME)
    c = strcmp (x->job->source_vm_name, y->job->source_vm_name);
  else if (!x->unknown)
    c = (x->key > y->key) - (x->key < y->key);
  if (api_sort_ctx.descending)
    c = -c;
  return c != 0 ? c : strcmp (x->job->id, y->job->id);
}

/* True when JOB (with view V) passes the filter and search of QUERY. */
static bool
api_list_match (const struct oma_job *job, const struct oma_job_view *v,
                const struct oma_list_query *query)
{
  if (query->statuses) {
    unsigned bits = 0;

    if (strcmp (job->status, "pending") == 0)
      bits = OMA_FILTER_PENDING;
    else if (strcmp (job->status, "replicating") == 0)
      bits = OMA_FILTER_REPLICATING | (v->stalled ? OMA_FILTER_STALLED : 0);
    else if (strcmp (job->status, "completed") == 0)
      bits = OMA_FILTER_COMPLETED;
    else if (strcmp (oma_job_status_shown (job), "failed") == 0)
      bits = OMA_FILTER_FAILED;
    else if (strcmp (job->status, "failed") == 0)
      bits = OMA_FILTER_CANCELLED;
    if ((bits & query->statuses) == 0)
      return false;
  }
  if (query->vm[0] && strcmp (job->source_vm_name, query->vm) != 0)
    return false;
  if (query->q[0] && strcasestr (job->source_vm_name, query->q) == NULL &&
      strcasestr (job->id, query->q) == NULL)
    return false;
  return true;
}

int
oma_list_select (const oma_job_vector *jobs,
                 const struct oma_list_query *query, int64_t now,
                 double stale_after, struct oma_list_page *ret)
{
  struct oma_list_page page;
  struct api_sort_item *items;
  size_t i, n = 0, first = 0, count;

  memset (&page, 0, sizeof page);
  items = calloc (jobs->len ? jobs->len : 1, sizeof *items);
  page.idx = calloc (jobs->len ? jobs->len : 1, sizeof *page.idx);
  if (items == NULL || page.idx == NULL) {
    free (items);
    free (page.idx);
    cbt_set_error ("out of memory");
    return -1;
  }
  for (i = 0; i < jobs->len; i++) {
    const struct oma_job *job = &jobs->ptr[i];
    struct api_sort_item *it = &items[n];
    struct oma_job_view v;

    oma_job_view (job, now, stale_after, &v);
    if (strcmp (job->status, "pending") == 0)
      page.by_status[0]++;
    else if (strcmp (job->status, "replicating") == 0)
      page.by_status[1]++;
    else if (strcmp (job->status, "completed") == 0)
      page.by_status[2]++;
    else if (strcmp (oma_job_status_shown (job), "failed") == 0)
      page.by_status[3]++;
    else if (strcmp (job->status, "failed") == 0)
      page.by_status[5]++;
    if (v.stalled)
      page.by_status[4]++;
    page.rate_bps += v.rate_bps;
    if (!api_list_match (job, &v, query))
      continue;
    it->i = i;
    it->job = job;
    switch (query->sort) {
    case OMA_SORT_CREATED: it->key = (double)job->created_at; break;
    case OMA_SORT_STARTED:
      it->unknown = job->started_at == 0;
      it->key = (double)job->started_at;
      break;
    case OMA_SORT_PROGRESS: it->key = job->progress_percent; break;
    case OMA_SORT_ETA:
      it->unknown = !v.has_eta;
      it->key = (double)v.eta_seconds;
      break;
    case OMA_SORT_NAME: break;
    }
    n++;
  }
  api_sort_ctx = (struct api_sort_ctx){ query->sort, query->descending };
  qsort (items, n, sizeof *items, api_sort_cmp);
  if (query->after[0]) {
    for (first = 0; first < n; first++)
      if (strcmp (items[first].job->id, query->after) == 0)
        break;
    if (first == n) {
      free (items);
      free (page.idx);
      cbt_set_error ("after: job '%s' is not in this listing (it may have "
                     "left the filter); start from the first page",
                     query->after);
      return -1;
    }
    first++;
  }
  count = n - first;
  if (query->limit > 0 && count > query->limit)
    count = query->limit;
  for (i = 0; i < count; i++)
    page.idx[i] = items[first + i].i;
  page.n = count;
  page.total = n;
  if (first + count < n && count > 0)
    page.next = jobs->ptr[page.idx[count - 1]].id;
  free (items);
  *ret = page;
  return 0;
}

int
oma_csv_cell (FILE *fp, const char *text)
{
  const char *p;

  if (text == NULL)
    text = "";
  if (fputc ('"', fp) == EOF)
    return -1;
  if (strchr ("=+-@\t\r", text[0]) != NULL && text[0] != '\0' &&
      fputc ('\'', fp) == EOF)
    return -1;
  for (p = text; *p; p++)
    if ((*p == '"' && fputc ('"', fp) == EOF) || fputc (*p, fp) == EOF)
      return -1;
  return fputc ('"', fp) == EOF ? -1 : 0;
}

/* Formats the number V into BUF, or "" when !KNOWN.  Returns BUF. */
static const char *
api_csv_number (char *buf, size_t len, bool known, double v)
{
  if (!known)
    buf[0] = '\0';
  else
    snprintf (buf, len, "%.15g", v);
  return buf;
}

/* The columns of the CSV, in order. */
enum {
  CSV_ID,
  CSV_NAME,
  CSV_TYPE,
  CSV_STATUS,
  CSV_PERCENT,
  CSV_DONE,
  CSV_TOTAL,
  CSV_RATE,
  CSV_ETA,
  CSV_STALLED_SINCE,
  CSV_STARTED,
  CSV_COMPLETED,
  CSV_DURATION,
  CSV_AVERAGE,
  CSV_ERROR,
  CSV_COLUMNS
};

char *
oma_render_csv (const oma_job_vector *jobs, const size_t *idx, size_t n,
                int64_t now, double stale_after, size_t *ret_len)
{
  static const char header[] =
      "id,source_vm_name,replication_type,status,progress_percent,"
      "bytes_transferred,total_bytes,transfer_speed_bps,eta_seconds,"
      "stalled_since,started_at,completed_at,duration_seconds,"
      "average_rate_bps,error_message\r\n";
  char buf[CSV_COLUMNS][40];
  const char *cell[CSV_COLUMNS];
  char *text = NULL;
  size_t size = 0, i, c;
  bool bad = false;
  FILE *fp;

  fp = open_memstream (&text, &size);
  if (fp == NULL)
    return NULL;
  bad = fputs (header, fp) == EOF;
  for (i = 0; i < n && !bad; i++) {
    const struct oma_job *job = &jobs->ptr[idx[i]];
    struct oma_job_view v;

    oma_job_view (job, now, stale_after, &v);
    cell[CSV_ID] = job->id;
    cell[CSV_NAME] = job->source_vm_name;
    cell[CSV_TYPE] = job->replication_type;
    cell[CSV_STATUS] = job->status;
    cell[CSV_PERCENT] = api_csv_number (buf[CSV_PERCENT], sizeof *buf, true,
                                        job->progress_percent);
    cell[CSV_DONE] = api_csv_number (buf[CSV_DONE], sizeof *buf, true,
                                     (double)job->bytes_transferred);
    cell[CSV_TOTAL] = api_csv_number (buf[CSV_TOTAL], sizeof *buf, true,
                                      (double)job->total_bytes);
    cell[CSV_RATE] = api_csv_number (buf[CSV_RATE], sizeof *buf, v.has_rate,
                                     (double)v.rate_bps);
    cell[CSV_ETA] = api_csv_number (buf[CSV_ETA], sizeof *buf, v.has_eta,
                                    (double)v.eta_seconds);
    cell[CSV_STALLED_SINCE] =
        v.stalled_since ? cbt_format_utc ((double)v.stalled_since,
                                          buf[CSV_STALLED_SINCE], sizeof *buf)
                        : "";
    cell[CSV_STARTED] = job->started_at
                            ? cbt_format_utc ((double)job->started_at,
                                              buf[CSV_STARTED], sizeof *buf)
                            : "";
    cell[CSV_COMPLETED] =
        job->completed_at ? cbt_format_utc ((double)job->completed_at,
                                            buf[CSV_COMPLETED], sizeof *buf)
                          : "";
    cell[CSV_DURATION] =
        api_csv_number (buf[CSV_DURATION], sizeof *buf, v.has_duration,
                        (double)v.duration_seconds);
    cell[CSV_AVERAGE] = api_csv_number (buf[CSV_AVERAGE], sizeof *buf,
                                        v.has_average, v.average_rate_bps);
    cell[CSV_ERROR] = job->error_message;
    for (c = 0; c < CSV_COLUMNS && !bad; c++) {
      bad = oma_csv_cell (fp, cell[c]) == -1;
      if (!bad)
        bad = fputs (c + 1 < CSV_COLUMNS ? "," : "\r\n", fp) == EOF;
    }
  }
  bad |= ferror (fp) != 0;
  if (fclose (fp) != 0 || bad) {
    free (text);
    return NULL;
  }
  *ret_len = size;
  return text;
}

/* True when URL is PREFIX, or PREFIX (trailing slashes aside) followed by
 * "/" or "?".
 */
static bool
api_url_has_prefix (const char *url, const char *prefix)
{
  size_t n = strlen (prefix);

  while (n > 0 && prefix[n - 1] == '/')
    n--;
  return n > 0 && strncmp (url, prefix, n) == 0 &&
         (url[n] == '\0' || url[n] == '/' || url[n] == '?');
}

bool
oma_vma_url_allowed (const struct oma_vma_allow *allow, const char *url)
{
  char hostport[OMA_URL_MAX + 8];
  const char *auth, *end;
  size_t i, len;
  bool https;

  if (allow == NULL || !oma_vma_url_is_valid (url))
    return false;
  for (i = 0; i < allow->n_urls; i++)
    if (api_url_has_prefix (url, allow->urls[i]))
      return true;
  https = strncmp (url, "https://", 8) == 0;
  auth = url + (https ? 8 : 7);
  len = strcspn (auth, "/?#");
  end = memchr (auth, '@', len); /* user info is not part of the host */
  if (end != NULL) {
    len -= (size_t)(end + 1 - auth);
    auth = end + 1;
  }
  /* host:port, the scheme's port when none is given ("[v6]" kept). */
  end = auth[0] == '[' ? memchr (auth, ']', len) : auth;
  if (end != NULL && memchr (end, ':', len - (size_t)(end - auth)) != NULL)
    snprintf (hostport, sizeof hostport, "%.*s", (int)len, auth);
  else
    snprintf (hostport, sizeof hostport, "%.*s:%s", (int)len, auth,
              https ? "443" : "80");
  for (i = 0; i < allow->n_patterns; i++) {
    const char *pat = allow->patterns[i];

    if (strstr (pat, "://") != NULL) {
      if (api_url_has_prefix (url, pat))
        return true;
    } else if (fnmatch (pat, hostport, 0) == 0)
      return true;
  }
  return false;
}

bool
oma_vma_url_is_valid (const char *url)
{
  const char *host, *p;

  if (url == NULL || strlen (url) > OMA_URL_MAX)
    return false;
  if (strncmp (url, "http://", 7) == 0)
    host = url + 7;
  else if (strncmp (url, "https://", 8) == 0)
    host = url + 8;
  else
    return false;
  if (*host == '\0' || *host == '/' || *host == ':')
    return false;
  for (p = url; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
      return false;
  return true;
}

/* Reads one entry of "disks" into *D; -1 with a message. */
static int
parse_disk (const json_t *v, size_t i, struct oma_disk *d)
{
  const char *id = NULL;
  uint64_t cap = 0;

  memset (d, 0, sizeof *d);
  if (json_is_string (v))
    id = json_string_value (v);
  else if (json_is_object (v)) {
    if (cbt_json_get_string (v, "disk_id", CBT_ID_MAX + 1, &id) == -1 ||
        cbt_json_get_uint64 (v, "capacity_bytes", &cap) == -1)
      return -1;
  } else {
    cbt_set_error ("disks[%zu] must be a disk id or an object", i);
    return -1;
  }
  if (id == NULL || !cbt_id_is_valid (id)) {
    cbt_set_error ("disks[%zu]: the disk id must be 1-%d characters of "
                   "[A-Za-z0-9._:-]",
                   i, CBT_ID_MAX);
    return -1;
  }
  oma_copy_text (d->disk_id, sizeof d->disk_id, id);
  d->capacity_bytes = (int64_t)cap;
  d->eta_seconds = -1;
  oma_copy_text (d->sync_status, sizeof d->sync_status, "pending");
  return 0;
}

int
oma_parse_registration (const char *body, size_t len,
                        const char *default_vma_url, int64_t now,
                        struct oma_job *ret_job)
{
  const char *id = NULL, *name = NULL, *url = NULL, *type = NULL;
  json_t *root, *disks, *v;
  struct oma_job job;
  struct oma_disk d;
  size_t i, k;
  int r = -1;

  memset (&job, 0, sizeof job);
  root = cbt_json_parse_object (body, len);
  if (root == NULL)
    return -1;
  if (cbt_json_get_string (root, "id", CBT_ID_MAX + 1, &id) == -1 ||
      cbt_json_get_string (root, "source_vm_name", OMA_NAME_MAX, &name) ==
          -1 ||
      (name == NULL &&
       cbt_json_get_string (root, "vm_name", OMA_NAME_MAX, &name) == -1) ||
      cbt_json_get_string (root, "vma_url", OMA_URL_MAX, &url) == -1 ||
      cbt_json_get_string (root, "replication_type", OMA_WORD_MAX, &type) ==
          -1)
    goto out;
  if (id == NULL) {
    cbt_set_error ("id is required");
    goto out;
  }
  if (!cbt_id_is_valid (id)) {
    cbt_set_error ("id must be 1-%d characters of [A-Za-z0-9._:-]",
                   CBT_ID_MAX);
    goto out;
  }
  if (url == NULL)
    url = default_vma_url;
  if (url == NULL) {
    cbt_set_error ("vma_url is required (the OMA has no --vma default)");
    goto out;
  }
  if (!oma_vma_url_is_valid (url)) {
    cbt_set_error ("vma_url must be an http:// or https:// URL");
    goto out;
  }
  if (type != NULL && oma_map_sync_type (type)[0] == '\0') {
    cbt_set_error ("replication_type must be full or incremental");
    goto out;
  }

  oma_copy_text (job.id, sizeof job.id, id);
  oma_copy_text (job.source_vm_name, sizeof job.source_vm_name,
                 name && name[0] ? name : id);
  cbt_text_strip_controls (job.source_vm_name);
  oma_copy_text (job.vma_url, sizeof job.vma_url, url);
  oma_copy_text (job.replication_type, sizeof job.replication_type,
                 type ? oma_map_sync_type (type) : "full");
  oma_copy_text (job.status, sizeof job.status, "pending");
  job.eta_seconds = -1;
  job.created_at = job.updated_at = now;

  disks = json_object_get (root, "disks");
  if (disks != NULL && !json_is_null (disks)) {
    if (!json_is_array (disks)) {
      cbt_set_error ("disks must be an array");
      goto out;
    }
    if (json_array_size (disks) > OMA_MAX_DISKS) {
      cbt_set_error ("at most %d disks per job", OMA_MAX_DISKS);
      goto out;
    }
    json_array_foreach (disks, i, v)
    {
      if (parse_disk (v, i, &d) == -1)
        goto out;
      for (k = 0; k < job.disks.len; k++)
        if (strcmp (job.disks.ptr[k].disk_id, d.disk_id) == 0) {
          cbt_set_error ("disk '%s' is listed twice", d.disk_id);
          goto out;
        }
      d.updated_at = now;
      if (oma_disk_vector_append (&job.disks, d) == -1) {
        cbt_set_error_errno (errno, "disks");
        goto out;
      }
    }
  }
  *ret_job = job;
  r = 0;
out:
  if (r == -1)
    oma_job_reset (&job);
  json_decref (root);
  return r;
}

int
oma_parse_patch (const char *body, size_t len, struct oma_patch *ret_patch)
{
  struct oma_patch patch;
  const char *op = NULL;
  json_t *root;
  int r = -1, has_setup, has_op;

  memset (&patch, 0, sizeof patch);
  root = cbt_json_parse_object (body, len);
  if (root == NULL)
    return -1;
  has_setup = cbt_json_get_number (root, "setup_progress_percent", 0, 100,
                                   &patch.setup_progress_percent);
  if (has_setup == -1)
    goto out;
  has_op = cbt_json_get_string (root, "current_operation", OMA_NAME_MAX, &op);
  if (has_op == -1)
    goto out;
  if (!has_setup && !has_op) {
    cbt_set_error ("nothing to change: give setup_progress_percent or "
                   "current_operation");
    goto out;
  }
  patch.has_setup_progress = has_setup;
  patch.has_current_operation = has_op;
  if (op) {
    oma_copy_text (patch.current_operation, sizeof patch.current_operation,
                   op);
    cbt_text_strip_controls (patch.current_operation);
  }
  *ret_patch = patch;
  r = 0;
out:
  json_decref (root);
  return r;
}

json_t *
oma_render_vm_disks (const oma_job_vector *jobs, const char *vm)
{
  json_t *disks = json_array (), *seen = json_object ();
  size_t i, j;
  int failed = 0;

  for (i = 0; disks && seen && i < jobs->len; i++) {
    const struct oma_job *job = &jobs->ptr[i];

    if (strcmp (job->source_vm_name, vm) != 0)
      continue;
    for (j = 0; j < job->disks.len; j++) {
      const struct oma_disk *d = &job->disks.ptr[j];
      json_t *obj;

      if (strcmp (d->sync_status, "completed") != 0 || d->change_id[0] == 0 ||
          json_object_get (seen, d->disk_id) != NULL)
        continue;
      obj = json_object ();
      if (obj == NULL) {
        failed = 1;
        break;
      }
      cbt_json_set_counted (obj, "disk_id", json_string (d->disk_id), &failed);
      cbt_json_set_counted (obj, "change_id", json_string (d->change_id),
                            &failed);
      cbt_json_set_counted (obj, "job_id", json_string (job->id), &failed);
      cbt_json_set_counted (obj, "updated_at", render_time (d->updated_at),
                            &failed);
      if (json_array_append_new (disks, obj) == -1 ||
          json_object_set_new (seen, d->disk_id, json_true ()) == -1)
        failed = 1;
    }
  }
  json_decref (seen);
  if (disks == NULL || failed) {
    json_decref (disks);
    return NULL;
  }
  return json_pack ("{s:s,s:o}", "vm", vm, "disks", disks);
}

json_t *
oma_render_nodes (const struct oma_node *nodes, size_t n)
{
  json_t *list = json_array ();
  size_t i;

  for (i = 0; list && i < n; i++) {
    const struct oma_node *node = &nodes[i];
    json_t *obj = json_object ();
    int failed = 0;

    if (obj == NULL) {
      json_decref (list);
      return NULL;
    }
    cbt_json_set_counted (obj, "node_id", json_string (node->node_id),
                          &failed);
    cbt_json_set_counted (obj, "generation", json_integer (node->generation),
                          &failed);
    cbt_json_set_counted (obj, "heartbeat_at",
                          render_time (node->heartbeat_at), &failed);
    cbt_json_set_counted (obj, "started_at", render_time (node->started_at),
                          &failed);
    cbt_json_set_counted (obj, "alive", json_boolean (node->alive), &failed);
    cbt_json_set_counted (obj, "jobs", json_integer (node->jobs), &failed);
    if (failed || json_array_append_new (list, obj) == -1) {
      if (failed)
        json_decref (obj);
      json_decref (list);
      return NULL;
    }
  }
  if (list == NULL)
    return NULL;
  return json_pack ("{s:I,s:o}", "count", (json_int_t)n, "nodes", list);
}
