/* cbtrack oma - the poller: VMAs → database, libcurl multi. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/http-client.h"
#include "common/human.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/vector.h"
#include "oma/metrics.h"
#include "oma/poll-logic.h"
#include "oma/poller.h"

/* Largest answer accepted for one job (256 disks take about 200 KiB),
 * and for a VMA's list of jobs (read for discovery only).
 */
#define POLLER_MAX_JOB_BODY (1024 * 1024)
#define POLLER_MAX_LIST_BODY (64 * 1024 * 1024)
/* Requests in flight per VMA (scheme://host:port), and in all.  The
 * poller issues a request only when a slot is free, so libcurl never
 * queues one: a request's timeout then counts its own transfer alone,
 * never the time it waited behind others.
 */
#define POLLER_HOST_IN_FLIGHT 16
#define POLLER_TOTAL_IN_FLIGHT 64
/* Idle connections kept for the next cycle. */
#define POLLER_CACHED_CONNECTIONS 64
/* No fetch: the end of a group's chain. */
#define POLLER_NONE SIZE_MAX
/* Poll results written per transaction. */
#define POLLER_BATCH 500
/* Jobs per page of a VMA's list, and pages per discovery at most. */
#define POLLER_LIST_PAGE 1000
#define POLLER_LIST_ROUNDS 200
/* The discovery set is forgotten (and rebuilt) beyond this size. */
#define POLLER_MAX_KNOWN_IDS 200000

DEFINE_VECTOR_TYPE (string_vector, char *);
DEFINE_VECTOR_TYPE (update_vector, struct oma_update);

/* One HTTP GET in flight. */
struct fetch {
  struct cbt_http *http; /* NULL: nothing to fetch */
  char *url;
  char *host;    /* scheme://host:port of url: the group it counts in */
  size_t group;  /* index of its group, set by poller_fetch_all */
  size_t next;   /* the next fetch of its group, or POLLER_NONE */
  bool issued;   /* handed to libcurl (so it ran, or is running) */
  CURLcode code; /* the transfer's result, set by poller_fetch_all */
  bool ok;       /* the VMA answered; then http_status is set */
  long http_status;
};

/* The fetches to one VMA: a chain of those not issued yet. */
struct fetch_group {
  size_t head;      /* the next fetch to issue, or POLLER_NONE */
  size_t tail;      /* the last of the chain (while building it) */
  size_t in_flight; /* fetches issued and not ended */
};

DEFINE_VECTOR_TYPE (group_vector, struct fetch_group);

/* One VMA's listing in a discovery: the page to ask for next. */
struct poller_listing {
  bool pending;               /* a page is still to be fetched */
  bool failed;                /* a job could not be registered */
  char after[CBT_ID_MAX + 1]; /* the cursor: "" for the first page */
  uint64_t version;           /* the VMA's counter at the first page */
};

struct oma_poller {
  struct oma_poller_config cfg;
  CURLM *multi;
  oma_job_vector cache;     /* active jobs, sorted by id */
  string_vector known_ids;  /* ids known to exist in the store, sorted */
  string_vector tried_runs; /* "ID RUN" of new runs already considered */
  uint64_t *since;          /* per --vma: the version its last listing had */
  bool discovery_full;      /* the last discovery met OMA_MAX_ACTIVE_JOBS */
  bool db_down;             /* in an outage of the store (for logging) */
  bool db_down_write;       /* ... in which a write failed */
  uint64_t cycles;          /* cycles run so far */
  /* Leases: the poller thread alone reads and writes JOINED; the
   * heartbeat thread sets LEASE_LOST when a renewal finds it lost.
   */
  bool joined;
  atomic_bool lease_lost;
  /* Set by the heartbeat thread when it finds jobs held by a node whose
   * lease expired: the poller then starts its next cycle at once, so
   * that a takeover does not wait for the end of the interval.
   */
  atomic_bool claim_now;
  pthread_t thread;
  bool thread_started;
  pthread_t heartbeat_thread;
  bool heartbeat_started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  atomic_bool stop;
};

