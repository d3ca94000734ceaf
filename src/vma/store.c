/* cbtrack vma - the in-memory job store.
 *
 * Jobs live in a chained hash table keyed by id (for updates and GETs)
 * and on a doubly-linked list in creation order (for listing newest first
 * and for expiry).  One mutex guards everything: an update holds it for a
 * lookup and a few stores, which is far shorter than parsing the request,
 * and parsing happens before the lock is taken.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "vma/store.h"

#define VMA_STORE_INITIAL_BUCKETS 1024

struct vma_store {
  pthread_mutex_t lock;
  struct vma_store_limits limits;
  struct vma_job **buckets;
  size_t nr_buckets; /* a power of two */
  struct vma_job *newest, *oldest;
  struct vma_store_stats stats;
  uint64_t version; /* the change counter: bumped by every update */
};

/* FNV-1a: short ids, no adversary advantage worth a keyed hash here
 * because chains are bounded by the job limit and the table grows.
 */
static uint64_t
vma_store_hash (const char *s)
{
  uint64_t h = UINT64_C (14695981039346656037);

  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= UINT64_C (1099511628211);
  }
  return h;
}

struct vma_store *
vma_store_create (const struct vma_store_limits *limits)
{
  struct vma_store *store;

  store = calloc (1, sizeof *store);
  if (store == NULL)
    goto oom;
  store->nr_buckets = VMA_STORE_INITIAL_BUCKETS;
  store->buckets = calloc (store->nr_buckets, sizeof *store->buckets);
  if (store->buckets == NULL)
    goto oom;
  if (limits != NULL)
    store->limits = *limits;
  if (store->limits.max_jobs == 0)
    store->limits.max_jobs = VMA_DEFAULT_MAX_JOBS;
  if (store->limits.max_disks == 0)
    store->limits.max_disks = VMA_DEFAULT_MAX_DISKS;
  if (!(store->limits.job_ttl > 0))
    store->limits.job_ttl = VMA_DEFAULT_JOB_TTL;
  if (store->limits.max_memory == 0)
    store->limits.max_memory = VMA_DEFAULT_MAX_MEMORY;
  if (!(store->limits.sender_lease > 0))
    store->limits.sender_lease = VMA_DEFAULT_SENDER_LEASE;
  pthread_mutex_init (&store->lock, NULL);
  return store;

oom:
  if (store != NULL)
    free (store->buckets);
  free (store);
  cbt_set_error ("out of memory");
  return NULL;
}

static void
vma_job_free (struct vma_job *job)
{
  size_t i;

  if (job == NULL)
    return;
  for (i = 0; i < job->disks.len; i++)
    free (job->disks.ptr[i].rec.error_message);
  vma_disk_vector_reset (&job->disks);
  free (job->own.error_message);
  free (job);
}

void
vma_store_free (struct vma_store *store)
{
  struct vma_job *job, *next;

  if (store == NULL)
    return;
  for (job = store->newest; job != NULL; job = next) {
    next = job->older;
    vma_job_free (job);
  }
  free (store->buckets);
  pthread_mutex_destroy (&store->lock);
  free (store);
}

static struct vma_job *
vma_store_lookup (struct vma_store *store, const char *id)
{
  struct vma_job *job;

  job = store->buckets[vma_store_hash (id) & (store->nr_buckets - 1)];
  for (; job != NULL; job = job->hash_next)
    if (strcmp (job->id, id) == 0)
      return job;
  return NULL;
}

/* Doubles the table when it is fuller than one job per bucket.  A failed
 * allocation only leaves the chains longer.
 */
static void
vma_store_maybe_grow (struct vma_store *store)
{
  struct vma_job **nb, *job;
  size_t n = store->nr_buckets * 2, i;

  if (store->stats.jobs <= store->nr_buckets)
    return;
  nb = calloc (n, sizeof *nb);
  if (nb == NULL)
    return;
  for (job = store->newest; job != NULL; job = job->older) {
    i = vma_store_hash (job->id) & (n - 1);
    job->hash_next = nb[i];
    nb[i] = job;
  }
  free (store->buckets);
  store->buckets = nb;
  store->nr_buckets = n;
}

