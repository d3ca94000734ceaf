/* cbtrack status - a terminal view of the jobs a progress service holds.
 *
 * One GET (libcurl) of /api/v1/progress or /api/v1/progress/JOB, parsed
 * with jansson and drawn as bars: one per job and one per disk.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "common/error.h"
#include "common/http-client.h"
#include "common/human.h"
#include "common/ids.h"
#include "common/progress-model.h"
#include "common/token.h"
#include "common/vector.h"

#define STATUS_DEFAULT_VMA "http://127.0.0.1:8081"
#define STATUS_MAX_REPLY (256 * 1024 * 1024)
#define STATUS_CONNECT_TIMEOUT_MS 5000L
#define STATUS_TIMEOUT_MS 30000L
#define STATUS_JOB_BAR 30
#define STATUS_DISK_BAR 20

static void
status_usage (FILE *fp)
{
  /* clang-format off */
  fprintf (fp,
"Usage: cbtrack status [--vma URL] [--token-file FILE] [--cacert FILE]\n"
"                      [--stale-after S] [--json] [JOB]\n"
"\n"
"Show the jobs held by a progress service (`cbtrack vma`): one bar per job\n"
"and per disk, with bytes moved of bytes to move, throughput, ETA and\n"
"status.  Without JOB, every job, newest first.  Throughput and ETA are\n"
"shown only while they mean something: a job in progress that the copier\n"
"reports stalled, or that has had no update for longer than --stale-after,\n"
"shows \"stalled for T\" instead; a finished job shows neither.\n"
"\n"
"Options:\n"
"  --vma URL    the service (default " STATUS_DEFAULT_VMA ")\n"
"  --token-file FILE\n"
"               send \"Authorization: Bearer TOKEN\", TOKEN being the\n"
"               file's first line (the list of every job needs it when\n"
"               the service has a --token-file)\n"
"  --cacert FILE\n"
"               verify an https:// service against the CA certificates\n"
"               in FILE (PEM) instead of the system's\n"
"  --stale-after S\n"
"               a job in progress is stale when its last update is older\n"
"               than S (default 6s: three of the copier's default 2 s\n"
"               report intervals; 10, 30s, 1m...)\n"
"  --json       print the service's JSON answer instead\n"
"  -h, --help   show this help\n"
"  -V, --version  show the version\n"
"\n"
"Exit status: 0 shown, 1 service unreachable or job unknown, 2 usage.\n");
  /* clang-format on */
}

/* GETs URL with HTTP.  Returns the HTTP status, the reply then in
 * cbt_http_reply (HTTP), or -1 with a message recorded when the service
 * cannot be reached.
 */
static long
status_fetch (struct cbt_http *http, const char *url)
{
  long code;

  if (cbt_http_prepare (http, "GET", url, NULL, NULL, 0) == -1)
    return -1;
  if (cbt_http_perform (http, &code) == -1) {
    cbt_set_error ("cannot reach %s: %s", url, cbt_http_error (http));
    return -1;
  }
  return code;
}

/* What one bar shows, for a job or a disk of a decoded job document. */
struct status_bar {
  enum cbt_status status;
  uint64_t bytes_transferred;
  uint64_t total_bytes;
  double percent;
  uint64_t throughput_bps;
  bool has_eta;
  uint64_t eta_seconds;
  bool live;    /* the rate and ETA mean something */
  bool stalled; /* in progress, not live: show for how long */
  double stalled_seconds;
};

/* One progress line: bar, "X of Y (P %)", throughput, ETA. */
static void
status_print_progress (const struct status_bar *b, int width)
{
  char done[32], total[32], rate[32], eta[32], bar[64];
  int i, fill;

  fill = (int)(b->percent * width / 100);
  for (i = 0; i < width; i++)
    bar[i] = i < fill ? '#' : '-';
  bar[width] = '\0';

  cbt_human_size (b->bytes_transferred, done, sizeof done);
  cbt_human_size (b->total_bytes, total, sizeof total);
  printf ("[%s]  %s of %s (%d %%)", bar, done, total,
          cbt_percent_shown (b->percent));
  if (b->status == CBT_STATUS_IN_PROGRESS && b->stalled)
    printf ("  stalled for %s",
            cbt_human_duration (b->stalled_seconds, eta, sizeof eta));
  else if (b->live) {
    if (b->throughput_bps > 0)
      printf ("  %s/s", cbt_human_size (b->throughput_bps, rate, sizeof rate));
    printf ("  ETA %s",
            b->has_eta
                ? cbt_human_duration ((double)b->eta_seconds, eta, sizeof eta)
                : "--:--");
  }
}

