/* cbtrack copy - reporting progress to a VMA. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/error.h"
#include "common/progress-model.h"
#include "common/http-client.h"
#include "common/timeutil.h"
#include "common/vector.h"
#include "copy/reporter.h"

#define REPORTER_CONNECT_TIMEOUT_MS 1000L
#define REPORTER_TIMEOUT_MS 2000L
#define REPORTER_MAX_REPLY (64 * 1024) /* the VMA's answers are tiny */
#define REPORTER_RETRY_MIN 0.5         /* seconds after a failed POST */
#define REPORTER_RETRY_MAX 5.0

/* The newest unsent body of one disk. */
struct pending {
  char *disk_id; /* "" for job-level updates */
  char *body;    /* NULL when nothing is waiting */
  bool accepted; /* the VMA took an update of this disk (2xx) */
};
DEFINE_VECTOR_TYPE (pending_vector, struct pending);

struct reporter {
  char *update_url;
  /* This process's sender_id: the VMA refuses a second sender of a disk
   * while the first is live.
   */
  char sender_id[40];
  struct cbt_http *http; /* used by the reporter thread only */
  void (*on_cancel) (void);
  bool cancel_seen; /* on_cancel was called (reporter thread only) */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* work arrived, or stop */
  pthread_cond_t idle; /* everything sent */
  pending_vector pending;
  unsigned unsent; /* bodies waiting */
  bool sending;    /* a POST is under way */
  bool stop;
  double give_up_at;  /* when stopping: deadline for delivery */
  double retry_after; /* backoff after a failure */
  double backoff;
};

/* Computes an absolute CLOCK_MONOTONIC time SECONDS from now. */
static struct timespec
reporter_deadline (double seconds)
{
  struct timespec ts;
  double t;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  t = ts.tv_sec + ts.tv_nsec / 1e9 + seconds;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  return ts;
}

/* POSTs BODY with this process's sender_id and, when NEW_RUN, "new_run":
 * true (the first update of each disk a process sends starts its run: a
 * disk that a previous copy left completed or failed is synced anew).
 * Returns 0 when the VMA answered (any status: a 4xx will not get better
 * by resending) with the status in *RET_STATUS, -1 when it could not be
 * reached.
 */
static int
reporter_post (struct reporter *r, const char *body, bool new_run,
               long *ret_status)
{
  json_t *obj = json_loads (body, 0, NULL);
  char *sent = NULL;
  int ret = -1;

  if (obj == NULL || !json_is_object (obj) ||
      json_object_set_new (obj, CBT_FIELD_SENDER_ID,
                           json_string (r->sender_id)) == -1 ||
      (new_run &&
       json_object_set_new (obj, CBT_FIELD_NEW_RUN, json_true ()) == -1) ||
      (sent = json_dumps (obj, JSON_COMPACT)) == NULL)
    goto out;
  if (cbt_http_prepare (r->http, "POST", r->update_url, "application/json",
                        sent, strlen (sent)) == -1)
    goto out;
  ret = cbt_http_perform (r->http, ret_status);

out:
  free (sent);
  json_decref (obj);
  return ret;
}

/* Takes the first waiting body out of the table and sets *RET_SLOT to its
 * disk's slot.  Caller holds the lock.
 */
static char *
reporter_take (struct reporter *r, size_t *ret_slot)
{
  size_t i;

  for (i = 0; i < r->pending.len; i++) {
    char *body = r->pending.ptr[i].body;

    if (body) {
      r->pending.ptr[i].body = NULL;
      r->unsent--;
      *ret_slot = i;
      return body;
    }
  }
  return NULL;
}

/* Puts BODY back in SLOT after a failed POST, unless a newer one came. */
static void
reporter_put_back (struct reporter *r, size_t slot, char *body)
{
  if (r->pending.ptr[slot].body == NULL) {
    r->pending.ptr[slot].body = body;
    r->unsent++;
  } else {
    free (body);
  }
}

