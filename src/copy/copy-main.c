/* cbtrack copy - options and wiring. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/error.h"
#include "common/human.h"
#include "copy/checkpoint.h"
#include "copy/copier.h"
#include "copy/disk.h"
#include "copy/faults.h"
#include "copy/job.h"
#include "copy/manifest.h"
#include "copy/reporter.h"
#include "common/ids.h"
#include "common/readfile.h"
#include "common/http-client.h"
#include "common/token.h"
#include "vsphere/connect.h"
#include "vsphere/copy-source.h"
#include "vsphere/snapshot.h"

static void
copy_usage (FILE *fp)
{
  fprintf (
      fp,
      "Usage: cbtrack copy [OPTIONS] SOURCE TARGET\n"
      "       cbtrack copy [OPTIONS] --manifest JOB.json\n"
      "\n"
      "Copy a disk over NBD, moving only the bytes that must move, and "
      "report\n"
      "progress against that real total.  SOURCE and TARGET are NBD URIs\n"
      "(nbd://, nbds://, nbd+unix://, ...) or local files or block devices.  "
      "A\n"
      "target file that does not exist is created.\n"
      "\n"
      "SOURCE may be [ CMD ARGS ]: an NBD server run as a child with systemd\n"
      "socket activation (e.g. [ nbdkit vddk ... ]).  TARGET may be null:,\n"
      "which discards what is written.  '-' (stdout) is not supported.\n"
      "\n"
      "Incremental copies (the target already holds an earlier copy):\n"
      "  -b, --bitmap NAME        copy what the source's dirty bitmap NAME "
      "marks\n"
      "                           (meta context qemu:dirty-bitmap:NAME)\n"
      "      --changed-areas FILE copy the areas of a VMware "
      "QueryChangedDiskAreas\n"
      "                           result (JSON)\n"
      "\n"
      "VMware vSphere (the plan comes from QueryChangedDiskAreas; the data\n"
      "still comes from SOURCE, which must export the same snapshot):\n"
      "      --vsphere-url URL    vCenter or ESXi, https://HOST[/sdk]\n"
      "      --vsphere-user NAME  the vSphere user\n"
      "      --vsphere-password-file FILE  the password is its first line;\n"
      "                           else the environment variable\n"
      "                           " VS_PASSWORD_ENV "\n"
      "      --vsphere-thumbprint SHA256  accept exactly the server\n"
      "                           certificate with this SHA-256 thumbprint\n"
      "      --vsphere-ca-file F  verify the server against the CAs in F\n"
      "      --insecure           do not verify the server at all (loud)\n"
      "      --vsphere-timeout S  bound on each vSphere call (default 120)\n"
      "      --vm VM              the VM's name, or moref=vm-N\n"
      "      --disk-key KEY       the disk's device key (2000, 2001, ...)\n"
      "      --snapshot MOREF     the snapshot SOURCE exports (snapshot-N);\n"
      "                           without it, the VM as it runs\n"
      "      --since CHANGEID     copy what changed since CHANGEID (an\n"
      "                           incremental copy); without it, or with\n"
      "                           '*', every allocated area (a full copy).\n"
      "                           A CHANGEID vSphere no longer knows gives a\n"
      "                           full copy, with a warning.  The disk's new\n"
      "                           changeId is printed on stdout at the end.\n"
      "      --oma-url URL        with a manifest naming a VM: a disk "
      "without\n"
      "                           \"since\" continues from the changeId the\n"
      "                           OMA stored for it (GET URL/api/v1/vms/VM/\n"
      "                           disks); none stored: a full copy\n"
      "      --oma-token-file F   send the bearer token in F to that OMA\n"
      "                           (needed when it requires "
      "authentication)\n"
      "\n"
      "Tuning:\n"
      "  -C, --connections N      NBD connections, when the server allows\n"
      "                           multi-conn (default %u: the CPUs but one,\n"
      "                           at least 1, at most 4)\n"
      "  -R, --requests N         requests in flight per connection "
      "(default:\n"
      "                           8 MiB in flight over the connections, at\n"
      "                           least 4 each; %u here with the defaults)\n"
      "      --request-size SIZE  bytes per read request (default %s)\n"
      "      --target-is-zero     the target reads as zero already: skip "
      "zeroing\n"
      "      --destination-is-zero  the same (nbdcopy's name)\n"
      "      --flush              accepted for nbdcopy: the target is always\n"
      "                           flushed before cbtrack copy succeeds\n"
      "\n"
      "Jobs of several disks:\n"
      "      --manifest FILE      copy the disks listed in FILE as one job "
      "(all\n"
      "                           are analysed before any data moves)\n"
      "      --parallel N         disks transferred at once (default %d)\n"
      "\n"
      "Reporting to a VMA progress service (cbtrack vma):\n"
      "      --vma-url URL        e.g. http://127.0.0.1:8081\n"
      "      --job ID             the job id (required with --vma-url)\n"
      "      --disk ID            this disk's id (single-disk copies)\n"
      "      --vma-token-file F   send the bearer token in F\n"
      "      --cacert FILE        check an https:// VMA or OMA against the "
      "CA\n"
      "                           certificates in FILE (PEM), not the "
      "system's\n"
      "\n"
      "Progress:\n"
      "  -p, --progress[=FD]      without FD: show the bar on stderr even "
      "when it\n"
      "                           is not a terminal; with FD: write "
      "nbdcopy-style\n"
      "                           \"N/100\" lines to file descriptor FD\n"
      "      --progress-json=FD   write one JSON object per update to FD\n"
      "      --report-interval S  seconds between JSON/VMA updates and "
      "checkpoints\n"
      "                           (default 2)\n"
      "  -q, --quiet              no bar, no summary\n"
      "\n"
      "Checkpoints (a copy that stops resumes when run again):\n"
      "      --state-dir DIR      where checkpoints live (default\n"
      "                           $XDG_STATE_HOME/cbtrack, else "
      "/var/lib/cbtrack for\n"
      "                           root, else ~/.local/state/cbtrack)\n"
      "                           one file per disk: JOB--DISK.checkpoint, "
      "or\n"
      "                           copy-HASH.checkpoint (HASH of SOURCE and "
      "TARGET)\n"
      "                           without --job/--disk; written every "
      "report\n"
      "                           interval, for flushed data only\n"
      "      --restart            throw an existing checkpoint away and "
      "copy\n"
      "                           from the start\n"
      "      --no-checkpoint      keep no checkpoint (a rerun starts over)\n"
      "\n"
      "Faults:\n"
      "      --retries N          send a failed read, write or zeroing "
      "again up\n"
      "                           to N times, with backoff (default %d)\n"
      "      --connect-timeout S  give up an NBD connection not ready "
      "within S\n"
      "                           seconds (default %g)\n"
      "      --io-timeout S       a connection on which requests wait and "
      "no reply\n"
      "                           comes for S seconds counts as lost "
      "(default %g)\n"
      "      --reconnect-timeout S  bring a lost NBD connection back "
      "within S\n"
      "                           seconds, or fail (default %g)\n"
      "\n"
      "SIGINT, SIGTERM and SIGHUP stop the copy: what is in flight drains, "
      "a\n"
      "final update says it was interrupted, and the exit status is 1.  A\n"
      "second signal exits at once.  A job cancelled through its VMA (or\n"
      "the OMA) stops the same way; run the same command to resume.\n"
      "\n"
      "  -h, --help               show this help\n"
      "  -V, --version            show the version\n"
      "\n"
      "Exit status: 0 copied and flushed, 1 failed, 2 usage error.\n",
      copier_default_connections (),
      copier_default_requests (copier_default_connections (),
                               COPIER_DEFAULT_REQUEST_SIZE),
      "256K", JOB_DEFAULT_PARALLEL, FAULTS_DEFAULT_RETRIES,
      FAULTS_DEFAULT_CONNECT_TIMEOUT, FAULTS_DEFAULT_IO_TIMEOUT,
      FAULTS_DEFAULT_RECONNECT_TIMEOUT);
}

enum {
  OPT_CHANGED_AREAS = 256,
  OPT_REQUEST_SIZE,
  OPT_TARGET_IS_ZERO,
  OPT_PROGRESS_JSON,
  OPT_REPORT_INTERVAL,
  OPT_MANIFEST,
  OPT_PARALLEL,
  OPT_VMA_URL,
  OPT_JOB,
  OPT_DISK,
  OPT_VMA_TOKEN_FILE,
  OPT_CACERT,
  OPT_OMA_TOKEN_FILE,
  OPT_STATE_DIR,
  OPT_RESTART,
  OPT_NO_CHECKPOINT,
  OPT_RETRIES,
  OPT_CONNECT_TIMEOUT,
  OPT_IO_TIMEOUT,
  OPT_RECONNECT_TIMEOUT,
  OPT_FLUSH,
  OPT_VSPHERE_URL,
  OPT_VSPHERE_USER,
  OPT_VSPHERE_PASSWORD_FILE,
  OPT_VSPHERE_THUMBPRINT,
  OPT_VSPHERE_CA_FILE,
  OPT_INSECURE,
  OPT_VM,
  OPT_DISK_KEY,
  OPT_SNAPSHOT,
  OPT_SINCE,
  OPT_OMA_URL,
  OPT_VSPHERE_TIMEOUT,
};

static const struct option copy_long_options[] = {
  { "bitmap", required_argument, NULL, 'b' },
  { "changed-areas", required_argument, NULL, OPT_CHANGED_AREAS },
  { "connections", required_argument, NULL, 'C' },
  { "requests", required_argument, NULL, 'R' },
  { "request-size", required_argument, NULL, OPT_REQUEST_SIZE },
  { "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
  { "destination-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
  { "flush", no_argument, NULL, OPT_FLUSH },
  { "progress", optional_argument, NULL, 'p' },
  { "progress-json", required_argument, NULL, OPT_PROGRESS_JSON },
  { "report-interval", required_argument, NULL, OPT_REPORT_INTERVAL },
  { "manifest", required_argument, NULL, OPT_MANIFEST },
  { "parallel", required_argument, NULL, OPT_PARALLEL },
  { "vma-url", required_argument, NULL, OPT_VMA_URL },
  { "job", required_argument, NULL, OPT_JOB },
  { "disk", required_argument, NULL, OPT_DISK },
  { "vma-token-file", required_argument, NULL, OPT_VMA_TOKEN_FILE },
  { "cacert", required_argument, NULL, OPT_CACERT },
  { "oma-token-file", required_argument, NULL, OPT_OMA_TOKEN_FILE },
  { "state-dir", required_argument, NULL, OPT_STATE_DIR },
  { "restart", no_argument, NULL, OPT_RESTART },
  { "no-checkpoint", no_argument, NULL, OPT_NO_CHECKPOINT },
  { "retries", required_argument, NULL, OPT_RETRIES },
  { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
  { "io-timeout", required_argument, NULL, OPT_IO_TIMEOUT },
  { "reconnect-timeout", required_argument, NULL, OPT_RECONNECT_TIMEOUT },
  { "vsphere-url", required_argument, NULL, OPT_VSPHERE_URL },
  { "vsphere-user", required_argument, NULL, OPT_VSPHERE_USER },
  { "vsphere-password-file", required_argument, NULL,
    OPT_VSPHERE_PASSWORD_FILE },
  { "vsphere-thumbprint", required_argument, NULL, OPT_VSPHERE_THUMBPRINT },
  { "vsphere-ca-file", required_argument, NULL, OPT_VSPHERE_CA_FILE },
  { "insecure", no_argument, NULL, OPT_INSECURE },
  { "vm", required_argument, NULL, OPT_VM },
  { "disk-key", required_argument, NULL, OPT_DISK_KEY },
  { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
  { "since", required_argument, NULL, OPT_SINCE },
  { "oma-url", required_argument, NULL, OPT_OMA_URL },
  { "vsphere-timeout", required_argument, NULL, OPT_VSPHERE_TIMEOUT },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'V' },
  { NULL, 0, NULL, 0 },
};

/* Parses a file descriptor given to a progress option and checks that it
 * is open.
 */