size_t
vma_job_bytes (const struct vma_job *job)
{
  size_t n = sizeof *job + job->disks.cap * sizeof (struct vma_disk), i;

  if (job->own.error_message)
    n += strlen (job->own.error_message) + 1;
  for (i = 0; i < job->disks.len; i++)
    if (job->disks.ptr[i].rec.error_message)
      n += strlen (job->disks.ptr[i].rec.error_message) + 1;
  return n;
}

static void
vma_store_unlink (struct vma_store *store, struct vma_job *job)
{
  struct vma_job **pp;

  assert (store->stats.bytes >= vma_job_bytes (job));
  store->stats.bytes -= vma_job_bytes (job);

  pp = &store->buckets[vma_store_hash (job->id) & (store->nr_buckets - 1)];
  while (*pp != job)
    pp = &(*pp)->hash_next;
  *pp = job->hash_next;
  if (job->newer)
    job->newer->older = job->older;
  else
    store->newest = job->older;
  if (job->older)
    job->older->newer = job->newer;
  else
    store->oldest = job->newer;
  store->stats.jobs--;
  store->stats.disks -= job->disks.len;
}

/* Merges the fields UPDATE gives into REC (a copy: the caller commits or
 * drops it).  The error message is not touched here: its ownership is
 * the caller's business.
 */
static void
vma_record_merge (struct vma_record *rec, const struct cbt_update *u)
{
  if (u->has & CBT_HAS_STAGE)
    memcpy (rec->stage, u->stage, sizeof rec->stage);
  if (u->has & CBT_HAS_SYNC_TYPE)
    rec->sync_type = u->sync_type;
  if (u->has & CBT_HAS_BYTES_TRANSFERRED)
    rec->bytes_transferred = u->bytes_transferred;
  if (u->has & CBT_HAS_RESUMED_BYTES)
    rec->resumed_bytes = u->resumed_bytes;
  if (u->has & CBT_HAS_TOTAL_BYTES)
    rec->total_bytes = u->total_bytes;
  if (u->has & CBT_HAS_THROUGHPUT)
    rec->throughput_bps = u->throughput_bps;
  if (u->has & CBT_HAS_ETA)
    rec->eta_seconds = u->eta_seconds;
  if (u->has & CBT_HAS_BYTES_WRITTEN)
    rec->bytes_written = u->bytes_written;
  if (u->has & CBT_HAS_BYTES_ZERO_SKIPPED)
    rec->bytes_zero_skipped = u->bytes_zero_skipped;
  if (u->has & CBT_HAS_CAPACITY)
    rec->capacity_bytes = u->capacity_bytes;
  if (u->has & CBT_HAS_STALLED) {
    rec->stalled = u->stalled;
    rec->stalled_seconds = u->stalled_seconds;
  }
  if (u->has & CBT_HAS_CHANGE_ID)
    memcpy (rec->change_id, u->change_id, sizeof rec->change_id);
  if (u->has & CBT_HAS_WARNING)
    memcpy (rec->warning, u->warning, sizeof rec->warning);
  if (u->has & CBT_HAS_STATUS)
    rec->status = u->status;
  else if (rec->status == CBT_STATUS_QUEUED && rec->bytes_transferred > 0)
    /* A sender that never names a status is running once bytes move. */
    rec->status = CBT_STATUS_IN_PROGRESS;
  if (u->sender_id[0] != '\0')
    memcpy (rec->sender_id, u->sender_id, sizeof rec->sender_id);
  rec->has |= u->has;
}

/* Whether update U may change TARGET (an existing record of the job
 * named WHAT) at NOW_MONO; see vma_store_apply_update for the rules.
 * Returns 1 when it may, 0 when it repeats TARGET's final status (accept,
 * change nothing), or -EBUSY / -EALREADY with a message recorded.
 */
