/* cbtrack oma - the JSON API's decisions, free of I/O. */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "common/error.h"
#include "common/ids.h"
#include "common/jsonutil.h"
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

static json_t *
render_disk (const struct oma_disk *d)
{
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

json_t *
oma_render_job (const struct oma_job *job, bool with_history)
{
  json_t *obj = json_object (), *disks = json_array (), *history = NULL;
  int failed = 0;
  size_t i;

  if (obj == NULL || disks == NULL)
    goto oom;
  cbt_json_set_counted (obj, "id", json_string (job->id), &failed);
  cbt_json_set_counted (obj, "source_vm_name",
                        json_string (job->source_vm_name), &failed);
  cbt_json_set_counted (obj, "replication_type",
                        json_string (job->replication_type), &failed);
  cbt_json_set_counted (obj, "status", json_string (job->status), &failed);
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
                        json_integer (job->transfer_speed_bps), &failed);
  cbt_json_set_counted (obj, "eta_seconds",
                        job->eta_seconds < 0 ? json_null ()
                                             : json_integer (job->eta_seconds),
                        &failed);
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
    if (json_array_append_new (disks, render_disk (&job->disks.ptr[i])) == -1)
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