static void poller_log (struct oma_poller *p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
poller_log (struct oma_poller *p, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;

  if (p->cfg.log == NULL)
    return;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  p->cfg.log ("%s", msg);
}

static void poller_logl (struct oma_poller *p, enum cbt_log_level level,
                         const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like poller_log, at LEVEL (common/log.h), for pollers that log. */
static void
poller_logl (struct oma_poller *p, enum cbt_log_level level, const char *fmt,
             ...)
{
  va_list ap;

  if (p->cfg.log == NULL)
    return;
  va_start (ap, fmt);
  cbt_vlog (level, "oma", fmt, ap);
  va_end (ap);
}

/* Logs, once, the change of state that the written update AFTER made to
 * BEFORE (the job as known before the cycle): started, completed (with
 * bytes, time and average rate), failed (with the reason) or dead (with
 * the sign of death, which poll-logic.c puts in the reason).
 */
static void
poller_log_transition (struct oma_poller *p, const struct oma_job *before,
                       const struct oma_job *after)
{
  char size[32], rate[32], took[32];
  int64_t seconds;

  if (strcmp (before->status, after->status) == 0)
    return;
  oma_metrics_transition (p->cfg.metrics, after->status,
                          strncmp (after->error_message, "dead:", 5) == 0);
  if (strcmp (after->status, "replicating") == 0)
    poller_logl (
        p, CBT_LOG_INFO, "job %s started: %s copy of %s", after->id,
        after->replication_type[0] ? after->replication_type : "a",
        cbt_human_size (
            (uint64_t)(after->total_bytes > 0 ? after->total_bytes : 0), size,
            sizeof size));
  else if (strcmp (after->status, "completed") == 0) {
    seconds = after->started_at > 0 && after->completed_at > after->started_at
                  ? after->completed_at - after->started_at
                  : 0;
    cbt_human_size ((uint64_t)(after->bytes_transferred > 0
                                   ? after->bytes_transferred
                                   : 0),
                    size, sizeof size);
    cbt_human_size (seconds > 0 ? (uint64_t)after->bytes_transferred /
                                      (uint64_t)seconds
                                : 0,
                    rate, sizeof rate);
    poller_logl (p, CBT_LOG_INFO,
                 "job %s completed: %" PRId64 " bytes (%s) in %s, average "
                 "%s/s",
                 after->id, after->bytes_transferred, size,
                 cbt_human_duration ((double)seconds, took, sizeof took),
                 rate);
  } else if (strcmp (after->status, "failed") == 0) {
    if (strncmp (after->error_message, "dead:", 5) == 0)
      poller_logl (p, CBT_LOG_WARNING, "job %s is %s", after->id,
                   after->error_message);
    else
      poller_logl (p, CBT_LOG_WARNING, "job %s failed: %s", after->id,
                   after->error_message[0] ? after->error_message
                                           : "no reason given");
  } else
    poller_logl (p, CBT_LOG_INFO, "job %s is now %s", after->id,
                 after->status);
}

/* Records that the store failed or worked, logging only the changes:
 * once when an outage starts, once when it ends.  An outage of writes (a
 * full disk) ends with a write that works, not with a read that works.
 */
static void
poller_db_state (struct oma_poller *p, bool ok, bool write, const char *what)
{
  if (!ok) {
    if (!p->db_down)
      poller_logl (p, CBT_LOG_ERROR,
                   "database unavailable (%s: %s); retrying every cycle", what,
                   cbt_get_error ());
    else if (write)
      p->db_down_write = true;
    if (!p->db_down)
      p->db_down_write = write;
    p->db_down = true;
  } else if (p->db_down && (write || !p->db_down_write)) {
    poller_logl (p, CBT_LOG_INFO, "database is back");
    p->db_down = false;
  }
}

/* A copy of the scheme://authority part of URL (all of it when it has no
 * path): the key under which requests to one VMA are counted.  NULL when
 * out of memory.
 */
static char *
poller_host_of (const char *url)
{
  const char *p = strstr (url, "://");
  size_t len;

  p = p ? p + 3 : url;
  len = (size_t)(p - url) + strcspn (p, "/?#");
  return strndup (url, len);
}

static void
fetch_reset (struct fetch *f)
{
  cbt_http_free (f->http);
  free (f->url);
  free (f->host);
  memset (f, 0, sizeof *f);
}

/* Prepares F to GET BASE + PATH + ID, keeping at most LIMIT bytes of the
 * answer.  Returns 0, or -1 with a message recorded.
 */
static int
fetch_init (struct oma_poller *p, struct fetch *f, const char *base,
            const char *path, const char *id, size_t limit)
{
  size_t blen = strlen (base);
  long timeout_ms = (long)(p->cfg.http_timeout * 1000);
  CURLcode rc;

  memset (f, 0, sizeof *f);
  while (blen > 0 && base[blen - 1] == '/')
    blen--;
  if (asprintf (&f->url, "%.*s%s%s", (int)blen, base, path, id) == -1) {
    f->url = NULL;
    cbt_set_error ("out of memory");
    return -1;
  }
  f->host = poller_host_of (f->url);
  if (f->host == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  f->http = cbt_http_new (&(struct cbt_http_options){
      .component = "oma",
      .comment = p->cfg.node_id,
      .token = p->cfg.vma_token,
      .ca_file = p->cfg.ca_file,
      .connect_timeout_ms = timeout_ms < 5000 ? timeout_ms : 5000L,
      .timeout_ms = timeout_ms,
      .max_reply = limit,
  });
  if (f->http == NULL ||
      cbt_http_prepare (f->http, "GET", f->url, NULL, NULL, 0) == -1)
    return -1;
  rc = curl_easy_setopt (cbt_http_easy (f->http), CURLOPT_PRIVATE, f);
  if (rc != CURLE_OK) {
    cbt_set_error ("CURLOPT_PRIVATE: %s", curl_easy_strerror (rc));
    return -1;
  }
  return 0;
}

/* The fetches are sorted by host, then by index, to group them. */
static struct fetch *poller_sort_base;

static int
poller_cmp_fetch (const void *a, const void *b)
{
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = strcmp (poller_sort_base[i].host, poller_sort_base[j].host);

  return c != 0 ? c : (i > j) - (i < j);
}

/* Sorts the N prepared fetches of F into groups, one per VMA, chaining
 * each group's fetches in index order.  Returns 0, or -1 when out of
 * memory.
 */
static int
poller_group (struct fetch *f, size_t n, group_vector *groups)
{
  size_t *order, i, m = 0;

  order = calloc (n ? n : 1, sizeof *order);
  if (order == NULL)
    return -1;
  for (i = 0; i < n; i++)
    if (f[i].http != NULL)
      order[m++] = i;
  /* The poller thread alone sorts, so a static base is safe. */
  poller_sort_base = f;
  qsort (order, m, sizeof *order, poller_cmp_fetch);
  for (i = 0; i < m; i++) {
    struct fetch *x = &f[order[i]];

    if (i == 0 || strcmp (x->host, f[order[i - 1]].host) != 0) {
      if (group_vector_append (
              groups, (struct fetch_group){ .head = order[i],
                                            .tail = order[i] }) == -1) {
        free (order);
        return -1;
      }
    } else {
      struct fetch_group *g = &groups->ptr[groups->len - 1];

      f[g->tail].next = order[i];
      g->tail = order[i];
    }
    x->group = groups->len - 1;
    x->next = POLLER_NONE;
  }
  free (order);
  return 0;
}

/* Hands the next fetch of group G that libcurl takes to it.  Returns
 * true when one was issued, false when the group has none left.
 */
static bool
poller_issue (struct oma_poller *p, struct fetch *f, struct fetch_group *g)
{
  struct fetch *x;

  while (g->head != POLLER_NONE) {
    x = &f[g->head];
    g->head = x->next;
    /* One that libcurl refuses did not run: it stays not issued, which
     * is no evidence about its VMA.
     */
    if (curl_multi_add_handle (p->multi, cbt_http_easy (x->http)) ==
        CURLM_OK) {
      x->issued = true;
      g->in_flight++;
      return true;
    }
  }
  return false;
}

/* Runs the N prepared fetches, at most POLLER_HOST_IN_FLIGHT per VMA and
 * POLLER_TOTAL_IN_FLIGHT in all, each issued only when a slot is free, so
 * its timeout starts when it does.  Returns when all ended or a stop was
 * asked for; then each fetch's issued, ok and http_status say how it went
 * (a fetch not issued did not run).
 */
static void
poller_fetch_all (struct oma_poller *p, struct fetch *f, size_t n)
{
  group_vector groups = empty_vector;
  size_t i, in_flight = 0, cursor = 0;
  CURLMsg *msg;
  CURLMcode mc;
  int running = 0, left;

  for (i = 0; i < n; i++) {
    f[i].code = CURLE_ABORTED_BY_CALLBACK;
    f[i].issued = false;
  }
  if (poller_group (f, n, &groups) == -1) {
    poller_log (p, "fetching: out of memory");
    goto out;
  }

  /* Every group before the cursor has no fetch left, or is at its own
   * cap and reissues into the slot each of its ends frees.
   */
  for (;;) {
    while (in_flight < POLLER_TOTAL_IN_FLIGHT && cursor < groups.len) {
      struct fetch_group *g = &groups.ptr[cursor];

      if (g->in_flight < POLLER_HOST_IN_FLIGHT && poller_issue (p, f, g))
        in_flight++;
      else
        cursor++;
    }
    if (in_flight == 0 || atomic_load (&p->stop))
      break;
    mc = curl_multi_perform (p->multi, &running);
    if (mc != CURLM_OK) {
      poller_log (p, "fetching: %s", curl_multi_strerror (mc));
      break;
    }
    while ((msg = curl_multi_info_read (p->multi, &left)) != NULL)
      if (msg->msg == CURLMSG_DONE) {
        struct fetch *done = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;

        if (curl_easy_getinfo (easy, CURLINFO_PRIVATE, &done) != CURLE_OK ||
            done == NULL)
          continue;
        done->code = result;
        /* Removing a handle the multi has cannot fail in a way that
         * leaves it there; msg is invalid from here on.
         */
        (void)curl_multi_remove_handle (p->multi, easy);
        assert (in_flight > 0 && groups.ptr[done->group].in_flight > 0);
        in_flight--;
        groups.ptr[done->group].in_flight--;
        if (!atomic_load (&p->stop) &&
            poller_issue (p, f, &groups.ptr[done->group]))
          in_flight++;
      }
    if (in_flight == 0 || atomic_load (&p->stop))
      break;
    mc = curl_multi_poll (p->multi, NULL, 0, 500, NULL);
    if (mc != CURLM_OK) {
      poller_log (p, "fetching: %s", curl_multi_strerror (mc));
      break;
    }
  }

out:
  for (i = 0; i < n; i++) {
    if (f[i].http == NULL)
      continue;
    if (f[i].issued && f[i].code == CURLE_ABORTED_BY_CALLBACK) {
      /* Still in flight at a stop or a libcurl failure: it did not end. */
      (void)curl_multi_remove_handle (p->multi, cbt_http_easy (f[i].http));
      f[i].issued = false;
    }
    f[i].ok = f[i].issued &&
              cbt_http_complete (f[i].http, f[i].code, &f[i].http_status) == 0;
  }
  group_vector_reset (&groups);
}

/* A short description of how fetch F failed. */
static const char *
fetch_error (const struct fetch *f, char *buf, size_t len)
{
  if (!f->issued)
    snprintf (buf, len, "not run");
  else if (!f->ok)
    snprintf (buf, len, "%s", cbt_http_error (f->http));
  else
    snprintf (buf, len, "HTTP %ld", f->http_status);
  return buf;
}

/* FNV-1a of ID: spreads the jobs' history trims over the cycles. */
static uint64_t
poller_hash (const char *id)
{
  uint64_t h = UINT64_C (14695981039346656037);

  for (; *id; id++)
    h = (h ^ (unsigned char)*id) * UINT64_C (1099511628211);
  return h;
}

static int
poller_cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static int
poller_cmp_job (const void *a, const void *b)
{
  return strcmp (((const struct oma_job *)a)->id,
                 ((const struct oma_job *)b)->id);
}

/* Whether KEY is in the sorted SET. */
static bool
poller_set_has (const string_vector *set, const char *key)
{
  return set->len > 0 && bsearch (&key, set->ptr, set->len, sizeof (char *),
                                  poller_cmp_str) != NULL;
}

static void
poller_set_clear (string_vector *set)
{
  size_t i;

  for (i = 0; i < set->len; i++)
    free (set->ptr[i]);
  string_vector_reset (set);
}

/* Adds KEY to the sorted SET, which is emptied first when it holds
 * POLLER_MAX_KNOWN_IDS keys (a set only saves work: a key forgotten is
 * asked about again).
 */
static void
poller_set_add (string_vector *set, const char *key)
{
  size_t lo = 0, hi = set->len;
  char *copy;

  if (set->len >= POLLER_MAX_KNOWN_IDS)
    poller_set_clear (set);
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp (set->ptr[mid], key);

    if (c == 0)
      return;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  copy = strdup (key);
  if (copy == NULL || string_vector_reserve (set, 1) == -1) {
    free (copy);
    return; /* asked again next cycle */
  }
  memmove (&set->ptr[lo + 1], &set->ptr[lo],
           (set->len - lo) * sizeof (char *));
  set->ptr[lo] = copy;
  set->len++;
}

/* A known job listed by a VMA with a new run in progress (a resumed
 * copy) continues if the OMA made it failed before that run started.
 * Each (job, run) is asked of the store once.  Returns 1 when the job was
 * reopened, 0 when not, -EIO when the store failed.
 */
static int
poller_maybe_reopen (struct oma_poller *p, const struct cbt_doc_job *vma,
                     int64_t now)
{
  struct oma_store *store = p->cfg.store;
  char key[CBT_ID_MAX + 32];
  int64_t not_after;
  int r;

  if (!oma_poll_resumed_run (vma, now, &not_after))
    return 0;
  snprintf (key, sizeof key, "%s %" PRIu64, vma->job_id, vma->run);
  if (poller_set_has (&p->tried_runs, key))
    return 0;
  r = store->ops->job_reopen (store, vma->job_id, not_after, now);
  if (r == -EIO)
    return r;
  poller_set_add (&p->tried_runs, key);
  if (r < 0)
    return 0;
  poller_logl (p, CBT_LOG_INFO,
               "job %s continues: run %" PRIu64 " started %.0f s ago, "
               "%" PRIu64 " of %" PRIu64 " bytes done before it",
               vma->job_id, vma->run, vma->seconds_since_run_start,
               vma->resumed_bytes, vma->total_bytes);
  return 1;
}

/* Registers the jobs listed by the configured VMAs that the store does
 * not have yet, asking each VMA only for what changed since the version
 * its last complete listing had, a page of POLLER_LIST_PAGE jobs at a
 * time.  Returns how many were added.
 */
static size_t
poller_discover (struct oma_poller *p, int64_t now)
{
  struct oma_store *store = p->cfg.store;
  size_t n = p->cfg.n_vma_urls, i, j, added = 0, round, pending = 0;
  size_t refused = 0;
  struct fetch *f;
  struct poller_listing *l;
  char err[CURL_ERROR_SIZE + 32], query[CBT_ID_MAX + 96];

  if (n == 0)
    return 0;
  f = calloc (n, sizeof *f);
  l = calloc (n, sizeof *l);
  if (f == NULL || l == NULL) {
    free (f);
    free (l);
    return 0;
  }
  for (i = 0; i < n; i++) {
    /* One node at a time discovers each VMA: the holder of its lease. */
    if (p->joined) {
      int r = store->ops->discovery_take (store, p->cfg.vma_urls[i], now);

      if (r == -EIO)
        poller_db_state (p, false, true, "take a discovery lease");
      if (r < 0)
        continue;
    }
    l[i].pending = true;
    pending++;
  }
  for (round = 0;
       pending > 0 && round < POLLER_LIST_ROUNDS && !atomic_load (&p->stop);
       round++) {
    for (i = 0; i < n; i++) {
      if (!l[i].pending)
        continue;
      snprintf (query, sizeof query, "?since=%" PRIu64 "&limit=%d%s%s",
                p->since[i], POLLER_LIST_PAGE, l[i].after[0] ? "&after=" : "",
                l[i].after);
      if (fetch_init (p, &f[i], p->cfg.vma_urls[i], "/api/v1/progress", query,
                      POLLER_MAX_LIST_BODY) == -1) {
        fetch_reset (&f[i]);
        l[i].pending = false;
        pending--;
      }
    }
    poller_fetch_all (p, f, n);

    for (i = 0; i < n && !atomic_load (&p->stop); i++) {
      cbt_doc_job_vector jobs = empty_vector;
      char next[CBT_ID_MAX + 1];
      uint64_t version = 0;
      const char *body;
      size_t body_len;

      if (f[i].http == NULL)
        continue;
      assert (l[i].pending);
      /* Unless this page goes on below, the VMA's listing ends here. */
      l[i].pending = false;
      pending--;
      oma_metrics_vma (p->cfg.metrics, p->cfg.vma_urls[i],
                       f[i].ok && f[i].http_status == 200);
      if (!f[i].ok || f[i].http_status != 200) {
        poller_logl (p, p->cfg.verbose ? CBT_LOG_INFO : CBT_LOG_DEBUG,
                     "discovery on %s: %s", p->cfg.vma_urls[i],
                     fetch_error (&f[i], err, sizeof err));
        fetch_reset (&f[i]);
        continue;
      }
      body = cbt_http_reply (f[i].http, &body_len);
      if (oma_vma_list_parse_page (body, body_len, &jobs, &version, next,
                                   sizeof next) == -1) {
        poller_logl (p, CBT_LOG_WARNING, "discovery on %s: %s",
                     p->cfg.vma_urls[i], cbt_get_error ());
        fetch_reset (&f[i]);
        continue;
      }
      fetch_reset (&f[i]);
      if (l[i].after[0] == '\0')
        l[i].version = version;
      if (version < p->since[i]) {
        /* The VMA restarted and counts from 0 again: everything it
         * has may be new.
         */
        p->since[i] = 0;
        l[i].after[0] = '\0';
        l[i].failed = false;
        l[i].pending = true;
        pending++;
        oma_vma_job_vector_free (&jobs);
        continue;
      }
      for (j = 0; j < jobs.len; j++) {
        struct oma_job job;
        int r;

        if (poller_set_has (&p->known_ids, jobs.ptr[j].job_id)) {
          if (poller_maybe_reopen (p, &jobs.ptr[j], now) == -EIO) {
            poller_db_state (p, false, true, "reopen a resumed job");
            l[i].failed = true;
            break;
          }
          continue;
        }
        oma_job_from_discovery (&jobs.ptr[j], p->cfg.vma_urls[i], now, &job);
        r = store->ops->job_insert (store, &job);
        if (r == -EIO || r == -ENOSPC) {
          /* Listed again next time: the version does not move on. */
          l[i].failed = true;
          refused += r == -ENOSPC;
          if (r == -EIO) {
            poller_db_state (p, false, true, "register discovered job");
            break;
          }
          continue;
        }
        /* A job that exists is known from a read: it does not end an
         * outage of writes.
         */
        poller_db_state (p, true, r == 0, NULL);
        if (r == 0) {
          added++;
          poller_logl (p, CBT_LOG_INFO, "job %s discovered on %s", job.id,
                       p->cfg.vma_urls[i]);
        }
        poller_set_add (&p->known_ids, job.id);
      }
      oma_vma_job_vector_free (&jobs);
      if (next[0] != '\0' && !l[i].failed) {
        memcpy (l[i].after, next, sizeof l[i].after);
        l[i].pending = true;
        pending++;
      } else if (next[0] == '\0' && !l[i].failed)
        p->since[i] = l[i].version;
    }
  }
  for (i = 0; i < n; i++)
    fetch_reset (&f[i]);
  free (f);
  free (l);
  /* Said when the cap is reached and again when it is left, not every
   * cycle in between.
   */
  if (refused > 0 && !p->discovery_full)
    poller_logl (p, CBT_LOG_WARNING,
                 "discovery: %zu jobs not registered: the OMA already has "
                 "%d active jobs (its limit); they are registered once "
                 "jobs finish",
                 refused, OMA_MAX_ACTIVE_JOBS);
  else if (refused == 0 && p->discovery_full)
    poller_logl (p, CBT_LOG_INFO,
                 "discovery: below the limit of %d active jobs again",
                 OMA_MAX_ACTIVE_JOBS);
  p->discovery_full = refused > 0;
  return added;
}

/* Joins the fleet (again) as the configured node.  Returns true when
 * the poller is now joined.
 */
static bool
poller_join (struct oma_poller *p)
{
  struct oma_store *store = p->cfg.store;
  int r;

  r = store->ops->node_join (store, p->cfg.node_id, p->cfg.lease,
                             (int64_t)cbt_now_wall ());
  if (r == -EIO) {
    poller_db_state (p, false, true, "join the fleet");
    return false;
  }
  if (r < 0) {
    poller_logl (p, CBT_LOG_ERROR, "cannot join the fleet: %s",
                 cbt_get_error ());
    return false;
  }
  poller_db_state (p, true, true, NULL);
  poller_logl (p, CBT_LOG_INFO,
               "node %s joined the fleet (lease %" PRId64 " s)",
               p->cfg.node_id, p->cfg.lease);
  atomic_store (&p->lease_lost, false);
  p->joined = true;
  return true;
}

/* The lease is lost (what said so is in cbt_get_error): the jobs it
 * covered are no longer this node's to poll or write.
 */
static void
poller_lease_lost (struct oma_poller *p)
{
  poller_logl (p, CBT_LOG_WARNING, "%s; dropping %zu jobs and joining again",
               cbt_get_error (), p->cache.len);
  oma_job_vector_free (&p->cache);
  p->joined = false;
}

/* Replaces the cache of active jobs with the store's list (the jobs this
 * node claimed, when it uses leases), keeping the newer last_progress_at
 * seen in memory.  On a store failure the cache stays as it was.
 */
static void
poller_load_active (struct oma_poller *p)
{
  struct oma_store *store = p->cfg.store;
  oma_job_vector fresh = empty_vector;
  size_t i;
  int r;

  if (p->cfg.node_id != NULL) {
    if (atomic_exchange (&p->lease_lost, false) && p->joined) {
      cbt_set_error ("the lease of node %s is lost (a heartbeat found it "
                     "expired)",
                     p->cfg.node_id);
      poller_lease_lost (p);
    }
    if (!p->joined && !poller_join (p))
      return;
    r = store->ops->job_claim (store, (int64_t)cbt_now_wall (), &fresh);
    if (r == -ESTALE) {
      poller_lease_lost (p);
      oma_job_vector_free (&fresh);
      if (!poller_join (p) ||
          store->ops->job_claim (store, (int64_t)cbt_now_wall (), &fresh) <
              0) {
        oma_job_vector_free (&fresh);
        return;
      }
    } else if (r < 0) {
      /* The claim writes (the lease, the owners): an outage of writes,
       * which a read that works does not end.
       */
      poller_db_state (p, false, true, "claim jobs");
      oma_job_vector_free (&fresh);
      return;
    }
  } else if (store->ops->job_list_active (store, &fresh) < 0) {
    poller_db_state (p, false, false, "read active jobs");
    oma_job_vector_free (&fresh);
    return;
  }
  poller_db_state (p, true, false, NULL);
  if (fresh.len > 1)
    qsort (fresh.ptr, fresh.len, sizeof *fresh.ptr, poller_cmp_job);
  for (i = 0; i < fresh.len; i++) {
    struct oma_job *old =
        p->cache.len ? bsearch (&fresh.ptr[i], p->cache.ptr, p->cache.len,
                                sizeof *p->cache.ptr, poller_cmp_job)
                     : NULL;

    if (old && old->last_progress_at > fresh.ptr[i].last_progress_at)
      fresh.ptr[i].last_progress_at = old->last_progress_at;
    poller_set_add (&p->known_ids, fresh.ptr[i].id);
  }
  oma_job_vector_free (&p->cache);
  p->cache = fresh;
}

/* Writes UPDATES in batches; returns how many were committed. */
static size_t
poller_write (struct oma_poller *p, const struct oma_update *updates, size_t n)
{
  struct oma_store *store = p->cfg.store;
  size_t done = 0, chunk;

  while (done < n) {
    int r;

    chunk = n - done < POLLER_BATCH ? n - done : POLLER_BATCH;
    r = store->ops->apply_updates (store, updates + done, chunk);
    if (r == -ESTALE) {
      /* Fenced: nothing of this batch was written, nor will be. */
      poller_lease_lost (p);
      break;
    }
    if (r < 0) {
      poller_db_state (p, false, true, "write poll results");
      break;
    }
    poller_db_state (p, true, true, NULL);
    done += chunk;
  }
  return done;
}

/* Gives /metrics the active jobs' progress, as the cache now has it. */
static void
poller_metrics_active (struct oma_poller *p)
{
  const struct oma_job **jobs;
  size_t i;

  if (p->cfg.metrics == NULL)
    return;
  jobs = calloc (p->cache.len ? p->cache.len : 1, sizeof *jobs);
  if (jobs == NULL)
    return; /* the previous set stays: a stale gauge, not a wrong one */
  for (i = 0; i < p->cache.len; i++)
    jobs[i] = &p->cache.ptr[i];
  oma_metrics_set_active (p->cfg.metrics, jobs, p->cache.len);
  free (jobs);
}

int
oma_poller_cycle (struct oma_poller *p, struct oma_poll_stats *ret_stats)
{
  struct oma_poll_stats stats = { .db_ok = 1 };
  update_vector updates = empty_vector;
  double start = cbt_now_mono (), t;
  int64_t now = (int64_t)cbt_now_wall ();
  struct fetch *f = NULL;
  size_t i, n, kept, w;
  char err[CURL_ERROR_SIZE + 32];
  int r = 0;

  /* The claim comes first: a takeover does not wait for a discovery,
   * which lists anew the VMAs whose discovery lease it takes over.  The
   * jobs it registers are claimed right after it.
   */
  poller_load_active (p);
  t = cbt_now_mono ();
  stats.load_seconds = t - start;
  stats.discovered = poller_discover (p, now);
  stats.discover_seconds = cbt_now_mono () - t;
  if (stats.discovered > 0) {
    t = cbt_now_mono ();
    poller_load_active (p);
    stats.load_seconds += cbt_now_mono () - t;
  }

  n = stats.active = p->cache.len;
  if (n > 0) {
    f = calloc (n, sizeof *f);
    if (f == NULL || update_vector_reserve (&updates, n) == -1) {
      cbt_set_error_errno (errno, "poll");
      r = -1;
      goto out;
    }
  }
  for (i = 0; i < n; i++) {
    const struct oma_job *job = &p->cache.ptr[i];

    if (job->vma_url[0] != '\0' &&
        fetch_init (p, &f[i], job->vma_url, "/api/v1/progress/", job->id,
                    POLLER_MAX_JOB_BODY) == -1) {
      poller_log (p, "job %s: cannot poll now: %s", job->id, cbt_get_error ());
      fetch_reset (&f[i]);
      f[i].issued = true; /* marks "skipped" below; no handle to run */
    }
  }
  t = cbt_now_mono ();
  poller_fetch_all (p, f, n);
  stats.fetch_seconds = cbt_now_mono () - t;
  if (atomic_load (&p->stop))
    goto out;

  now = (int64_t)cbt_now_wall ();
  for (i = 0; i < n; i++) {
    struct oma_job *job = &p->cache.ptr[i];
    enum oma_fetch_result result = OMA_FETCH_UNREACHABLE;
    struct cbt_doc_job vma;
    const char *detail = "no VMA URL for the job";
    struct oma_update u;

    memset (&vma, 0, sizeof vma);
    if (f[i].http == NULL && f[i].issued)
      result = OMA_FETCH_SKIPPED; /* could not be set up */
    else if (f[i].http && !f[i].issued)
      result = OMA_FETCH_SKIPPED; /* never ran */
    else if (f[i].http) {
      size_t body_len;
      const char *body = cbt_http_reply (f[i].http, &body_len);

      if (f[i].ok && f[i].http_status == 404)
        result = OMA_FETCH_NOT_FOUND;
      else if (f[i].ok && f[i].http_status == 200) {
        if (oma_vma_job_parse (body, body_len, &vma) == -1)
          snprintf (err, sizeof err, "bad answer: %s", cbt_get_error ());
        else if (strcmp (vma.job_id, job->id) != 0)
          snprintf (err, sizeof err, "bad answer: another job's");
        else {
          result = OMA_FETCH_OK;
          stats.answered++;
        }
        detail = err;
      } else
        detail = fetch_error (&f[i], err, sizeof err);
      oma_metrics_vma (
          p->cfg.metrics, job->vma_url,
          f[i].ok && (f[i].http_status == 200 || f[i].http_status == 404));
    }
    if (oma_poll_decide (job, result, &vma, detail, now, p->cfg.dead_timeout,
                         &u)) {
      u.trim_history =
          u.add_sample &&
          (p->cycles + poller_hash (job->id)) % OMA_HISTORY_TRIM_EVERY == 0;
      /* The reason names the evidence: how long the job was silent,
       * and what the last fetch that ran got.
       */
      if (u.kind == OMA_UPDATE_FAIL)
        poller_log (p, "job %s declared dead: %s (last fetch: %s)", job->id,
                    u.job.error_message,
                    result == OMA_FETCH_OK ? "answered" : detail);
      updates.ptr[updates.len++] = u;
      if (u.job.last_progress_at > job->last_progress_at)
        job->last_progress_at = u.job.last_progress_at;
    }
    cbt_doc_job_reset (&vma);
  }

  t = cbt_now_mono ();
  p->cycles++;
  stats.written = poller_write (p, updates.ptr, updates.len);
  stats.write_seconds = cbt_now_mono () - t;
  /* Jobs whose final row is committed leave the cache now, so they are
   * not polled again should the next read of the store fail.
   */
  /* Updates were made in cache order, and the written ones are a prefix
   * of them: one cursor walks both.
   */
  for (i = 0, kept = 0, w = 0; i < p->cache.len; i++) {
    struct oma_job *job = &p->cache.ptr[i];
    bool gone = false;

    if (w < stats.written && strcmp (updates.ptr[w].job.id, job->id) == 0) {
      const struct oma_job *after = &updates.ptr[w].job;

      poller_log_transition (p, job, after);
      gone = oma_status_is_final (after->status);
      /* The cache now says what the store says: a transition is not
       * seen twice, and /metrics shows the new progress.
       */
      memcpy (job->status, after->status, sizeof job->status);
      job->bytes_transferred = after->bytes_transferred;
      job->total_bytes = after->total_bytes;
      job->progress_percent = after->progress_percent;
      w++;
    }
    if (gone)
      oma_job_reset (job);
    else
      p->cache.ptr[kept++] = *job;
  }
  p->cache.len = kept;
  poller_metrics_active (p);

out:
  stats.db_ok = !p->db_down;
  stats.seconds = cbt_now_mono () - start;
  for (i = 0; i < updates.len; i++)
    oma_job_reset (&updates.ptr[i].job);
  update_vector_reset (&updates);
  if (f)
    for (i = 0; i < n; i++)
      fetch_reset (&f[i]);
  free (f);
  if (r == 0 && ret_stats)
    *ret_stats = stats;
  return r;
}

/* Waits on P's condition until the monotonic time NEXT, a stop, or
 * (when not NULL) WAKE set; P's lock is held.
 */
static void
poller_wait_until (struct oma_poller *p, double next, const atomic_bool *wake)
{
  struct timespec ts;

  while (!atomic_load (&p->stop) && cbt_now_mono () < next &&
         (wake == NULL || !atomic_load (wake))) {
    double left = next - cbt_now_mono ();

    clock_gettime (CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)left;
    ts.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait (&p->cond, &p->lock, &ts);
  }
}

static void *
poller_thread (void *arg)
{
  struct oma_poller *p = arg;
  struct oma_poll_stats stats;

  while (!atomic_load (&p->stop)) {
    double next = cbt_now_mono () + p->cfg.interval;

    int r = oma_poller_cycle (p, &stats);

    oma_metrics_cycle (p->cfg.metrics, r == 0, &stats, cbt_now_wall ());
    if (r == -1)
      poller_logl (p, CBT_LOG_ERROR, "poll cycle: %s", cbt_get_error ());
    else
      poller_logl (p, p->cfg.verbose ? CBT_LOG_INFO : CBT_LOG_DEBUG,
                   "poll cycle: %zu discovered, %zu active, %zu answered, "
                   "%zu written (discover %.3f s, read %.3f s, fetch %.3f s, "
                   "write %.3f s), %.3f s",
                   stats.discovered, stats.active, stats.answered,
                   stats.written, stats.discover_seconds, stats.load_seconds,
                   stats.fetch_seconds, stats.write_seconds, stats.seconds);

    /* Sleep until the next cycle, a stop, or jobs to take over. */
    pthread_mutex_lock (&p->lock);
    poller_wait_until (p, next, &p->claim_now);
    pthread_mutex_unlock (&p->lock);
    if (atomic_exchange (&p->claim_now, false) && !atomic_load (&p->stop))
      poller_logl (p, p->cfg.verbose ? CBT_LOG_INFO : CBT_LOG_DEBUG,
                   "jobs of an expired lease: claiming them now");
  }
  return NULL;
}

/* Renews the node's lease every third of it, whatever the cycles do (a
 * cycle waiting for slow VMAs may last longer than the lease).  A lost
 * lease is left for the poller thread, which owns the jobs, to act on.
 */
static void *
poller_heartbeat_thread (void *arg)
{
  struct oma_poller *p = arg;
  struct oma_store *store = p->cfg.store;
  double period = (double)p->cfg.lease / 3.0;

  for (;;) {
    int r;

    pthread_mutex_lock (&p->lock);
    poller_wait_until (p, cbt_now_mono () + period, NULL);
    pthread_mutex_unlock (&p->lock);
    if (atomic_load (&p->stop))
      break;
    r = store->ops->node_heartbeat (store, (int64_t)cbt_now_wall ());
    if (r == -ESTALE)
      atomic_store (&p->lease_lost, true);
    else if (r > 0) {
      /* Jobs of a dead node: the poller claims them now. */
      pthread_mutex_lock (&p->lock);
      atomic_store (&p->claim_now, true);
      pthread_cond_broadcast (&p->cond);
      pthread_mutex_unlock (&p->lock);
    }
  }
  return NULL;
}

struct oma_poller *
oma_poller_create (const struct oma_poller_config *config)
{
  struct oma_poller *p;
  pthread_condattr_t attr;
  CURLMcode mc;

  if (cbt_http_global_init () == -1)
    return NULL;
  p = calloc (1, sizeof *p);
  if (p == NULL) {
    cbt_set_error_errno (errno, "calloc");
    cbt_http_global_cleanup ();
    return NULL;
  }
  p->cfg = *config;
  p->since =
      calloc (config->n_vma_urls ? config->n_vma_urls : 1, sizeof *p->since);
  if (p->since == NULL) {
    cbt_set_error_errno (errno, "calloc");
    free (p);
    cbt_http_global_cleanup ();
    return NULL;
  }
  if (p->cfg.http_timeout <= 0)
    p->cfg.http_timeout = p->cfg.interval < 10 ? p->cfg.interval : 10;
  if (p->cfg.http_timeout < 1)
    p->cfg.http_timeout = 1;
  p->multi = curl_multi_init ();
  if (p->multi == NULL) {
    cbt_set_error ("curl_multi_init failed");
    free (p->since);
    free (p);
    cbt_http_global_cleanup ();
    return NULL;
  }
  /* No limits in libcurl (0): poller_fetch_all holds the requests it
   * does not want to run yet, so that none waits inside libcurl with its
   * timeout running.
   */
  if ((mc = curl_multi_setopt (p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L)) !=
          CURLM_OK ||
      (mc = curl_multi_setopt (p->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                               0L)) != CURLM_OK ||
      (mc = curl_multi_setopt (p->multi, CURLMOPT_MAXCONNECTS,
                               (long)POLLER_CACHED_CONNECTIONS)) != CURLM_OK) {
    cbt_set_error ("libcurl multi options: %s", curl_multi_strerror (mc));
    curl_multi_cleanup (p->multi);
    free (p->since);
    free (p);
    cbt_http_global_cleanup ();
    return NULL;
  }
  pthread_mutex_init (&p->lock, NULL);
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (&p->cond, &attr);
  pthread_condattr_destroy (&attr);
  atomic_init (&p->stop, false);
  atomic_init (&p->lease_lost, false);
  atomic_init (&p->claim_now, false);
  p->joined = p->cfg.node_id != NULL && p->cfg.joined;
  return p;
}

int
oma_poller_start (struct oma_poller *p)
{
  int err = pthread_create (&p->thread, NULL, poller_thread, p);

  if (err != 0) {
    cbt_set_error_errno (err, "pthread_create");
    return -1;
  }
  p->thread_started = true;
  if (p->cfg.node_id != NULL) {
    err = pthread_create (&p->heartbeat_thread, NULL, poller_heartbeat_thread,
                          p);
    if (err != 0) {
      cbt_set_error_errno (err, "pthread_create");
      return -1;
    }
    p->heartbeat_started = true;
  }
  return 0;
}

void
oma_poller_free (struct oma_poller *p)
{
  if (p == NULL)
    return;
  if (p->thread_started) {
    pthread_mutex_lock (&p->lock);
    atomic_store (&p->stop, true);
    pthread_cond_broadcast (&p->cond);
    pthread_mutex_unlock (&p->lock);
    /* A failed wakeup only delays the stop: the fetch loop polls every
     * 500 ms and checks the flag.
     */
    (void)curl_multi_wakeup (p->multi);
    pthread_join (p->thread, NULL);
  }
  if (p->heartbeat_started)
    pthread_join (p->heartbeat_thread, NULL);
  /* The jobs go back at once rather than after a lease. */
  if (p->joined && p->cfg.store->ops->node_leave (p->cfg.store) < 0)
    poller_logl (p, CBT_LOG_WARNING,
                 "leaving the fleet: %s; the other OMAs take the jobs over "
                 "when the lease expires",
                 cbt_get_error ());
  curl_multi_cleanup (p->multi);
  oma_job_vector_free (&p->cache);
  poller_set_clear (&p->known_ids);
  poller_set_clear (&p->tried_runs);
  free (p->since);
  pthread_cond_destroy (&p->cond);
  pthread_mutex_destroy (&p->lock);
  free (p);
  cbt_http_global_cleanup ();
}