static void
status_print_job (const struct cbt_doc_job *job, double stale_after)
{
  bool stale =
      cbt_is_stale (job->status, job->seconds_since_update, stale_after);
  bool live = cbt_rate_is_live (job->status, job->stalled, stale);
  const struct status_bar job_bar = {
    .status = job->status,
    .bytes_transferred = job->bytes_transferred,
    .total_bytes = job->total_bytes,
    .percent = job->percent,
    .throughput_bps = job->throughput_bps,
    .has_eta = job->has_eta,
    .eta_seconds = job->eta_seconds,
    .live = live,
    .stalled = job->status == CBT_STATUS_IN_PROGRESS && !live,
    .stalled_seconds =
        job->stalled && job->stalled_seconds > job->seconds_since_update
            ? job->stalled_seconds
            : job->seconds_since_update,
  };
  size_t i, w = 0;

  printf ("%s  %s  %s  %s  (updated %.0f s ago)\n", job->job_id,
          cbt_status_shown_name (job->status, job->cancelled),
          job->stage[0] ? job->stage : "-",
          job->has_sync_type ? cbt_sync_type_name (job->sync_type) : "",
          floor (job->seconds_since_update));
  printf ("  ");
  status_print_progress (&job_bar, STATUS_JOB_BAR);
  printf ("\n");
  if (job->error_message[0] != '\0')
    printf ("  error: %s\n", job->error_message);
  for (i = 0; i < job->disks.len; i++)
    if (strlen (job->disks.ptr[i].disk_id) > w)
      w = strlen (job->disks.ptr[i].disk_id);
  for (i = 0; i < job->disks.len; i++) {
    const struct cbt_doc_disk *disk = &job->disks.ptr[i];
    const struct status_bar disk_bar = {
      .status = disk->status,
      .bytes_transferred = disk->bytes_transferred,
      .total_bytes = disk->total_bytes,
      .percent = disk->percent,
      .throughput_bps = disk->throughput_bps,
      .has_eta = disk->has_eta,
      .eta_seconds = disk->eta_seconds,
      .live = live && disk->status == CBT_STATUS_IN_PROGRESS,
    };

    printf ("    %-*s  %-11s ", (int)w, disk->disk_id,
            cbt_status_name (disk->status));
    status_print_progress (&disk_bar, STATUS_DISK_BAR);
    printf ("\n");
    if (disk->error_message[0] != '\0')
      printf ("    %-*s  error: %s\n", (int)w, "", disk->error_message);
  }
}

/* Decodes the job document OBJ and prints it; a document that does not
 * decode is named on stderr instead.
 */
static void
status_decode_and_print (const json_t *obj, double stale_after)
{
  struct cbt_doc_job job;

  if (cbt_job_doc_decode (obj, true, &job) == -1) {
    fprintf (stderr, "cbtrack status: skipping a job: %s\n", cbt_get_error ());
    return;
  }
  status_print_job (&job, stale_after);
  cbt_doc_job_reset (&job);
}