static int
vma_record_may_change (const struct vma_store *store,
                       const struct vma_record *target,
                       const struct cbt_update *u, const char *what,
                       double now_mono)
{
  double age = now_mono - target->updated_mono;

  /* A record that is completed or failed has no live sender: its last
   * one ended its run, so a new run (the same command again, right after
   * a cancel or a SIGTERM) need not wait for the lease.
   */
  if (u->sender_id[0] != '\0' && target->sender_id[0] != '\0' &&
      cbt_status_is_running (target->status) &&
      strcmp (u->sender_id, target->sender_id) != 0 &&
      age < store->limits.sender_lease) {
    cbt_set_error ("%s is being reported by another sender (its last "
                   "update %.0f s ago); a second sender is refused until "
                   "the first has been silent for %g s",
                   what, age, store->limits.sender_lease);
    return -EBUSY;
  }
  if (cbt_status_is_running (target->status) || u->new_run)
    return 1;
  if ((u->has & CBT_HAS_STATUS) && u->status == target->status)
    return 0;
  cbt_set_error ("%s is %s, which is final; a new sync of it must start a "
                 "new run (\"" CBT_FIELD_NEW_RUN "\": true)",
                 what, cbt_status_name (target->status));
  return -EALREADY;
}

int
vma_store_apply_update (struct vma_store *store, const char *job_id,
                        const struct cbt_update *u, double now_mono,
                        double now_wall)
{
  return vma_store_apply_update_noting (store, job_id, u, now_mono, now_wall,
                                        NULL);
}

/* Fills T with JOB's state after an update; BEFORE is its status before
 * (when not T->created).
 */
static void
vma_store_note (const struct vma_job *job, enum cbt_status before,
                struct vma_transition *t)
{
  struct cbt_progress p;

  vma_job_progress (job, &p);
  t->before = before;
  t->after = p.status;
  t->changed = t->created || before != p.status;
  t->bytes_transferred = p.bytes_transferred;
  t->total_bytes = p.total_bytes;
  t->elapsed_seconds = job->updated_wall - job->started_wall;
  snprintf (t->error_message, sizeof t->error_message, "%s",
            p.error_message ? p.error_message : "");
  snprintf (t->error_disk, sizeof t->error_disk, "%s",
            p.error_disk ? p.error_disk : "");
}