static void *
reporter_run (void *arg)
{
  struct reporter *r = arg;

  pthread_mutex_lock (&r->lock);
  for (;;) {
    double now = cbt_now_mono ();
    size_t slot = 0;
    char *body;
    bool new_run;
    long status = 0;
    int ok;

    if (r->stop && (r->unsent == 0 || now >= r->give_up_at))
      break;
    if (r->unsent == 0 || now < r->retry_after) {
      struct timespec ts =
          reporter_deadline (r->unsent == 0 ? 3600 : r->retry_after - now);

      if (r->unsent == 0)
        pthread_cond_broadcast (&r->idle);
      if (r->stop && r->give_up_at < r->retry_after)
        ts = reporter_deadline (r->give_up_at - now);
      pthread_cond_timedwait (&r->cond, &r->lock, &ts);
      continue;
    }

    body = reporter_take (r, &slot);
    new_run = !r->pending.ptr[slot].accepted;
    r->sending = true;
    pthread_mutex_unlock (&r->lock);
    ok = reporter_post (r, body, new_run, &status) == 0;
    pthread_mutex_lock (&r->lock);
    r->sending = false;

    if (ok) {
      if (status >= 200 && status < 300) {
        size_t len;
        const char *reply = cbt_http_reply (r->http, &len);

        r->pending.ptr[slot].accepted = true;
        if (!r->cancel_seen && r->on_cancel != NULL &&
            reporter_reply_cancels (reply, len)) {
          r->cancel_seen = true;
          r->on_cancel ();
        }
      }
      free (body);
      r->backoff = 0;
      r->retry_after = 0;
    } else {
      /* Quietly: keep the newest state and try again later. */
      reporter_put_back (r, slot, body);
      r->backoff = r->backoff == 0 ? REPORTER_RETRY_MIN : r->backoff * 2;
      if (r->backoff > REPORTER_RETRY_MAX)
        r->backoff = REPORTER_RETRY_MAX;
      r->retry_after = cbt_now_mono () + r->backoff;
    }
  }
  pthread_cond_broadcast (&r->idle);
  pthread_mutex_unlock (&r->lock);
  return NULL;
}

/* Writes a sender_id unique to this process into BUF: 16 random hex
 * digits (the pid and the clock when the kernel has no randomness yet).
 */