int
status_main (int argc, char **argv)
{
  static const struct option long_options[] = {
    { "vma", required_argument, NULL, 'v' },
    { "json", no_argument, NULL, 'j' },
    { "token-file", required_argument, NULL, 't' },
    { "cacert", required_argument, NULL, 'c' },
    { "stale-after", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL },
  };
  const char *vma = STATUS_DEFAULT_VMA, *job_id = NULL, *token_file = NULL;
  const char *ca_file = NULL;
  struct cbt_http *http = NULL;
  const char *reply;
  size_t reply_len;
  json_t *json = NULL, *jobs, *job;
  json_error_t jerr;
  char *url = NULL, *token = NULL;
  size_t vlen, i;
  double stale_after = CBT_STALE_AFTER_DEFAULT;
  int c, as_json = 0, ret = 1;
  long code;

  optind = 1;
  while ((c = getopt_long (argc, argv, "hV", long_options, NULL)) != -1) {
    switch (c) {
    case 'v': vma = optarg; break;
    case 'j': as_json = 1; break;
    case 't': token_file = optarg; break;
    case 'c': ca_file = optarg; break;
    case 's':
      if (cbt_parse_duration (optarg, &stale_after) == -1) {
        fprintf (stderr, "cbtrack status: --stale-after: %s\n",
                 cbt_get_error ());
        return 2;
      }
      break;
    case 'h': status_usage (stdout); return 0;
    case 'V': printf ("cbtrack %s\n", CBTRACK_VERSION); return 0;
    default: status_usage (stderr); return 2;
    }
  }
  if (argc - optind > 1) {
    fprintf (stderr, "cbtrack status: too many arguments\n");
    status_usage (stderr);
    return 2;
  }
  if (optind < argc) {
    job_id = argv[optind];
    if (!cbt_id_is_valid (job_id)) {
      fprintf (stderr,
               "cbtrack status: invalid job id '%s' (ids are 1-128 "
               "characters of [A-Za-z0-9._:-])\n",
               job_id);
      return 2;
    }
  }

  if (token_file != NULL && (token = cbt_read_token (token_file)) == NULL) {
    fprintf (stderr, "cbtrack status: %s\n", cbt_get_error ());
    return 2;
  }

  vlen = strlen (vma);
  while (vlen > 0 && vma[vlen - 1] == '/')
    vlen--;
  if (asprintf (&url, "%.*s/api/v1/progress%s%s", (int)vlen, vma,
                job_id ? "/" : "", job_id ? job_id : "") == -1) {
    fprintf (stderr, "cbtrack status: out of memory\n");
    free (token);
    return 1;
  }

  if (cbt_http_global_init () == -1) {
    fprintf (stderr, "cbtrack status: %s\n", cbt_get_error ());
    free (url);
    free (token);
    return 1;
  }
  http = cbt_http_new (&(struct cbt_http_options){
      .component = "status",
      .token = token,
      .ca_file = ca_file,
      .connect_timeout_ms = STATUS_CONNECT_TIMEOUT_MS,
      .timeout_ms = STATUS_TIMEOUT_MS,
      .max_reply = STATUS_MAX_REPLY,
  });
  code = http != NULL ? status_fetch (http, url) : -1;
  if (code == -1) {
    fprintf (stderr, "cbtrack status: %s\n", cbt_get_error ());
    goto out;
  }
  reply = cbt_http_reply (http, &reply_len);
  json = reply_len ? json_loadb (reply, reply_len, 0, &jerr) : NULL;
  if (code == 404 && job_id != NULL) {
    fprintf (stderr, "cbtrack status: no job '%s' at %.*s\n", job_id,
             (int)vlen, vma);
    goto out;
  }
  if (code != 200 || !json_is_object (json)) {
    fprintf (stderr, "cbtrack status: %s answered %ld%s%s\n", url, code,
             json_is_string (json_object_get (json, "error")) ? ": " : "",
             json_is_string (json_object_get (json, "error"))
                 ? json_string_value (json_object_get (json, "error"))
                 : "");
    goto out;
  }

  if (as_json) {
    fwrite (reply, 1, reply_len, stdout);
    if (reply[reply_len - 1] != '\n')
      putchar ('\n');
  } else if (job_id != NULL)
    status_decode_and_print (json, stale_after);
  else {
    jobs = json_object_get (json, CBT_FIELD_JOBS);
    if (json_array_size (jobs) == 0)
      printf ("no jobs at %.*s\n", (int)vlen, vma);
    json_array_foreach (jobs, i, job)
    {
      if (i > 0)
        printf ("\n");
      status_decode_and_print (job, stale_after);
    }
  }
  ret = fflush (stdout) == 0 ? 0 : 1;

out:
  json_decref (json);
  cbt_http_free (http);
  free (url);
  free (token);
  cbt_http_global_cleanup ();
  return ret;
}