int
vma_store_apply_update_noting (struct vma_store *store, const char *job_id,
                               const struct cbt_update *u, double now_mono,
                               double now_wall, struct vma_transition *ret_t)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  struct vma_transition t = { 0 };
  enum cbt_status before = CBT_STATUS_QUEUED;
  struct vma_job *job, *new_job = NULL;
  struct vma_disk *disk = NULL, new_disk;
  struct vma_record rec, *target;
  char *error_message = NULL, *old_error = NULL;
  bool restarts = false;
  size_t old_bytes;

  if (!cbt_id_is_valid (job_id)) {
    cbt_set_error ("invalid job id: ids are 1-128 characters of "
                   "[A-Za-z0-9._:-]");
    return -EINVAL;
  }

  job = vma_store_lookup (store, job_id);
  if (job != NULL && (ret_t != NULL || job->cancel_requested)) {
    struct cbt_progress p;

    vma_job_progress (job, &p);
    before = p.status;
  }
  if (job == NULL && store->stats.jobs >= store->limits.max_jobs) {
    cbt_set_error ("the service already holds %zu jobs (its limit); retry "
                   "after finished jobs expire, or DELETE some",
                   store->stats.jobs);
    return -ENOSPC;
  }

  /* Find the record the update is for; a new one starts from zero. */
  memset (&rec, 0, sizeof rec);
  target = NULL;
  if (u->disk_id[0] != '\0') {
    if (job != NULL) {
      size_t i;
      for (i = 0; i < job->disks.len; i++)
        if (strcmp (job->disks.ptr[i].id, u->disk_id) == 0) {
          disk = &job->disks.ptr[i];
          break;
        }
    }
    if (disk == NULL && job != NULL &&
        job->disks.len >= store->limits.max_disks) {
      cbt_set_error ("job already has %zu disks (the limit per job)",
                     job->disks.len);
      return -E2BIG;
    }
    if (disk != NULL)
      target = &disk->rec;
  } else if (job != NULL)
    target = &job->own;
  if (target != NULL) {
    char what[CBT_ID_MAX + 16];
    int may;

    if (disk != NULL)
      snprintf (what, sizeof what, "disk %s", disk->id);
    else
      snprintf (what, sizeof what, "job %s", job->id);
    may = vma_record_may_change (store, target, u, what, now_mono);
    if (may < 0)
      return may;
    if (may == 0) {
      /* Accepted and ignored (a repeat of a final state): no change. */
      if (ret_t != NULL)
        *ret_t = t;
      return 0;
    }
    if (u->new_run) {
      old_error = target->error_message; /* freed at the commit */
      /* A new run of a final record, or one from another sender (the
       * copier that reported it before was killed), is the job's next
       * run; the same sender repeating its first update is not.
       */
      restarts = !cbt_status_is_running (target->status) ||
                 strcmp (u->sender_id, target->sender_id) != 0;
    } else
      rec = *target;
  }

  vma_record_merge (&rec, u);
  if (rec.bytes_transferred > rec.total_bytes) {
    cbt_set_error ("bytes_transferred (%" PRIu64 ") exceeds total_bytes "
                   "(%" PRIu64 ")",
                   rec.bytes_transferred, rec.total_bytes);
    return -EINVAL;
  }

  /* Job sums are sent as JSON integers: keep them in range. */
  if (job != NULL && u->disk_id[0] != '\0') {
    uint64_t sum = rec.total_bytes;
    size_t i;
    /* Each term is at most INT64_MAX, so checking after every addition
     * catches the overflow before uint64_t could wrap.
     */
    for (i = 0; i < job->disks.len && sum <= INT64_MAX; i++)
      if (&job->disks.ptr[i] != disk)
        sum += job->disks.ptr[i].rec.total_bytes;
    if (sum > INT64_MAX) {
      cbt_set_error ("the job's total_bytes would exceed %" PRId64, INT64_MAX);
      return -EINVAL;
    }
  }

  /* The memory the update adds: a new job, a new disk (the vector may
   * double), a longer error message.
   */
  {
    size_t grow = 0, old_len = 0;

    if (job == NULL)
      grow += sizeof *job;
    if (u->disk_id[0] != '\0' && disk == NULL) {
      size_t cap = job ? job->disks.cap : 0;

      grow += (cap > 0 && job->disks.len < cap ? 0 : (cap ? cap : 4)) *
              sizeof (struct vma_disk);
    }
    if (target != NULL && target->error_message != NULL)
      old_len = strlen (target->error_message) + 1;
    if ((u->has & CBT_HAS_ERROR_MESSAGE) && u->error_message[0] != '\0' &&
        strlen (u->error_message) + 1 > old_len)
      grow += strlen (u->error_message) + 1 - old_len;
    if (grow > 0 && store->stats.bytes + grow > store->limits.max_memory) {
      cbt_set_error ("the service's jobs would take more than %zu bytes "
                     "(its --max-memory); retry after finished jobs "
                     "expire, or DELETE some",
                     store->limits.max_memory);
      return -ENOSPC;
    }
  }

  /* Allocate everything before changing anything. */
  if (u->has & CBT_HAS_ERROR_MESSAGE && u->error_message[0] != '\0') {
    error_message = strdup (u->error_message);
    if (error_message == NULL)
      goto oom;
  }
  if (job == NULL) {
    new_job = calloc (1, sizeof *new_job);
    if (new_job == NULL)
      goto oom;
    memcpy (new_job->id, job_id, strlen (job_id) + 1);
    new_job->started_wall = now_wall;
    new_job->run = 1;
    new_job->run_started_mono = now_mono;
    job = new_job;
  }
  /* Counted before the reserve below may grow the disks' vector. */
  old_bytes = new_job == NULL ? vma_job_bytes (job) : 0;
  if (u->disk_id[0] != '\0' && disk == NULL &&
      vma_disk_vector_reserve (&job->disks, 1) == -1)
    goto oom;

  /* Commit. */
  assert (store->stats.bytes >= old_bytes);
  store->stats.bytes -= old_bytes;
  free (old_error);
  if (u->has & CBT_HAS_ERROR_MESSAGE) {
    free (rec.error_message);
    rec.error_message = error_message;
  }
  rec.updated_mono = now_mono;
  rec.updated_wall = now_wall;
  if (u->disk_id[0] != '\0' && disk == NULL) {
    memset (&new_disk, 0, sizeof new_disk);
    memcpy (new_disk.id, u->disk_id, strlen (u->disk_id) + 1);
    new_disk.rec = rec;
    vma_disk_vector_append (&job->disks, new_disk);
    store->stats.disks++;
  } else if (disk != NULL)
    disk->rec = rec;
  else
    job->own = rec;
  job->updated_mono = now_mono;
  job->updated_wall = now_wall;
  if (restarts) {
    job->run++;
    job->run_started_mono = now_mono;
  }
  job->changed = ++store->version;
  store->stats.bytes += vma_job_bytes (job);

  if (new_job != NULL) {
    size_t i = vma_store_hash (job->id) & (store->nr_buckets - 1);
    job->hash_next = store->buckets[i];
    store->buckets[i] = job;
    job->older = store->newest;
    if (store->newest)
      store->newest->newer = job;
    else
      store->oldest = job;
    store->newest = job;
    store->stats.jobs++;
    store->stats.jobs_created++;
    vma_store_maybe_grow (store);
  }
  store->stats.updates++;
  /* The same command run again after a cancel starts a new run. */
  if (job->cancel_requested && u->new_run && new_job == NULL &&
      !cbt_status_is_running (before))
    job->cancel_requested = false;
  if (ret_t != NULL) {
    t.created = new_job != NULL;
    t.cancel = job->cancel_requested;
    vma_store_note (job, before, &t);
    *ret_t = t;
  }
  return 0;

