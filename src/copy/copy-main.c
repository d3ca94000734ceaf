/* cbtrack copy - options and wiring. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/error.h"
#include "common/human.h"
#include "copy/copier.h"
#include "copy/disk.h"
#include "copy/monitor.h"

static void
copy_usage (FILE *fp)
{
  fprintf (
      fp,
      "Usage: cbtrack copy [OPTIONS] SOURCE TARGET\n"
      "\n"
      "Copy a disk over NBD, moving only the bytes that must move, and "
      "report\n"
      "progress against that real total.  SOURCE and TARGET are NBD URIs\n"
      "(nbd://, nbds://, nbd+unix://, ...) or local files or block devices.  "
      "A\n"
      "target file that does not exist is created.\n"
      "\n"
      "Incremental copies (the target already holds an earlier copy):\n"
      "  -b, --bitmap NAME        copy what the source's dirty bitmap NAME "
      "marks\n"
      "                           (meta context qemu:dirty-bitmap:NAME)\n"
      "      --changed-areas FILE copy the areas of a VMware "
      "QueryChangedDiskAreas\n"
      "                           result (JSON)\n"
      "\n"
      "Tuning:\n"
      "  -C, --connections N      NBD connections, when the server allows\n"
      "                           multi-conn (default %d)\n"
      "  -R, --requests N         requests in flight per connection (default "
      "%d)\n"
      "      --request-size SIZE  bytes per read request (default %s)\n"
      "      --target-is-zero     the target reads as zero already: skip "
      "zeroing\n"
      "\n"
      "Progress:\n"
      "  -p, --progress[=FD]      without FD: show the bar on stderr even "
      "when it\n"
      "                           is not a terminal; with FD: write "
      "nbdcopy-style\n"
      "                           \"N/100\" lines to file descriptor FD\n"
      "      --progress-json=FD   write one JSON object per update to FD\n"
      "      --report-interval S  seconds between JSON updates (default 2)\n"
      "  -q, --quiet              no bar, no summary\n"
      "\n"
      "  -h, --help               show this help\n"
      "\n"
      "Exit status: 0 copied and flushed, 1 failed, 2 usage error.\n",
      COPIER_DEFAULT_CONNECTIONS, COPIER_DEFAULT_REQUESTS, "1M");
}

enum {
  OPT_CHANGED_AREAS = 256,
  OPT_REQUEST_SIZE,
  OPT_TARGET_IS_ZERO,
  OPT_PROGRESS_JSON,
  OPT_REPORT_INTERVAL,
};

static const struct option copy_long_options[] = {
  { "bitmap", required_argument, NULL, 'b' },
  { "changed-areas", required_argument, NULL, OPT_CHANGED_AREAS },
  { "connections", required_argument, NULL, 'C' },
  { "requests", required_argument, NULL, 'R' },
  { "request-size", required_argument, NULL, OPT_REQUEST_SIZE },
  { "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
  { "progress", optional_argument, NULL, 'p' },
  { "progress-json", required_argument, NULL, OPT_PROGRESS_JSON },
  { "report-interval", required_argument, NULL, OPT_REPORT_INTERVAL },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
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

int
copy_main (int argc, char **argv)
{
  struct copier_options copts = {
    .connections = COPIER_DEFAULT_CONNECTIONS,
    .requests = COPIER_DEFAULT_REQUESTS,
    .request_size = COPIER_DEFAULT_REQUEST_SIZE,
  };
  struct monitor_options mopts = {
    .percent_fd = -1,
    .json_fd = -1,
    .interval = 2,
  };
  struct disk_spec spec = { 0 };
  struct disk disk;
  struct monitor *monitor;
  bool quiet = false, force_bar = false;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "b:C:R:p::qh", copy_long_options,
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
      copts.connections = (unsigned)n;
      break;
    case 'R':
      if (cbt_parse_int ("--requests", optarg, 1, COPIER_MAX_REQUESTS, &n) ==
          -1)
        goto usage_error;
      copts.requests = (unsigned)n;
      break;
    case OPT_REQUEST_SIZE:
      if (cbt_parse_size (optarg, &size) == -1)
        goto usage_error;
      if (size < 4096 || size > COPIER_MAX_REQUEST_SIZE || size % 4096) {
        cbt_set_error ("--request-size must be a multiple of 4096 from 4K"
                       " to 32M");
        goto usage_error;
      }
      copts.request_size = (size_t)size;
      break;
    case OPT_TARGET_IS_ZERO:
      spec.target_is_zero = true;
      copts.target_is_zero = true;
      break;
    case 'p':
      if (optarg == NULL)
        force_bar = true;
      else if (copy_parse_fd ("--progress", optarg, &mopts.percent_fd) == -1)
        goto usage_error;
      break;
    case OPT_PROGRESS_JSON:
      if (copy_parse_fd ("--progress-json", optarg, &mopts.json_fd) == -1)
        goto usage_error;
      break;
    case OPT_REPORT_INTERVAL:
      if (cbt_parse_duration (optarg, &mopts.interval) == -1)
        goto usage_error;
      break;
    case 'q': quiet = true; break;
    case 'h': copy_usage (stdout); return 0;
    default: copy_usage (stderr); return 2;
    }
  }
  if (argc - optind != 2) {
    cbt_set_error ("expected SOURCE and TARGET");
    goto usage_error;
  }
  if (spec.bitmap && spec.changed_areas) {
    cbt_set_error ("--bitmap and --changed-areas are alternatives");
    goto usage_error;
  }
  spec.source = argv[optind];
  spec.target = argv[optind + 1];
  mopts.bar = !quiet && (force_bar || isatty (STDERR_FILENO));

  disk_init (&disk, &spec);
  monitor = monitor_start (&disk.progress, &mopts);
  if (monitor == NULL) {
    fprintf (stderr, "cbtrack copy: %s\n", cbt_get_error ());
    disk_free (&disk);
    return 1;
  }

  ret = disk_analyse (&disk);
  if (ret == 0 && !disk.plan.have_allocation)
    fprintf (stderr,
             "%scbtrack copy: warning: %s has no base:allocation map:"
             " the whole disk counts as data\n",
             mopts.bar ? "\n" : "", spec.source);
  monitor_kick (monitor);
  if (ret == 0)
    ret = disk_transfer (&disk, &copts);
  monitor_stop (monitor);

  if (ret == -1) {
    fprintf (stderr, "cbtrack copy: %s\n", cbt_get_error ());
    disk_free (&disk);
    return 1;
  }
  if (!quiet)
    disk_print_summary (&disk, "cbtrack copy: ", stderr);
  disk_free (&disk);
  return 0;

usage_error:
  fprintf (stderr,
           "cbtrack copy: %s\n"
           "Try 'cbtrack copy --help' for more information.\n",
           cbt_get_error ());
  return 2;
}
