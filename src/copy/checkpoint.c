/* cbtrack copy - checkpoints: the I/O-free part (see checkpoint.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/error.h"
#include "common/jsonutil.h"
#include "copy/checkpoint.h"

/* The format's name and version, first in every file. */
#define CKPT_FORMAT "cbtrack-checkpoint"
#define CKPT_VERSION 1

/* The longest string field a checkpoint keeps (URIs, paths). */
#define CKPT_STRING_MAX 4096

int
checkpoint_done_add (ckpt_range_vector *set, uint64_t start, uint64_t end)
{
  size_t lo = 0, hi = set->len, first, last;

  if (start >= end)
    return 0;
  /* The first range that ends at or after START: everything before it
   * ends before START and neither overlaps nor touches.
   */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (set->ptr[mid].end < start)
      lo = mid + 1;
    else
      hi = mid;
  }
  first = lo;
  /* Ranges from FIRST that begin at or before END merge with the new one. */
  last = first;
  while (last < set->len && set->ptr[last].start <= end)
    last++;
  if (last == first) {
    /* Nothing to merge with: insert at FIRST. */
    if (ckpt_range_vector_reserve (set, 1) == -1) {
      cbt_set_error ("out of memory");
      return -1;
    }
    memmove (&set->ptr[first + 1], &set->ptr[first],
             (set->len - first) * sizeof set->ptr[0]);
    set->ptr[first] = (struct ckpt_range){ .start = start, .end = end };
    set->len++;
  } else {
    struct ckpt_range *r = &set->ptr[first];

    if (set->ptr[first].start < start)
      start = set->ptr[first].start;
    if (set->ptr[last - 1].end > end)
      end = set->ptr[last - 1].end;
    r->start = start;
    r->end = end;
    memmove (&set->ptr[first + 1], &set->ptr[last],
             (set->len - last) * sizeof set->ptr[0]);
    set->len -= last - first - 1;
  }
  return 0;
}

int
checkpoint_done_copy (const ckpt_range_vector *set, ckpt_range_vector *ret)
{
  ckpt_range_vector v = empty_vector;

  if (set->len > 0) {
    if (ckpt_range_vector_reserve (&v, set->len) == -1) {
      cbt_set_error ("out of memory");
      return -1;
    }
    memcpy (v.ptr, set->ptr, set->len * sizeof set->ptr[0]);
    v.len = set->len;
  }
  ckpt_range_vector_reset (ret);
  *ret = v;
  return 0;
}

/* The bytes of [START, END) that SET covers, walking SET from *CURSOR
 * (both lists sorted; *CURSOR only moves forward across calls made in
 * increasing order).
 */
static uint64_t
checkpoint_overlap (const ckpt_range_vector *set, size_t *cursor,
                    uint64_t start, uint64_t end)
{
  uint64_t n = 0;
  size_t i;

  while (*cursor < set->len && set->ptr[*cursor].end <= start)
    (*cursor)++;
  for (i = *cursor; i < set->len && set->ptr[i].start < end; i++) {
    uint64_t a = set->ptr[i].start > start ? set->ptr[i].start : start;
    uint64_t b = set->ptr[i].end < end ? set->ptr[i].end : end;

    if (b > a)
      n += b - a;
  }
  return n;
}

uint64_t
checkpoint_done_copy_bytes (const ckpt_range_vector *set,
                            const struct plan *plan)
{
  size_t i, cursor = 0;
  uint64_t n = 0;

  for (i = 0; i < plan->entries.len; i++) {
    const struct plan_entry *e = &plan->entries.ptr[i];

    if (e->action == PLAN_COPY)
      n += checkpoint_overlap (set, &cursor, e->offset, e->offset + e->length);
  }
  assert (n <= plan->transfer_bytes);
  return n;
}