static int
copy_parse_fd (const char *opt, const char *arg, int *ret_fd)
{
  long long fd;

  if (cbt_parse_int (opt, arg, 0, 1 << 20, &fd) == -1)
    return -1;
  if (fcntl ((int)fd, F_GETFD) == -1) {
    cbt_set_error ("%s: file descriptor %lld is not open", opt, fd);
    return -1;
  }
  *ret_fd = (int)fd;
  return 0;
}

/* Parses a timeout option: a duration above 0. */
static int
copy_parse_timeout (const char *opt, const char *arg, double *ret)
{
  double d;

  if (cbt_parse_duration (arg, &d) == -1)
    return -1;
  if (!(d > 0)) {
    cbt_set_error ("%s must be above 0", opt);
    return -1;
  }
  *ret = d;
  return 0;
}

/* The name of the signals that stop a copy, for messages. */
static const char *
copy_signal_name (int signo)
{
  return signo == SIGINT    ? "SIGINT"
         : signo == SIGTERM ? "SIGTERM"
         : signo == SIGHUP  ? "SIGHUP"
                            : "signal";
}

/* Whether a bar may be on the current line of stderr (set before the
 * signal thread starts).
 */
static bool copy_signal_bar;

/* The signal thread: the signals in the set ARG are blocked in every
 * thread and taken here alone, so no work runs in a handler.  The first
 * asks the copy to stop (the workers see it, drain and fail with
 * "interrupted"); a second one ends the process at once.
 */