oom:
  if (new_job != NULL)
    vma_job_free (new_job);
  free (error_message);
  cbt_set_error ("out of memory");
  return -ENOMEM;
}

int
vma_store_cancel (struct vma_store *store, const char *job_id)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  struct vma_job *job = vma_store_lookup (store, job_id);
  struct cbt_progress p;

  if (job == NULL) {
    cbt_set_error ("no such job");
    return -ENOENT;
  }
  vma_job_progress (job, &p);
  if (!cbt_status_is_running (p.status)) {
    cbt_set_error ("the job is %s already", cbt_status_name (p.status));
    return -EALREADY;
  }
  job->cancel_requested = true;
  return 0;
}

int
vma_store_delete (struct vma_store *store, const char *job_id)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  struct vma_job *job = vma_store_lookup (store, job_id);

  if (job == NULL) {
    cbt_set_error ("no such job");
    return -ENOENT;
  }
  vma_store_unlink (store, job);
  vma_job_free (job);
  store->stats.jobs_deleted++;
  return 0;
}

size_t
vma_store_expire (struct vma_store *store, double now_mono)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  struct vma_job *job, *older;
  struct cbt_progress agg;
  size_t n = 0;

  for (job = store->newest; job != NULL; job = older) {
    older = job->older;
    if (now_mono - job->updated_mono < store->limits.job_ttl)
      continue;
    /* Finished is worked out here, for old jobs only, not on every update. */
    vma_job_progress (job, &agg);
    if (agg.status == CBT_STATUS_COMPLETED ||
        agg.status == CBT_STATUS_FAILED) {
      vma_store_unlink (store, job);
      vma_job_free (job);
      n++;
    }
  }
  store->stats.jobs_expired += n;
  return n;
}

int
vma_store_visit_job (struct vma_store *store, const char *job_id,
                     int (*fn) (const struct vma_job *job, void *opaque),
                     void *opaque)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  struct vma_job *job = vma_store_lookup (store, job_id);

  if (job == NULL) {
    cbt_set_error ("no such job");
    return -ENOENT;
  }
  return fn (job, opaque);
}

int
vma_store_visit_all (struct vma_store *store,
                     int (*fn) (const struct vma_job *job, void *opaque),
                     void *opaque, struct vma_store_stats *stats)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  struct vma_job *job;
  int r;

  if (stats != NULL)
    *stats = store->stats;
  for (job = store->newest; job != NULL; job = job->older) {
    r = fn (job, opaque);
    if (r != 0)
      return r;
  }
  return 0;
}

void
vma_store_snapshot_free (struct vma_job *jobs, size_t n)
{
  size_t i, j;

  if (jobs == NULL)
    return;
  for (i = 0; i < n; i++) {
    for (j = 0; j < jobs[i].disks.len; j++)
      free (jobs[i].disks.ptr[j].rec.error_message);
    vma_disk_vector_reset (&jobs[i].disks);
    free (jobs[i].own.error_message);
  }
  free (jobs);
}

