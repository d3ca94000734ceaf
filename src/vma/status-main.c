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

#include <curl/curl.h>
#include <jansson.h>

#include "commands.h"
#include "common/error.h"
#include "common/human.h"
#include "common/ids.h"
#include "common/progress-model.h"
#include "common/vector.h"

#define STATUS_DEFAULT_VMA "http://127.0.0.1:8081"
#define STATUS_MAX_REPLY (256 * 1024 * 1024)
#define STATUS_JOB_BAR 30
#define STATUS_DISK_BAR 20

DEFINE_VECTOR_TYPE (status_buffer, char);

static void
status_usage (FILE *fp)
{
  /* clang-format off */
  fprintf (fp,
"Usage: cbtrack status [--vma URL] [--json] [JOB]\n"
"\n"
"Show the jobs held by a progress service (`cbtrack vma`): one bar per job\n"
"and per disk, with bytes moved of bytes to move, throughput, ETA and\n"
"status.  Without JOB, every job, newest first.\n"
"\n"
"Options:\n"
"  --vma URL    the service (default " STATUS_DEFAULT_VMA ")\n"
"  --json       print the service's JSON answer instead\n"
"  -h, --help   show this help\n"
"\n"
"Exit status: 0 shown, 1 service unreachable or job unknown, 2 usage.\n");
  /* clang-format on */
}

static size_t
status_write (char *data, size_t size, size_t n, void *opaque)
{
  status_buffer *buf = opaque;
  size_t len = size * n;

  if (buf->len + len > STATUS_MAX_REPLY ||
      status_buffer_reserve (buf, len + 1) == -1)
    return 0;
  memcpy (buf->ptr + buf->len, data, len);
  buf->len += len;
  buf->ptr[buf->len] = '\0';
  return len;
}

/* GETs URL into *BUF.  Returns the HTTP status, or -1 with a message
 * recorded when the service cannot be reached.
 */
static long
status_fetch (const char *url, status_buffer *buf)
{
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL *curl;
  CURLcode rc;
  long code = -1;

  curl = curl_easy_init ();
  if (curl == NULL) {
    cbt_set_error ("curl_easy_init failed");
    return -1;
  }
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, status_write);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, buf);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_USERAGENT,
                    "cbtrack-status/" CBTRACK_VERSION);
  rc = curl_easy_perform (curl);
  if (rc != CURLE_OK)
    cbt_set_error ("cannot reach %s: %s", url,
                   errbuf[0] ? errbuf : curl_easy_strerror (rc));
  else
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup (curl);
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
  if (b->status == CBT_STATUS_IN_PROGRESS) {
    if (b->throughput_bps > 0)
      printf ("  %s/s", cbt_human_size (b->throughput_bps, rate, sizeof rate));
    printf ("  ETA %s",
            b->has_eta
                ? cbt_human_duration ((double)b->eta_seconds, eta, sizeof eta)
                : "--:--");
  }
}

static void
status_print_job (const struct cbt_doc_job *job)
{
  const struct status_bar job_bar = {
    .status = job->status,
    .bytes_transferred = job->bytes_transferred,
    .total_bytes = job->total_bytes,
    .percent = job->percent,
    .throughput_bps = job->throughput_bps,
    .has_eta = job->has_eta,
    .eta_seconds = job->eta_seconds,
  };
  size_t i, w = 0;

  printf ("%s  %s  %s  %s  (updated %.0f s ago)\n", job->job_id,
          cbt_status_name (job->status), job->stage[0] ? job->stage : "-",
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
status_decode_and_print (const json_t *obj)
{
  struct cbt_doc_job job;

  if (cbt_job_doc_decode (obj, true, &job) == -1) {
    fprintf (stderr, "cbtrack status: skipping a job: %s\n", cbt_get_error ());
    return;
  }
  status_print_job (&job);
  cbt_doc_job_reset (&job);
}

int
status_main (int argc, char **argv)
{
  static const struct option long_options[] = {
    { "vma", required_argument, NULL, 'v' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL },
  };
  const char *vma = STATUS_DEFAULT_VMA, *job_id = NULL;
  status_buffer reply = empty_vector;
  json_t *json = NULL, *jobs, *job;
  json_error_t jerr;
  char *url = NULL;
  size_t vlen, i;
  int c, as_json = 0, ret = 1;
  long code;

  optind = 1;
  while ((c = getopt_long (argc, argv, "h", long_options, NULL)) != -1) {
    switch (c) {
    case 'v': vma = optarg; break;
    case 'j': as_json = 1; break;
    case 'h': status_usage (stdout); return 0;
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

  vlen = strlen (vma);
  while (vlen > 0 && vma[vlen - 1] == '/')
    vlen--;
  if (asprintf (&url, "%.*s/api/v1/progress%s%s", (int)vlen, vma,
                job_id ? "/" : "", job_id ? job_id : "") == -1) {
    fprintf (stderr, "cbtrack status: out of memory\n");
    return 1;
  }

  curl_global_init (CURL_GLOBAL_DEFAULT);
  code = status_fetch (url, &reply);
  if (code == -1) {
    fprintf (stderr, "cbtrack status: %s\n", cbt_get_error ());
    goto out;
  }
  json = reply.len ? json_loadb (reply.ptr, reply.len, 0, &jerr) : NULL;
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
    fwrite (reply.ptr, 1, reply.len, stdout);
    if (reply.ptr[reply.len - 1] != '\n')
      putchar ('\n');
  } else if (job_id != NULL)
    status_decode_and_print (json);
  else {
    jobs = json_object_get (json, CBT_FIELD_JOBS);
    if (json_array_size (jobs) == 0)
      printf ("no jobs at %.*s\n", (int)vlen, vma);
    json_array_foreach (jobs, i, job)
    {
      if (i > 0)
        printf ("\n");
      status_decode_and_print (job);
    }
  }
  ret = fflush (stdout) == 0 ? 0 : 1;

out:
  json_decref (json);
  status_buffer_reset (&reply);
  free (url);
  curl_global_cleanup ();
  return ret;
}