static void *
copy_signal_thread (void *arg)
{
  const sigset_t *set = arg;
  bool signalled = false;

  for (;;) {
    int signo;

    if (sigwait (set, &signo) != 0)
      continue;
    /* The first signal asks to stop (a cancel may have asked already). */
    if (!signalled) {
      signalled = true;
      faults_request_stop (signo);
      continue;
    }
    fprintf (stderr,
             "%scbtrack copy: %s again: exiting at once, without the final"
             " update\n",
             copy_signal_bar ? "\n" : "", copy_signal_name (signo));
    _exit (1);
  }
  return NULL;
}

/* The signals that stop a copy. */
static sigset_t copy_stop_signals;

/* The reporter's on_cancel: the VMA answered that the job was cancelled,
 * so the copy stops as on SIGTERM (drains, checkpoints, final update,
 * exit 1).
 */
static void
copy_cancelled (void)
{
  faults_request_stop (FAULTS_STOP_CANCEL);
}

/* Blocks the stop signals (before any thread starts, so every thread
 * inherits the mask), ignores SIGPIPE (a progress reader that goes away
 * is handled where it is written), and starts the signal thread.
 * Returns 0, or -1 with an error recorded.
 */
/* In a child forked by a library (libnbd runs a [ CMD ARGS ] server so),
 * before it execs: the server must not inherit the copy's blocked stop
 * signals and ignored SIGPIPE, or it could never be stopped.  Only
 * async-signal-safe calls.
 */
static void
copy_signals_child (void)
{
  signal (SIGPIPE, SIG_DFL);
  sigprocmask (SIG_UNBLOCK, &copy_stop_signals, NULL);
}

static int
copy_signals_start (pthread_t *ret_thread)
{
  int err;

  sigemptyset (&copy_stop_signals);
  sigaddset (&copy_stop_signals, SIGINT);
  sigaddset (&copy_stop_signals, SIGTERM);
  sigaddset (&copy_stop_signals, SIGHUP);
  if (signal (SIGPIPE, SIG_IGN) == SIG_ERR) {
    cbt_set_error_errno (errno, "cannot ignore SIGPIPE");
    return -1;
  }
  err = pthread_atfork (NULL, NULL, copy_signals_child);
  if (err == 0)
    err = pthread_sigmask (SIG_BLOCK, &copy_stop_signals, NULL);
  if (err == 0)
    err = pthread_create (ret_thread, NULL, copy_signal_thread,
                          &copy_stop_signals);
  if (err) {
    cbt_set_error ("cannot set up signal handling: %s", strerror (err));
    return -1;
  }
  return 0;
}

/* Stops the signal thread.  The signals stay blocked: one arriving now
 * stays pending until the process exits.
 */
static void
copy_signals_stop (pthread_t thread)
{
  int err = pthread_cancel (thread);

  /* sigwait is a cancellation point. */
  if (err == 0)
    err = pthread_join (thread, NULL);
  if (err)
    fprintf (stderr, "cbtrack copy: cannot stop the signal thread: %s\n",
             strerror (err));
}

/* What copy_main needs to print the lines about a job's disks. */
struct copy_job_view {
  const struct disk_spec *specs;
  size_t n;
  bool bar; /* a bar may be on the current line of stderr */
};

/* Formats "cbtrack copy: " and, in a job of several disks, "disk ID: "
 * into BUF of LEN bytes: the prefix of every line about disk INDEX.
 */
static const char *
copy_disk_prefix (const struct copy_job_view *v, size_t index, char *buf,
                  size_t len)
{
  const char *id = index < v->n ? v->specs[index].id : NULL;
  bool named = v->n > 1 && id;

  snprintf (buf, len, "cbtrack copy: %s%s%s", named ? "disk " : "",
            named ? id : "", named ? ": " : "");
  return buf;
}

/* A job_warn_fn: prints the warning about disk INDEX on its own line
 * (below the bar, if one is drawn).
 */
static void
copy_warn (void *opaque, size_t index, const char *message)
{
  const struct copy_job_view *v = opaque;
  char prefix[192];

  fprintf (stderr, "%s%s%s\n", v->bar ? "\n" : "",
           copy_disk_prefix (v, index, prefix, sizeof prefix), message);
}

/* Prints the one-line summary of what moved for the completed disk R,
 * after PREFIX.
 */