/* Copies the error message of *REC in place.  Returns 0 or -ENOMEM (the
 * pointer is then NULL).
 */
static int
vma_record_dup_error (struct vma_record *rec)
{
  if (rec->error_message == NULL)
    return 0;
  rec->error_message = strdup (rec->error_message);
  return rec->error_message ? 0 : -ENOMEM;
}

/* Copies JOB into *COPY (its disks and error messages too, none of the
 * store's links).  Returns 0 or -ENOMEM (*COPY is then to be freed as
 * part of its snapshot).
 */
static int
vma_store_copy_job (const struct vma_job *job, struct vma_job *copy)
{
  size_t i;

  *copy = *job;
  copy->hash_next = copy->newer = copy->older = NULL;
  copy->disks = (vma_disk_vector)empty_vector;
  if (vma_record_dup_error (&copy->own) < 0 ||
      vma_disk_vector_reserve (&copy->disks, job->disks.len) == -1)
    return -ENOMEM;
  for (i = 0; i < job->disks.len; i++) {
    copy->disks.ptr[copy->disks.len++] = job->disks.ptr[i];
    if (vma_record_dup_error (&copy->disks.ptr[i].rec) < 0)
      return -ENOMEM;
  }
  return 0;
}

int
vma_list_query_parse (const char *limit, const char *after, const char *status,
                      const char *since, struct vma_list_query *ret)
{
  struct vma_list_query q;
  char *end;

  memset (&q, 0, sizeof q);
  if (limit != NULL) {
    unsigned long long v;

    errno = 0;
    v = strtoull (limit, &end, 10);
    if (limit[0] < '0' || limit[0] > '9' || *end != '\0' || errno != 0 ||
        v < 1 || v > VMA_LIST_MAX_LIMIT) {
      cbt_set_error ("limit must be a number from 1 to %d",
                     VMA_LIST_MAX_LIMIT);
      return -1;
    }
    q.limit = (size_t)v;
  }
  if (after != NULL) {
    if (!cbt_id_is_valid (after)) {
      cbt_set_error ("after must be a job id");
      return -1;
    }
    memcpy (q.after, after, strlen (after) + 1);
  }
  if (status != NULL) {
    if (cbt_status_parse (status, &q.status) == -1) {
      cbt_set_error ("status must be queued, in_progress, completed or "
                     "failed");
      return -1;
    }
    q.has_status = true;
  }
  if (since != NULL) {
    errno = 0;
    q.since = strtoull (since, &end, 10);
    if (since[0] < '0' || since[0] > '9' || *end != '\0' || errno != 0) {
      cbt_set_error ("since must be a version (a number)");
      return -1;
    }
  }
  *ret = q;
  return 0;
}

static int
vma_store_cmp_job_ptr (const void *a, const void *b)
{
  return strcmp ((*(struct vma_job *const *)a)->id,
                 (*(struct vma_job *const *)b)->id);
}

int
vma_store_snapshot_query (struct vma_store *store,
                          const struct vma_list_query *q,
                          struct vma_job **ret_jobs, size_t *ret_n,
                          uint64_t *ret_version, bool *ret_more)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  bool paged = q->limit > 0 || q->after[0] != '\0';
  struct vma_job **match, *jobs, *job;
  size_t m = 0, n = 0, i, count;
  int r = 0;

  match = calloc (store->stats.jobs ? store->stats.jobs : 1, sizeof *match);
  if (match == NULL)
    return -ENOMEM;
  for (job = store->newest; job != NULL; job = job->older) {
    if (job->changed <= q->since)
      continue;
    if (paged && q->after[0] != '\0' && strcmp (job->id, q->after) <= 0)
      continue;
    if (q->has_status) {
      struct cbt_progress p;

      vma_job_progress (job, &p);
      if (p.status != q->status)
        continue;
    }
    match[m++] = job;
  }
  /* A page is in id order, so that "after" is a stable cursor. */
  if (paged && m > 1)
    qsort (match, m, sizeof *match, vma_store_cmp_job_ptr);
  count = q->limit > 0 && m > q->limit ? q->limit : m;
  jobs = calloc (count ? count : 1, sizeof *jobs);
  if (jobs == NULL) {
    free (match);
    return -ENOMEM;
  }
  for (i = 0; i < count && r == 0; i++)
    r = vma_store_copy_job (match[i], &jobs[n++]);
  free (match);
  if (r < 0) {
    vma_store_snapshot_free (jobs, n);
    return r;
  }
  *ret_jobs = jobs;
  *ret_n = n;
  *ret_version = store->version;
  *ret_more = count < m;
  return 0;
}