bool
checkpoint_done_covers_plan (const ckpt_range_vector *set,
                             const struct plan *plan, bool target_is_zero)
{
  size_t i, cursor = 0;

  for (i = 0; i < plan->entries.len; i++) {
    const struct plan_entry *e = &plan->entries.ptr[i];

    if (e->action == PLAN_SKIP ||
        (e->action == PLAN_MAKE_ZERO && target_is_zero))
      continue;
    if (checkpoint_overlap (set, &cursor, e->offset, e->offset + e->length) !=
        e->length)
      return false;
  }
  return true;
}

/* A 128-bit hash for identities: two 64-bit FNV-1a lanes with different
 * primes and bases, each finished by the splitmix64 mixer.  Not
 * cryptographic: it tells plans apart, it does not defend against
 * someone forging one.
 */
struct ckpt_hash {
  uint64_t a, b;
};

static void
ckpt_hash_init (struct ckpt_hash *h)
{
  h->a = UINT64_C (0xcbf29ce484222325);
  h->b = UINT64_C (0x84222325cbf29ce4);
}

static void
ckpt_hash_bytes (struct ckpt_hash *h, const void *data, size_t len)
{
  const unsigned char *p = data;
  size_t i;

  for (i = 0; i < len; i++) {
    h->a = (h->a ^ p[i]) * UINT64_C (0x100000001b3);
    h->b = (h->b ^ p[i]) * UINT64_C (0x9e3779b97f4a7c15);
  }
}

static void
ckpt_hash_u64 (struct ckpt_hash *h, uint64_t v)
{
  unsigned char le[8];
  int i;

  for (i = 0; i < 8; i++)
    le[i] = (unsigned char)(v >> (8 * i));
  ckpt_hash_bytes (h, le, sizeof le);
}