static void
copy_print_summary (const struct disk_result *r, const char *prefix)
{
  char copied[32], written[32], zskip[32], holes[32], rate[32];
  char resumed[80] = "";
  const char *holes_verb;
  uint64_t moved;

  assert (r->status == CBT_STATUS_COMPLETED);
  assert (r->resumed_bytes <= r->bytes_transferred);
  moved = r->bytes_transferred - r->resumed_bytes;
  cbt_human_size (moved, copied, sizeof copied);
  cbt_human_size (r->bytes_written, written, sizeof written);
  cbt_human_size (r->bytes_zero_skipped, zskip, sizeof zskip);
  cbt_human_size (
      r->elapsed_seconds > 0 ? (uint64_t)(moved / r->elapsed_seconds) : 0,
      rate, sizeof rate);
  if (r->resumed_bytes > 0) {
    char done[32];

    cbt_human_size (r->resumed_bytes, done, sizeof done);
    snprintf (resumed, sizeof resumed, " (resumed: %s were done before)",
              done);
  }
  if (r->incremental) {
    cbt_human_size (r->capacity_bytes - r->dirty_bytes, holes, sizeof holes);
    holes_verb = "unchanged, left alone";
  } else {
    cbt_human_size (r->zero_bytes + r->hole_bytes, holes, sizeof holes);
    holes_verb = r->bytes_zeroed ? "holes and zeroes zeroed on the target"
                                 : "holes and zeroes skipped";
  }
  fprintf (stderr,
           "%sdone: %s %s of %s copied%s in %.1f s (%s/s): %s written, %s"
           " zero blocks skipped, %s %s%s\n",
           prefix, r->incremental ? "incremental" : "full", copied,
           r->incremental ? "changed data" : "data", resumed,
           r->elapsed_seconds, rate, written, zskip, holes, holes_verb,
           r->have_allocation
               ? ""
               : " (the source has no allocation map: the whole disk counted"
                 " as data)");
}

/* Runs the job of the N disks in SPECS and prints what became of each:
 * the reason of every failure and, unless QUIET, every summary.  Returns
 * the exit status: 0 when every disk completed, else 1.
 */
static int
copy_run_job (const struct disk_spec *specs, size_t n,
              struct job_options *jopts, bool quiet)
{
  struct copy_job_view view = { .specs = specs, .n = n, .bar = jopts->bar };
  struct disk_result *results = calloc (n, sizeof *results);
  size_t i;
  int ret = 0;

  if (results == NULL) {
    fprintf (stderr, "cbtrack copy: out of memory\n");
    return 1;
  }
  jopts->warn = copy_warn;
  jopts->warn_opaque = &view;
  if (job_run (specs, n, jopts, results) == -1) {
    fprintf (stderr, "cbtrack copy: %s\n", cbt_get_error ());
    free (results);
    return 1;
  }
  for (i = 0; i < n; i++) {
    char prefix[192];

    copy_disk_prefix (&view, i, prefix, sizeof prefix);
    if (results[i].status != CBT_STATUS_COMPLETED) {
      fprintf (stderr, "%s%s\n", prefix, results[i].error);
      ret = 1;
    } else if (!quiet) {
      copy_print_summary (&results[i], prefix);
    }
  }
  free (results);
  return ret;
}

/* Reads and parses the manifest FILE into *RET. */
static int
copy_load_manifest (const char *file, struct manifest *ret)
{
  char *text, msg[512];
  size_t len;
  int r;

  if (cbt_read_file (file, &text, &len) == -1)
    return -1;
  r = manifest_parse (text, len, ret);
  free (text);
  if (r == -1) {
    snprintf (msg, sizeof msg, "%s", cbt_get_error ());
    cbt_set_error ("%s: %s", file, msg);
  }
  return r;
}

/* The source "[ CMD ARGS ]": argv with the bracketed words replaced by
 * one word (its display name), and the server's own argv.
 */
struct copy_command {
  char **argv; /* the whole command line, the command collapsed */
  int argc;
  char **command; /* CMD ARGS, NULL-terminated; NULL when there is none */
  char *name;     /* "[ CMD ARGS ]", for messages; the word in argv */
};

/* Finds "[ CMD ARGS ]" in ARGV (a "[" word, at least one word, a "]"
 * word) and fills RET.  Without one, RET->argv is a copy of ARGV and
 * RET->command NULL.  Returns 0, or -1 with an error recorded (an
 * unmatched "[" or an empty command; out of memory).
 */
static int
copy_take_command (int argc, char **argv, struct copy_command *ret)
{
  struct copy_command cc = { 0 };
  int i, open = -1, close = -1, j;
  size_t len = 0, size = 0;

  for (i = 1; i < argc && open == -1; i++)
    if (strcmp (argv[i], "[") == 0)
      open = i;
  for (i = open + 1; open != -1 && i < argc && close == -1; i++)
    if (strcmp (argv[i], "]") == 0)
      close = i;
  if (open != -1 && (close == -1 || close == open + 1)) {
    cbt_set_error ("'[' must be followed by a command and ']'");
    return -1;
  }
  cc.argv = calloc ((size_t)argc + 1, sizeof *cc.argv);
  if (cc.argv == NULL)
    goto nomem;
  if (open == -1) {
    for (i = 0; i < argc; i++)
      cc.argv[i] = argv[i];
    cc.argc = argc;
    *ret = cc;
    return 0;
  }

  cc.command = calloc ((size_t)(close - open), sizeof *cc.command);
  if (cc.command == NULL)
    goto nomem;
  for (i = open; i <= close; i++)
    size += strlen (argv[i]) + 1;
  cc.name = malloc (size);
  if (cc.name == NULL)
    goto nomem;
  for (i = open; i <= close; i++) {
    int r = snprintf (cc.name + len, size - len, "%s%s", i > open ? " " : "",
                      argv[i]);

    assert (r > 0 && (size_t)r < size - len);
    len += (size_t)r;
  }
  for (i = open + 1, j = 0; i < close; i++)
    cc.command[j++] = argv[i];
  for (i = 0, j = 0; i < argc; i++) {
    if (i == open)
      cc.argv[j++] = cc.name;
    else if (i < open || i > close)
      cc.argv[j++] = argv[i];
  }
  cc.argc = j;
  *ret = cc;
  return 0;

nomem:
  cbt_set_error ("out of memory");
  free (cc.argv);
  free (cc.command);
  free (cc.name);
  return -1;
}

static int copy_main_args (int argc, char **argv, const char *command_name,
                           char **command);
/* A copy whose plan comes from vSphere: one disk (the command line) or
 * the disks of a manifest.
 */
struct copy_vsphere {
  struct vs_connect_args conn;
  const char *vm;
  const char *snapshot; /* given, or the one made for the job */
  const char *since;    /* the command line's --since */
  long long key;        /* the command line's --disk-key; -1: not given */
  bool initialised;     /* vs_global_init was called */
  struct vs_session *session;
  char made_snapshot[VS_MOREF_MAX]; /* made here, removed at the end */
  size_t n;
  struct vs_copy_disk *disks;
  map_extent_vector *ranges;
};