static void
reporter_make_sender_id (char *buf, size_t len)
{
  unsigned char rnd[8];
  size_t i;

  if (getrandom (rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
    uint64_t v = ((uint64_t)getpid () << 32) ^
                 (uint64_t)(cbt_now_wall () * 1e6) ^ (uint64_t)(uintptr_t)buf;

    memcpy (rnd, &v, sizeof rnd);
  }
  snprintf (buf, len, "copy-");
  for (i = 0; i < sizeof rnd; i++)
    snprintf (buf + 5 + 2 * i, len - 5 - 2 * i, "%02x", rnd[i]);
}

bool
reporter_reply_cancels (const char *body, size_t len)
{
  json_t *obj =
      body != NULL && len > 0 ? json_loadb (body, len, 0, NULL) : NULL;
  bool cancel = json_is_true (json_object_get (obj, CBT_FIELD_CANCEL));

  json_decref (obj);
  return cancel;
}

struct reporter *
reporter_start (const struct reporter_options *opts)
{
  const char *url = opts->url, *job_id = opts->job_id;
  struct reporter *r = calloc (1, sizeof *r);
  pthread_condattr_t attr;
  bool global_init = false;
  size_t len;
  int err;

  if (r == NULL)
    goto nomem;
  len = strlen (url);
  while (len > 0 && url[len - 1] == '/')
    len--;
  r->update_url = malloc (len + strlen (job_id) + 64);
  if (r->update_url == NULL)
    goto nomem;
  snprintf (r->update_url, len + strlen (job_id) + 64,
            "%.*s/api/v1/progress/%s/update", (int)len, url, job_id);

  reporter_make_sender_id (r->sender_id, sizeof r->sender_id);
  r->on_cancel = opts->on_cancel;

  if (cbt_http_global_init () == -1)
    goto err;
  global_init = true;
  r->http = cbt_http_new (&(struct cbt_http_options){
      .component = "copy",
      .token = opts->token,
      .ca_file = opts->ca_file,
      .connect_timeout_ms = REPORTER_CONNECT_TIMEOUT_MS,
      .timeout_ms = REPORTER_TIMEOUT_MS,
      .max_reply = REPORTER_MAX_REPLY,
  });
  if (r->http == NULL)
    goto err;

  pthread_mutex_init (&r->lock, NULL);
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (&r->cond, &attr);
  pthread_cond_init (&r->idle, &attr);
  pthread_condattr_destroy (&attr);
  err = pthread_create (&r->thread, NULL, reporter_run, r);
  if (err) {
    cbt_set_error ("cannot start the reporter thread: %s", strerror (err));
    pthread_cond_destroy (&r->cond);
    pthread_cond_destroy (&r->idle);
    pthread_mutex_destroy (&r->lock);
    goto err;
  }
  return r;

nomem:
  cbt_set_error ("out of memory");
err:
  if (r) {
    cbt_http_free (r->http);
    free (r->update_url);
    free (r);
  }
  if (global_init)
    cbt_http_global_cleanup ();
  return NULL;
}

void
reporter_offer (void *opaque, const char *disk_id, const char *json,
                bool final)
{
  struct reporter *r = opaque;
  char *disk = strdup (disk_id ? disk_id : ""), *body = strdup (json);
  size_t i;

  if (disk == NULL || body == NULL) {
    free (disk);
    free (body);
    return; /* out of memory: the next update carries the state */
  }
  pthread_mutex_lock (&r->lock);
  for (i = 0; i < r->pending.len; i++)
    if (strcmp (r->pending.ptr[i].disk_id, disk) == 0)
      break;
  if (i == r->pending.len) {
    if (pending_vector_append (
            &r->pending, (struct pending){ .disk_id = disk, .body = NULL }) ==
        -1) {
      pthread_mutex_unlock (&r->lock);
      free (disk);
      free (body);
      return;
    }
    disk = NULL;
  }
  if (r->pending.ptr[i].body)
    free (r->pending.ptr[i].body);
  else
    r->unsent++;
  r->pending.ptr[i].body = body;
  /* A final update goes out at once, whatever the backoff. */
  if (final)
    r->retry_after = 0;
  pthread_cond_signal (&r->cond);
  pthread_mutex_unlock (&r->lock);
  free (disk);
}

bool
reporter_flush (struct reporter *r, double timeout)
{
  struct timespec ts = reporter_deadline (timeout);
  bool done;

  pthread_mutex_lock (&r->lock);
  r->retry_after = 0;
  pthread_cond_signal (&r->cond);
  while ((r->unsent > 0 || r->sending) &&
         pthread_cond_timedwait (&r->idle, &r->lock, &ts) == 0)
    ;
  done = r->unsent == 0 && !r->sending;
  pthread_mutex_unlock (&r->lock);
  return done;
}

void
reporter_stop (struct reporter *r, double timeout)
{
  size_t i;

  if (r == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  r->stop = true;
  r->give_up_at = cbt_now_mono () + timeout;
  r->retry_after = 0;
  pthread_cond_signal (&r->cond);
  pthread_mutex_unlock (&r->lock);
  pthread_join (r->thread, NULL);

  for (i = 0; i < r->pending.len; i++) {
    free (r->pending.ptr[i].disk_id);
    free (r->pending.ptr[i].body);
  }
  pending_vector_reset (&r->pending);
  cbt_http_free (r->http);
  cbt_http_global_cleanup ();
  pthread_cond_destroy (&r->cond);
  pthread_cond_destroy (&r->idle);
  pthread_mutex_destroy (&r->lock);
  free (r->update_url);
  free (r);
}