static uint64_t
ckpt_mix (uint64_t z)
{
  z = (z ^ (z >> 30)) * UINT64_C (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static void
ckpt_hash_hex (const struct ckpt_hash *h, char ret[33])
{
  snprintf (ret, 33, "%016" PRIx64 "%016" PRIx64, ckpt_mix (h->a),
            ckpt_mix (h->b));
}

void
checkpoint_plan_hash (const struct plan *plan, char ret[33])
{
  struct ckpt_hash h;
  size_t i;

  ckpt_hash_init (&h);
  ckpt_hash_u64 (&h, plan->capacity);
  ckpt_hash_u64 (&h, plan->incremental);
  ckpt_hash_u64 (&h, plan->entries.len);
  for (i = 0; i < plan->entries.len; i++) {
    const struct plan_entry *e = &plan->entries.ptr[i];

    ckpt_hash_u64 (&h, e->offset);
    ckpt_hash_u64 (&h, e->length);
    ckpt_hash_u64 (&h, (uint64_t)e->action);
  }
  ckpt_hash_hex (&h, ret);
}

void
checkpoint_text_hash (const void *data, size_t len, char ret[33])
{
  struct ckpt_hash h;

  ckpt_hash_init (&h);
  ckpt_hash_bytes (&h, data, len);
  ckpt_hash_hex (&h, ret);
}

const char *
checkpoint_mismatch (const struct ckpt_identity *saved,
                     const struct ckpt_identity *now)
{
  if (strcmp (saved->source, now->source) != 0)
    return "another source";
  if (saved->source_size != now->source_size)
    return "a source of another size";
  if (saved->sync_type != now->sync_type)
    return "another sync type";
  if (strcmp (saved->bitmap, now->bitmap) != 0)
    return "another bitmap";
  if (strcmp (saved->changed_areas_hash, now->changed_areas_hash) != 0)
    return "another changed-area list";
  if (strcmp (saved->change_id, now->change_id) != 0)
    return "another changeId";
  if (strcmp (saved->plan_hash, now->plan_hash) != 0 ||
      saved->total_bytes != now->total_bytes)
    return "another plan (the source's data or maps changed)";
  if (strcmp (saved->target, now->target) != 0)
    return "another target";
  if (saved->target_size != now->target_size ||
      strcmp (saved->target_file, now->target_file) != 0)
    return "another target (it was replaced or resized)";
  return NULL;
}

char *
checkpoint_encode (const struct checkpoint *cp)
{
  const struct ckpt_identity *id = &cp->id;
  json_t *o = json_object (), *done = json_array ();
  char *text = NULL, *line = NULL;
  int failed = 0;
  size_t i, len;

  if (o == NULL || done == NULL) {
    json_decref (o);
    json_decref (done);
    return NULL;
  }
  for (i = 0; i < cp->done.len; i++) {
    json_t *pair = json_pack ("[II]", (json_int_t)cp->done.ptr[i].start,
                              (json_int_t)cp->done.ptr[i].end);

    if (pair == NULL || json_array_append_new (done, pair) == -1)
      failed++;
  }
  cbt_json_set_counted (o, "format", json_string (CKPT_FORMAT), &failed);
  cbt_json_set_counted (o, "version", json_integer (CKPT_VERSION), &failed);
  cbt_json_set_counted (o, "job_id", json_string (cp->job_id), &failed);
  cbt_json_set_counted (o, "disk_id", json_string (cp->disk_id), &failed);
  cbt_json_set_counted (o, "source", json_string (id->source), &failed);
  cbt_json_set_counted (o, "source_size",
                        json_integer ((json_int_t)id->source_size), &failed);
  cbt_json_set_counted (o, "target", json_string (id->target), &failed);
  cbt_json_set_counted (o, "target_size",
                        json_integer ((json_int_t)id->target_size), &failed);
  cbt_json_set_counted (o, "target_file", json_string (id->target_file),
                        &failed);
  cbt_json_set_counted (o, CBT_FIELD_SYNC_TYPE,
                        json_string (cbt_sync_type_name (id->sync_type)),
                        &failed);
  cbt_json_set_counted (o, "bitmap", json_string (id->bitmap), &failed);
  cbt_json_set_counted (o, "changed_areas_hash",
                        json_string (id->changed_areas_hash), &failed);
  cbt_json_set_counted (o, "change_id", json_string (id->change_id), &failed);
  cbt_json_set_counted (o, "plan_hash", json_string (id->plan_hash), &failed);
  cbt_json_set_counted (o, CBT_FIELD_TOTAL_BYTES,
                        json_integer ((json_int_t)id->total_bytes), &failed);
  cbt_json_set_counted (o, "target_is_zero", json_boolean (cp->target_is_zero),
                        &failed);
  cbt_json_set_counted (o, "completed", json_boolean (cp->completed), &failed);
  cbt_json_set_counted (o, "done_bytes",
                        json_integer ((json_int_t)cp->done_bytes), &failed);
  cbt_json_set_counted (o, "done", done, &failed);
  if (failed == 0)
    text = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (o);
  if (text == NULL)
    return NULL;
  len = strlen (text);
  line = malloc (len + 2);
  if (line) {
    memcpy (line, text, len);
    line[len] = '\n';
    line[len + 1] = '\0';
  }
  free (text);
  return line;
}

/* Reads the string KEY of OBJ into a new string *RET (absent: error). */
static int
checkpoint_get_string (const json_t *obj, const char *key, char **ret)
{
  const char *s;
  char *copy;
  int r = cbt_json_get_string (obj, key, CKPT_STRING_MAX, &s);

  if (r == 0)
    cbt_set_error ("\"%s\" is missing", key);
  if (r != 1)
    return -1;
  copy = strdup (s);
  if (copy == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  *ret = copy;
  return 0;
}

/* Reads the integer KEY of OBJ (absent: error). */
static int
checkpoint_get_u64 (const json_t *obj, const char *key, uint64_t *ret)
{
  int r = cbt_json_get_uint64 (obj, key, ret);

  if (r == 0)
    cbt_set_error ("\"%s\" is missing", key);
  return r == 1 ? 0 : -1;
}

/* Reads the boolean KEY of OBJ (absent: error). */
static int
checkpoint_get_bool (const json_t *obj, const char *key, bool *ret)
{
  int v, r = cbt_json_get_bool (obj, key, &v);

  if (r == 0)
    cbt_set_error ("\"%s\" is missing", key);
  if (r != 1)
    return -1;
  *ret = v != 0;
  return 0;
}

/* Reads the done ranges: sorted, disjoint, non-empty, inside the source. */
static int
checkpoint_get_done (const json_t *obj, uint64_t size, ckpt_range_vector *ret)
{
  const json_t *arr = json_object_get (obj, "done");
  ckpt_range_vector v = empty_vector;
  size_t i;

  if (!json_is_array (arr)) {
    cbt_set_error ("\"done\" must be an array");
    return -1;
  }
  for (i = 0; i < json_array_size (arr); i++) {
    const json_t *pair = json_array_get (arr, i);
    json_int_t a, b;

    if (!json_is_array (pair) || json_array_size (pair) != 2 ||
        !json_is_integer (json_array_get (pair, 0)) ||
        !json_is_integer (json_array_get (pair, 1))) {
      cbt_set_error ("done[%zu] must be [start, end]", i);
      goto err;
    }
    a = json_integer_value (json_array_get (pair, 0));
    b = json_integer_value (json_array_get (pair, 1));
    if (a < 0 || b <= a || (uint64_t)b > size ||
        (v.len > 0 && (uint64_t)a <= v.ptr[v.len - 1].end)) {
      cbt_set_error ("done[%zu] is not a sorted, disjoint range inside the"
                     " source",
                     i);
      goto err;
    }
    if (ckpt_range_vector_append (
            &v, (struct ckpt_range){ .start = (uint64_t)a,
                                     .end = (uint64_t)b }) == -1) {
      cbt_set_error ("out of memory");
      goto err;
    }
  }
  *ret = v;
  return 0;
err:
  ckpt_range_vector_reset (&v);
  return -1;
}

int
checkpoint_decode (const char *text, size_t len, struct checkpoint *ret)
{
  struct checkpoint cp = { .owned = true };
  char *source = NULL, *target = NULL, *target_file = NULL, *sync = NULL;
  char *bitmap = NULL, *cah = NULL, *change_id = NULL, *plan_hash = NULL;
  char *job_id = NULL, *disk_id = NULL, *format = NULL;
  uint64_t version;
  json_t *o = cbt_json_parse_object (text, len);
  int ret_code = -1;

  if (o == NULL)
    return -1;
  if (checkpoint_get_string (o, "format", &format) == -1 ||
      strcmp (format, CKPT_FORMAT) != 0) {
    cbt_set_error ("not a cbtrack checkpoint");
    goto out;
  }
  if (checkpoint_get_u64 (o, "version", &version) == -1)
    goto out;
  if (version != CKPT_VERSION) {
    cbt_set_error ("checkpoint version %" PRIu64 " is not supported", version);
    goto out;
  }
  if (checkpoint_get_string (o, "job_id", &job_id) == -1 ||
      checkpoint_get_string (o, "disk_id", &disk_id) == -1 ||
      checkpoint_get_string (o, "source", &source) == -1 ||
      checkpoint_get_u64 (o, "source_size", &cp.id.source_size) == -1 ||
      checkpoint_get_string (o, "target", &target) == -1 ||
      checkpoint_get_u64 (o, "target_size", &cp.id.target_size) == -1 ||
      checkpoint_get_string (o, "target_file", &target_file) == -1 ||
      checkpoint_get_string (o, CBT_FIELD_SYNC_TYPE, &sync) == -1 ||
      checkpoint_get_string (o, "bitmap", &bitmap) == -1 ||
      checkpoint_get_string (o, "changed_areas_hash", &cah) == -1 ||
      checkpoint_get_string (o, "change_id", &change_id) == -1 ||
      checkpoint_get_string (o, "plan_hash", &plan_hash) == -1 ||
      checkpoint_get_u64 (o, CBT_FIELD_TOTAL_BYTES, &cp.id.total_bytes) ==
          -1 ||
      checkpoint_get_bool (o, "target_is_zero", &cp.target_is_zero) == -1 ||
      checkpoint_get_bool (o, "completed", &cp.completed) == -1 ||
      checkpoint_get_u64 (o, "done_bytes", &cp.done_bytes) == -1)
    goto out;
  if (cbt_sync_type_parse (sync, &cp.id.sync_type) == -1) {
    cbt_set_error ("unknown sync_type \"%s\"", sync);
    goto out;
  }
  if (strlen (plan_hash) >= sizeof cp.id.plan_hash ||
      strlen (target_file) >= sizeof cp.id.target_file) {
    cbt_set_error ("plan_hash or target_file is too long");
    goto out;
  }
  if (cp.done_bytes > cp.id.total_bytes ||
      cp.id.total_bytes > cp.id.source_size) {
    cbt_set_error ("done_bytes or total_bytes out of range");
    goto out;
  }
  if (checkpoint_get_done (o, cp.id.source_size, &cp.done) == -1)
    goto out;
  memcpy (cp.id.plan_hash, plan_hash, strlen (plan_hash) + 1);
  memcpy (cp.id.target_file, target_file, strlen (target_file) + 1);
  cp.id.source = source;
  cp.id.target = target;
  cp.id.bitmap = bitmap;
  cp.id.changed_areas_hash = cah;
  cp.id.change_id = change_id;
  cp.job_id = job_id;
  cp.disk_id = disk_id;
  source = target = bitmap = cah = change_id = job_id = disk_id = NULL;
  *ret = cp;
  ret_code = 0;
out:
  json_decref (o);
  free (format);
  free (source);
  free (target);
  free (target_file);
  free (sync);
  free (bitmap);
  free (cah);
  free (change_id);
  free (plan_hash);
  free (job_id);
  free (disk_id);
  return ret_code;
}

void
checkpoint_clear (struct checkpoint *cp)
{
  if (cp == NULL)
    return;
  if (cp->owned) {
    free ((char *)cp->id.source);
    free ((char *)cp->id.target);
    free ((char *)cp->id.bitmap);
    free ((char *)cp->id.changed_areas_hash);
    free ((char *)cp->id.change_id);
    free ((char *)cp->job_id);
    free ((char *)cp->disk_id);
  }
  ckpt_range_vector_reset (&cp->done);
  memset (cp, 0, sizeof *cp);
}

const char *
checkpoint_file_name (const char *job_id, const char *disk_id,
                      const char *source, const char *target, char *buf,
                      size_t len)
{
  char hash[33];
  struct ckpt_hash h;

  ckpt_hash_init (&h);
  ckpt_hash_bytes (&h, source, strlen (source) + 1);
  ckpt_hash_bytes (&h, target, strlen (target) + 1);
  ckpt_hash_hex (&h, hash);
  hash[16] = '\0';
  if (job_id && disk_id)
    snprintf (buf, len, "%s--%s.checkpoint", job_id, disk_id);
  else if (job_id)
    snprintf (buf, len, "%s--%s.checkpoint", job_id, hash);
  else
    snprintf (buf, len, "copy-%s.checkpoint", hash);
  return buf;
}

int
checkpoint_default_dir (char *buf, size_t len)
{
  const char *xdg = getenv ("XDG_STATE_HOME");
  const char *home = getenv ("HOME");

  if (xdg && xdg[0] == '/')
    snprintf (buf, len, "%s/cbtrack", xdg);
  else if (geteuid () == 0)
    snprintf (buf, len, "/var/lib/cbtrack");
  else if (home && home[0] == '/')
    snprintf (buf, len, "%s/.local/state/cbtrack", home);
  else {
    cbt_set_error ("no state directory: set HOME or XDG_STATE_HOME, or give"
                   " --state-dir DIR");
    return -1;
  }
  return 0;
}