int
vma_store_snapshot (struct vma_store *store, struct vma_job **ret_jobs,
                    size_t *ret_n)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);
  struct vma_job *jobs, *job;
  size_t n = 0;
  int r = 0;

  jobs = calloc (store->stats.jobs ? store->stats.jobs : 1, sizeof *jobs);
  if (jobs == NULL)
    return -ENOMEM;
  for (job = store->newest; job != NULL && r == 0; job = job->older)
    r = vma_store_copy_job (job, &jobs[n++]);
  if (r < 0) {
    vma_store_snapshot_free (jobs, n);
    return r;
  }
  assert (n == store->stats.jobs);
  *ret_jobs = jobs;
  *ret_n = n;
  return 0;
}

void
vma_store_get_stats (struct vma_store *store, struct vma_store_stats *ret)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&store->lock);

  *ret = store->stats;
}

/* The state of one record (a disk, or a job without disks): the model's
 * rules, with the sender's ETA preferred while it is in progress.
 */
static void
vma_record_progress (const struct vma_record *r, struct cbt_progress *ret)
{
  struct cbt_progress p = { 0 };

  p.stage = r->stage;
  p.status = r->status;
  p.sync_type = r->sync_type;
  p.bytes_transferred = r->bytes_transferred;
  p.resumed_bytes = r->resumed_bytes;
  p.total_bytes = r->total_bytes;
  /* Only a running disk moves bytes. */
  p.throughput_bps =
      r->status == CBT_STATUS_IN_PROGRESS ? (double)r->throughput_bps : 0;
  p.bytes_written = r->bytes_written;
  p.bytes_zero_skipped = r->bytes_zero_skipped;
  p.capacity_bytes = r->capacity_bytes;
  p.error_message = r->error_message;
  /* Only a running disk can be stalled. */
  p.stalled = r->stalled && r->status == CBT_STATUS_IN_PROGRESS;
  p.stalled_seconds = p.stalled ? r->stalled_seconds : 0;
  p.change_id = r->change_id;
  p.warning = r->warning;
  cbt_progress_derive (&p);
  if (r->status == CBT_STATUS_IN_PROGRESS && (r->has & CBT_HAS_ETA)) {
    p.has_eta = true;
    p.eta_seconds = r->eta_seconds;
  }
  *ret = p;
}

void
vma_disk_progress (const struct vma_disk *disk, struct cbt_progress *ret)
{
  vma_record_progress (&disk->rec, ret);
}

void
vma_job_progress (const struct vma_job *job, struct cbt_progress *ret)
{
  const struct vma_record *own = &job->own;
  struct cbt_aggregate agg;
  struct cbt_progress p, d;
  size_t i;

  /* A job without disks is its own single record. */
  if (job->disks.len == 0) {
    vma_record_progress (own, ret);
    return;
  }

  cbt_aggregate_init (&agg);
  for (i = 0; i < job->disks.len; i++) {
    vma_disk_progress (&job->disks.ptr[i], &d);
    cbt_aggregate_add (&agg, &d, job->disks.ptr[i].id);
  }
  cbt_aggregate_finish (&agg,
                        (own->has & CBT_HAS_STATUS) ? &own->status : NULL, &p);

  if (p.stage[0] == '\0')
    p.stage = own->stage;
  if (own->has & CBT_HAS_SYNC_TYPE)
    p.sync_type = own->sync_type;
  if (own->error_message != NULL) {
    p.error_message = own->error_message;
    p.error_disk = NULL;
  }
  *ret = p;
}