/* Asks vSphere for the plan of the N disks of SPECS and points each spec
 * at its own.  With MAKE_SNAPSHOT, first makes a snapshot for all of them
 * (named after JOB_ID), removed by copy_vsphere_end.  Prints the warning
 * of each fallback to a full copy.  Returns 0, or -1 with an error
 * recorded.
 */
static int
copy_vsphere_prepare (struct copy_vsphere *cv, struct disk_spec *specs,
                      size_t n, bool make_snapshot, const char *job_id)
{
  char vm[VS_MOREF_MAX], name[192];
  vs_disk_vector disks = empty_vector;
  size_t i, j;
  int r = -1;

  if (cv->conn.insecure)
    fprintf (stderr, "cbtrack copy: WARNING: --insecure: the vSphere"
                     " server's certificate is NOT verified; anyone on the"
                     " path can read the password\n");
  cv->disks = calloc (n, sizeof *cv->disks);
  cv->ranges = calloc (n, sizeof *cv->ranges);
  if (cv->disks == NULL || cv->ranges == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  cv->n = n;
  if (vs_global_init () == -1)
    return -1;
  cv->initialised = true;
  cv->session = vs_connect (&cv->conn);
  if (cv->session == NULL)
    return -1;
  if (vs_find_vm (cv->session, cv->vm, vm) == -1)
    goto out;
  if (make_snapshot) {
    snprintf (name, sizeof name, "cbtrack %s", job_id ? job_id : "copy");
    if (vs_snapshot_create (cv->session, vm, name, cv->made_snapshot) == -1)
      goto out;
    cv->snapshot = cv->made_snapshot;
  }
  if (vs_get_disks (cv->session,
                    cv->snapshot ? "VirtualMachineSnapshot" : "VirtualMachine",
                    cv->snapshot ? cv->snapshot : vm, &disks) == -1)
    goto out;
  for (i = 0; i < n; i++) {
    struct vs_copy_disk *d = &cv->disks[i];

    d->key = (int32_t)(cv->key >= 0 ? cv->key : specs[i].vsphere_key);
    d->since = cv->key >= 0 ? cv->since : specs[i].since;
    if (vs_copy_disk_query (cv->session, vm, cv->snapshot, &disks, d) == -1) {
      if (n > 1) {
        char msg[512];

        snprintf (msg, sizeof msg, "%s", cbt_get_error ());
        cbt_set_error ("disk %s: %s", specs[i].id, msg);
      }
      goto out;
    }
    if (map_extent_vector_reserve (&cv->ranges[i], d->areas.len) == -1) {
      cbt_set_error ("out of memory");
      goto out;
    }
    for (j = 0; j < d->areas.len; j++)
      cv->ranges[i].ptr[cv->ranges[i].len++] =
          (struct map_extent){ .offset = d->areas.ptr[j].start,
                               .length = d->areas.ptr[j].length };
    if (d->full)
      specs[i].allocated_ranges = &cv->ranges[i];
    else
      specs[i].changed_ranges = &cv->ranges[i];
    specs[i].expected_size = d->capacity;
    specs[i].change_id = d->change_id;
    if (d->fell_back)
      specs[i].warning = d->fallback_reason;
    if (d->fell_back)
      fprintf (stderr, "cbtrack copy: %s%s%sWARNING: %s\n",
               n > 1 ? "disk " : "", n > 1 ? specs[i].id : "",
               n > 1 ? ": " : "", d->fallback_reason);
  }
  r = 0;
out:
  vs_disk_vector_reset (&disks);
  return r;
}

/* Prints, after a copy that ended with status RET, the warning of each
 * fallback again (for the summary) and the new changeIds on stdout: the
 * changeId alone for one disk, "DISK_ID CHANGEID" lines for a manifest.
 */
static void
copy_vsphere_report (const struct copy_vsphere *cv,
                     const struct disk_spec *specs, bool manifest, bool quiet)
{
  size_t i;

  for (i = 0; i < cv->n; i++) {
    if (cv->disks[i].fell_back && !quiet)
      fprintf (stderr,
               "cbtrack copy: %s%s%sWARNING: this was a full copy,"
               " not an incremental one: %s\n",
               manifest ? "disk " : "", manifest ? specs[i].id : "",
               manifest ? ": " : "", cv->disks[i].fallback_reason);
    if (manifest)
      printf ("%s %s\n", specs[i].id, cv->disks[i].change_id);
    else
      printf ("%s\n", cv->disks[i].change_id);
  }
}

/* Tells the VMA (through REPORTER, when not NULL) where the N disks of
 * SPECS stand while vSphere is asked, before their analysis proper: in
 * progress in stage Analysis (MESSAGE NULL), or failed with MESSAGE, a
 * final update (job-level for a single disk without an id).
 */
static void
copy_report_vsphere (struct reporter *reporter, const struct disk_spec *specs,
                     size_t n, const char *message)
{
  char msg[512];
  size_t i;

  if (reporter == NULL)
    return;
  snprintf (msg, sizeof msg, "%s", message ? message : "");
  for (i = 0; i < n; i++) {
    struct cbt_progress p = {
      .stage = cbt_stage_name (CBT_STAGE_ANALYSIS),
      .status = message ? CBT_STATUS_FAILED : CBT_STATUS_IN_PROGRESS,
      .sync_type = specs[i].since ? CBT_SYNC_INCREMENTAL : CBT_SYNC_FULL,
      .error_message = msg,
    };
    char *body;

    cbt_progress_derive (&p);
    body = cbt_update_encode (&p, specs[i].id, 0);
    if (body != NULL)
      reporter_offer (reporter, specs[i].id, body, message != NULL);
    free (body);
  }
}

/* Asks the OMA at OMA_URL (checked against CA_FILE when not NULL; TOKEN,
 * when not NULL, sent as a bearer token) for the changeIds of the VM named VM
 * and sets "since" of each of the N disks of SPECS that has none and whose
 * disk id the OMA knows; the strings live in *RET_DOC (json_decref it).
 * Returns 0, or -1 with an error recorded: an OMA that cannot answer stops the
 * copy rather than turning every disk into a full copy.
 */
static int
copy_oma_since (const char *oma_url, const char *ca_file, const char *token,
                const char *vm, struct disk_spec *specs, size_t n,
                json_t **ret_doc)
{
  struct cbt_http_options ho = { .component = "copy",
                                 .ca_file = ca_file,
                                 .token = token };
  struct cbt_http *http = NULL;
  json_error_t jerr;
  json_t *doc = NULL, *disks, *d;
  char *url = NULL;
  const char *reply;
  size_t len, i, j;
  long status;
  int r = -1;

  if (!cbt_id_is_valid (vm)) {
    cbt_set_error ("--oma-url: the VM name '%s' is not an id the OMA can"
                   " look up ([A-Za-z0-9._:-])",
                   vm);
    return -1;
  }
  if (asprintf (&url, "%s/api/v1/vms/%s/disks", oma_url, vm) == -1) {
    url = NULL;
    cbt_set_error ("out of memory");
    return -1;
  }
  if (cbt_http_global_init () == -1)
    goto out;
  http = cbt_http_new (&ho);
  if (http == NULL || cbt_http_prepare (http, "GET", url, NULL, NULL, 0) ||
      cbt_http_perform (http, &status) == -1)
    goto out_global;
  if (status != 200) {
    cbt_set_error ("%s: HTTP %ld", url, status);
    goto out_global;
  }
  reply = cbt_http_reply (http, &len);
  doc = json_loadb (reply, len, 0, &jerr);
  disks = doc ? json_object_get (doc, "disks") : NULL;
  if (!json_is_array (disks)) {
    cbt_set_error ("%s: not a VM's disks document", url);
    goto out_global;
  }
  for (i = 0; i < n; i++) {
    if (specs[i].since)
      continue;
    json_array_foreach (disks, j, d)
    {
      const char *id = json_string_value (json_object_get (d, "disk_id"));
      const char *c = json_string_value (json_object_get (d, "change_id"));

      if (id && c && strcmp (id, specs[i].id) == 0)
        specs[i].since = c;
    }
  }
  *ret_doc = doc;
  doc = NULL;
  r = 0;
out_global:
  cbt_http_free (http);
  cbt_http_global_cleanup ();
out:
  json_decref (doc);
  free (url);
  return r;
}

/* Removes the snapshot made for the job (also after a failure), logs out
 * and frees what CV holds.  A snapshot that cannot be removed is said
 * loudly: it would keep growing on the datastore.
 */
static void
copy_vsphere_end (struct copy_vsphere *cv)
{
  size_t i;

  if (cv->session) {
    if (cv->made_snapshot[0] &&
        vs_snapshot_remove (cv->session, cv->made_snapshot) == -1)
      fprintf (stderr,
               "cbtrack copy: WARNING: the snapshot %s was not"
               " removed: %s\n",
               cv->made_snapshot, cbt_get_error ());
    cv->made_snapshot[0] = '\0';
    vs_session_close (cv->session);
    cv->session = NULL;
  }
  if (cv->initialised) {
    vs_global_cleanup ();
    cv->initialised = false;
  }
  for (i = 0; i < cv->n; i++) {
    vs_copy_disk_free (&cv->disks[i]);
    map_extent_vector_reset (&cv->ranges[i]);
  }
  free (cv->disks);
  free (cv->ranges);
  cv->disks = NULL;
  cv->ranges = NULL;
  cv->n = 0;
}

int
copy_main (int argc, char **argv)
{
  struct copy_command cc;
  int r;

  if (copy_take_command (argc, argv, &cc) == -1) {
    fprintf (stderr,
             "cbtrack copy: %s\n"
             "Try 'cbtrack copy --help' for more information.\n",
             cbt_get_error ());
    return 2;
  }
  r = copy_main_args (cc.argc, cc.argv, cc.name, cc.command);
  free (cc.argv);
  free (cc.command);
  free (cc.name);
  return r;
}

/* copy_main, once a source "[ CMD ARGS ]" (if any) has become the one
 * word COMMAND_NAME in ARGV, COMMAND being its argv.
 */
static int
copy_main_args (int argc, char **argv, const char *command_name,
                char **command)
{
  struct copy_vsphere cv = { .key = -1 };
  struct job_options jopts = {
    .copier = {
      .connections = copier_default_connections (),
      .requests = 0, /* the default, once the others are known */
      .request_size = COPIER_DEFAULT_REQUEST_SIZE,
    },
    .parallel = JOB_DEFAULT_PARALLEL,
    .percent_fd = -1, .json_fd = -1, .interval = 2,
  };
  struct disk_spec spec = { 0 };
  struct manifest manifest = { 0 };
  struct faults_policy policy = *faults_policy ();
  pthread_t signal_thread;
  const char *manifest_file = NULL, *vma_url = NULL, *job_id = NULL;
  const char *token_file = NULL, *state_dir = NULL, *oma_url = NULL;
  const char *ca_file = NULL, *oma_token_file = NULL;
  json_t *oma_doc = NULL;
  double vsphere_timeout = 0;
  char *token = NULL, *oma_token = NULL, default_dir[4096];
  bool force_bar = false, quiet = false, no_checkpoint = false;
  int c, ret = 1;

  optind = 1;
  while ((c = getopt_long (argc, argv, "b:C:R:p::qhV", copy_long_options,
                           NULL)) != -1) {
    long long n;
    uint64_t size;

    switch (c) {
    case 'b': spec.bitmap = optarg; break;
    case OPT_CHANGED_AREAS: spec.changed_areas = optarg; break;
    case 'C':
      if (cbt_parse_int ("--connections", optarg, 1, COPIER_MAX_CONNECTIONS,
                         &n) == -1)
        goto usage_error;
      jopts.copier.connections = (unsigned)n;
      break;
    case 'R':
      if (cbt_parse_int ("--requests", optarg, 1, COPIER_MAX_REQUESTS, &n) ==
          -1)
        goto usage_error;
      jopts.copier.requests = (unsigned)n;
      break;
    case OPT_REQUEST_SIZE:
      if (cbt_parse_size (optarg, &size) == -1)
        goto usage_error;
      if (size < 4096 || size > COPIER_MAX_REQUEST_SIZE || size % 4096) {
        cbt_set_error ("--request-size must be a multiple of 4096 from 4K"
                       " to 32M");
        goto usage_error;
      }
      jopts.copier.request_size = (size_t)size;
      break;
    case OPT_TARGET_IS_ZERO: spec.target_is_zero = true; break;
    case OPT_FLUSH: break; /* the target is always flushed at the end */
    case 'p':
      if (optarg == NULL)
        force_bar = true;
      else if (copy_parse_fd ("--progress", optarg, &jopts.percent_fd) == -1)
        goto usage_error;
      break;
    case OPT_PROGRESS_JSON:
      if (copy_parse_fd ("--progress-json", optarg, &jopts.json_fd) == -1)
        goto usage_error;
      break;
    case OPT_REPORT_INTERVAL:
      if (cbt_parse_duration (optarg, &jopts.interval) == -1)
        goto usage_error;
      break;
    case OPT_MANIFEST: manifest_file = optarg; break;
    case OPT_PARALLEL:
      if (cbt_parse_int ("--parallel", optarg, 1, MANIFEST_MAX_DISKS, &n) ==
          -1)
        goto usage_error;
      jopts.parallel = (unsigned)n;
      break;
    case OPT_VMA_URL: vma_url = optarg; break;
    case OPT_JOB: job_id = optarg; break;
    case OPT_DISK: spec.id = optarg; break;
    case OPT_VMA_TOKEN_FILE: token_file = optarg; break;
    case OPT_CACERT: ca_file = optarg; break;
    case OPT_OMA_TOKEN_FILE: oma_token_file = optarg; break;
    case OPT_STATE_DIR: state_dir = optarg; break;
    case OPT_RESTART: jopts.restart = true; break;
    case OPT_NO_CHECKPOINT: no_checkpoint = true; break;
    case OPT_RETRIES:
      if (cbt_parse_int ("--retries", optarg, 0, FAULTS_MAX_RETRIES, &n) == -1)
        goto usage_error;
      policy.retries = (unsigned)n;
      break;
    case OPT_CONNECT_TIMEOUT:
      if (copy_parse_timeout ("--connect-timeout", optarg,
                              &policy.connect_timeout) == -1)
        goto usage_error;
      break;
    case OPT_IO_TIMEOUT:
      if (copy_parse_timeout ("--io-timeout", optarg, &policy.io_timeout) ==
          -1)
        goto usage_error;
      break;
    case OPT_RECONNECT_TIMEOUT:
      if (copy_parse_timeout ("--reconnect-timeout", optarg,
                              &policy.reconnect_timeout) == -1)
        goto usage_error;
      break;
    case OPT_VSPHERE_URL: cv.conn.url = optarg; break;
    case OPT_VSPHERE_USER: cv.conn.user = optarg; break;
    case OPT_VSPHERE_PASSWORD_FILE: cv.conn.password_file = optarg; break;
    case OPT_VSPHERE_THUMBPRINT: cv.conn.thumbprint = optarg; break;
    case OPT_VSPHERE_CA_FILE: cv.conn.ca_file = optarg; break;
    case OPT_INSECURE: cv.conn.insecure = true; break;
    case OPT_VM: cv.vm = optarg; break;
    case OPT_SNAPSHOT: cv.snapshot = optarg; break;
    case OPT_SINCE: cv.since = optarg; break;
    case OPT_OMA_URL: oma_url = optarg; break;
    case OPT_VSPHERE_TIMEOUT:
      if (cbt_parse_duration (optarg, &vsphere_timeout) == -1)
        goto usage_error;
      if (vsphere_timeout <= 0) {
        cbt_set_error ("--vsphere-timeout must be more than 0");
        goto usage_error;
      }
      break;
    case OPT_DISK_KEY:
      if (cbt_parse_int ("--disk-key", optarg, 0, INT32_MAX, &cv.key) == -1)
        goto usage_error;
      break;
    case 'q': quiet = true; break;
    case 'h': copy_usage (stdout); return 0;
    case 'V': printf ("cbtrack %s\n", CBTRACK_VERSION); return 0;
    default: copy_usage (stderr); return 2;
    }
  }

  if (manifest_file) {
    size_t i;

    if (argc - optind != 0 || spec.bitmap || spec.changed_areas || spec.id) {
      cbt_set_error ("with --manifest, sources, targets, --bitmap,"
                     " --changed-areas and --disk come from the manifest");
      goto usage_error;
    }
    if (command) {
      cbt_set_error ("with --manifest, a source '[ CMD ARGS ]' cannot be"
                     " used");
      goto usage_error;
    }
    if (cv.conn.url || cv.conn.user || cv.conn.password_file ||
        cv.conn.thumbprint || cv.conn.ca_file || cv.conn.insecure || cv.vm ||
        cv.key >= 0 || cv.snapshot || cv.since) {
      cbt_set_error ("with --manifest, the vSphere settings come from the"
                     " manifest's \"vsphere\" object");
      goto usage_error;
    }
    if (copy_load_manifest (manifest_file, &manifest) == -1)
      goto usage_error;
    if (manifest.has_vsphere) {
      cv.conn = (struct vs_connect_args){
        .url = manifest.vsphere.url,
        .user = manifest.vsphere.user,
        .password_file = manifest.vsphere.password_file,
        .thumbprint = manifest.vsphere.thumbprint,
        .ca_file = manifest.vsphere.ca_file,
        .insecure = manifest.vsphere.insecure,
      };
      cv.vm = manifest.vsphere.vm;
      cv.snapshot = manifest.vsphere.snapshot;
      if (vs_connect_check (&cv.conn) == -1)
        goto usage_error;
    }
    for (i = 0; i < manifest.nr_disks; i++)
      manifest.disks[i].target_is_zero |= spec.target_is_zero;
    if (job_id == NULL)
      job_id = manifest.job_id;
    if (vma_url == NULL)
      vma_url = manifest.vma_url;
  } else {
    if (argc - optind != 2) {
      cbt_set_error ("expected SOURCE and TARGET (or --manifest FILE)");
      goto usage_error;
    }
    if (spec.bitmap && spec.changed_areas) {
      cbt_set_error ("--bitmap and --changed-areas are alternatives");
      goto usage_error;
    }
    spec.source = argv[optind];
    spec.target = argv[optind + 1];
    if (command && spec.target == command_name) {
      cbt_set_error ("'[ CMD ARGS ]' can only be the source");
      goto usage_error;
    }
    if (command)
      spec.source_command = command;
    if (strcmp (spec.target, "-") == 0 || strcmp (spec.source, "-") == 0) {
      cbt_set_error ("'-' (standard input/output) is not supported: cbtrack"
                     " reads and writes out of order; give a file, a block"
                     " device, an NBD URI, or null: to discard");
      goto usage_error;
    }
  }
  if (!manifest_file && (cv.conn.url || cv.conn.user || cv.vm || cv.key >= 0 ||
                         cv.snapshot || cv.since)) {
    if (cv.conn.url == NULL || cv.vm == NULL || cv.key < 0) {
      cbt_set_error ("a copy from vSphere needs --vsphere-url,"
                     " --vsphere-user, --vm and --disk-key");
      goto usage_error;
    }
    if (spec.bitmap || spec.changed_areas) {
      cbt_set_error ("--vsphere-url and --bitmap/--changed-areas are"
                     " alternatives");
      goto usage_error;
    }
    if (vs_connect_check (&cv.conn) == -1)
      goto usage_error;
    spec.since = cv.since;
  } else if (!manifest_file && (cv.conn.insecure || cv.conn.thumbprint ||
                                cv.conn.ca_file || cv.conn.password_file)) {
    cbt_set_error ("the vSphere options need --vsphere-url");
    goto usage_error;
  }
  if (job_id && !cbt_id_is_valid (job_id)) {
    cbt_set_error ("--job: '%s' is not a valid id (1-128 characters of"
                   " [A-Za-z0-9._:-])",
                   job_id);
    goto usage_error;
  }
  if (spec.id && !cbt_id_is_valid (spec.id)) {
    cbt_set_error ("--disk: '%s' is not a valid id (1-128 characters of"
                   " [A-Za-z0-9._:-])",
                   spec.id);
    goto usage_error;
  }
  if (vma_url && job_id == NULL) {
    cbt_set_error ("--vma-url needs --job ID (or a job_id in the manifest)");
    goto usage_error;
  }
  if (vma_url && strncmp (vma_url, "http://", 7) != 0 &&
      strncmp (vma_url, "https://", 8) != 0) {
    cbt_set_error ("--vma-url must be an http:// or https:// URL");
    goto usage_error;
  }
  if (token_file) {
    token = cbt_read_token (token_file);
    if (token == NULL)
      goto usage_error;
  }
  if (oma_token_file) {
    oma_token = cbt_read_token (oma_token_file);
    if (oma_token == NULL)
      goto usage_error;
  }
  jopts.bar = !quiet && (force_bar || isatty (STDERR_FILENO));
  if (no_checkpoint && (state_dir || jopts.restart)) {
    cbt_set_error ("--no-checkpoint excludes --state-dir and --restart");
    goto usage_error;
  }
  if (state_dir && state_dir[0] == '\0') {
    cbt_set_error ("--state-dir must name a directory");
    goto usage_error;
  }
  if (!no_checkpoint && state_dir == NULL) {
    if (checkpoint_default_dir (default_dir, sizeof default_dir) == -1)
      goto usage_error;
    state_dir = default_dir;
  }
  jopts.state_dir = no_checkpoint ? NULL : state_dir;
  jopts.job_id = job_id;
  jopts.copier.checkpoint_interval = jopts.interval;
  if (jopts.copier.requests == 0)
    jopts.copier.requests = copier_default_requests (
        jopts.copier.connections, jopts.copier.request_size);
  faults_set_policy (&policy);

  /* Before any thread starts. */
  copy_signal_bar = jopts.bar;
  if (copy_signals_start (&signal_thread) == -1) {
    fprintf (stderr, "cbtrack copy: %s\n", cbt_get_error ());
    manifest_free (&manifest);
    free (token);
    free (oma_token);
    return 1;
  }
  cv.conn.timeout = vsphere_timeout;
  if (oma_url && (!manifest_file || !manifest.has_vsphere)) {
    fprintf (stderr, "cbtrack copy: --oma-url needs a manifest naming a VM"
                     " (\"vsphere\")\n");
    ret = 2;
    goto out;
  }
  if (vma_url) {
    jopts.reporter = reporter_start (&(struct reporter_options){
        .url = vma_url,
        .job_id = job_id,
        .token = token,
        .ca_file = ca_file,
        .on_cancel = copy_cancelled,
    });
    if (jopts.reporter == NULL) {
      fprintf (stderr, "cbtrack copy: %s\n", cbt_get_error ());
      goto out;
    }
  }

  if (cv.conn.url)
    copy_report_vsphere (jopts.reporter,
                         manifest_file ? manifest.disks : &spec,
                         manifest_file ? manifest.nr_disks : 1, NULL);
  if ((oma_url &&
       copy_oma_since (oma_url, ca_file, oma_token, cv.vm, manifest.disks,
                       manifest.nr_disks, &oma_doc) == -1) ||
      (cv.conn.url &&
       copy_vsphere_prepare (&cv, manifest_file ? manifest.disks : &spec,
                             manifest_file ? manifest.nr_disks : 1,
                             manifest_file && cv.snapshot == NULL,
                             job_id) == -1)) {
    fprintf (stderr, "cbtrack copy: %s\n", cbt_get_error ());
    copy_report_vsphere (
        jopts.reporter, manifest_file ? manifest.disks : &spec,
        manifest_file ? manifest.nr_disks : 1, cbt_get_error ());
    goto out;
  }

  if (manifest_file)
    ret = copy_run_job (manifest.disks, manifest.nr_disks, &jopts, quiet);
  else
    ret = copy_run_job (&spec, 1, &jopts, quiet);
  if (ret == 0 && cv.n > 0)
    copy_vsphere_report (&cv, manifest_file ? manifest.disks : &spec,
                         manifest_file != NULL, quiet);

out:
  copy_vsphere_end (&cv);
  json_decref (oma_doc);
  if (vma_url)
    reporter_stop (jopts.reporter, 3.0);
  copy_signals_stop (signal_thread);
  manifest_free (&manifest);
  free (token);
  free (oma_token);
  return ret;

usage_error:
  fprintf (stderr,
           "cbtrack copy: %s\n"
           "Try 'cbtrack copy --help' for more information.\n",
           cbt_get_error ());
  copy_vsphere_end (&cv);
  manifest_free (&manifest);
  free (token);
  free (oma_token);
  return 2;
}
