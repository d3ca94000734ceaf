/* cbtrack plan - what a copy would move. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "commands.h"
#include "common/error.h"
#include "common/human.h"
#include "copy/disk.h"
#include "copy/faults.h"
#include "copy/plan.h"

static void
plan_usage (FILE *fp)
{
  fprintf (
      fp,
      "Usage: cbtrack plan [--bitmap NAME | --changed-areas FILE] [--json] "
      "SOURCE\n"
      "\n"
      "Read the source's maps over NBD (base:allocation, and for incremental\n"
      "copies the dirty bitmap or a VMware changed-area list) and print what "
      "a\n"
      "copy would move: capacity, data, zero and hole bytes, dirty bytes, and "
      "the\n"
      "bytes to transfer, which are the total that progress is measured "
      "against.\n"
      "Nothing is written anywhere.\n"
      "\n"
      "  -b, --bitmap NAME        incremental: the dirty bitmap NAME\n"
      "      --changed-areas FILE incremental: a QueryChangedDiskAreas "
      "result\n"
      "      --json               print JSON, with the list of extents\n"
      "      --connect-timeout S  give up an NBD connection not ready "
      "within S\n"
      "                           seconds (default %g)\n"
      "      --io-timeout S       a block status request unanswered for S "
      "seconds\n"
      "                           counts as a lost connection (default %g)\n"
      "      --reconnect-timeout S  bring a lost NBD connection back "
      "within S\n"
      "                           seconds, or fail (default %g)\n"
      "  -h, --help               show this help\n"
      "  -V, --version            show the version\n",
      FAULTS_DEFAULT_CONNECT_TIMEOUT, FAULTS_DEFAULT_IO_TIMEOUT,
      FAULTS_DEFAULT_RECONNECT_TIMEOUT);
}

static json_t *
plan_to_json (const struct plan *p)
{
  json_t *o = json_object (), *extents = json_array ();
  size_t i;

  json_object_set_new (o, "sync_type",
                       json_string (p->incremental ? "incremental" : "full"));
  json_object_set_new (o, "have_allocation",
                       json_boolean (p->have_allocation));
  json_object_set_new (o, "capacity_bytes", json_integer (p->capacity));
  json_object_set_new (o, "data_bytes", json_integer (p->data_bytes));
  json_object_set_new (o, "zero_bytes", json_integer (p->zero_bytes));
  json_object_set_new (o, "hole_bytes", json_integer (p->hole_bytes));
  if (p->incremental)
    json_object_set_new (o, "dirty_bytes", json_integer (p->dirty_bytes));
  json_object_set_new (o, "transfer_bytes", json_integer (p->transfer_bytes));
  json_object_set_new (o, "zeroing_bytes", json_integer (p->zeroing_bytes));
  for (i = 0; i < p->entries.len; i++) {
    const struct plan_entry *e = &p->entries.ptr[i];
    json_t *x = json_object ();

    json_object_set_new (x, "offset", json_integer (e->offset));
    json_object_set_new (x, "length", json_integer (e->length));
    json_object_set_new (x, "type", json_string (plan_kind_name (e->kind)));
    if (p->incremental)
      json_object_set_new (x, "dirty", json_boolean (e->dirty));
    json_object_set_new (x, "action",
                         json_string (plan_action_name (e->action)));
    json_array_append_new (extents, x);
  }
  json_object_set_new (o, "extents", extents);
  return o;
}

static void
plan_print_line (const char *label, uint64_t bytes)
{
  char human[32];

  printf ("%-12s %20" PRIu64 "  %s\n", label, bytes,
          cbt_human_size (bytes, human, sizeof human));
}

int
plan_main (int argc, char **argv)
{
  static const struct option long_options[] = {
    { "bitmap", required_argument, NULL, 'b' },
    { "changed-areas", required_argument, NULL, 'c' },
    { "json", no_argument, NULL, 'j' },
    { "connect-timeout", required_argument, NULL, 't' },
    { "io-timeout", required_argument, NULL, 'i' },
    { "reconnect-timeout", required_argument, NULL, 'r' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  struct disk_spec spec = { 0 };
  struct disk disk;
  struct faults_policy policy = *faults_policy ();
  bool json = false;
  double *timeout;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "b:hV", long_options, NULL)) != -1) {
    switch (c) {
    case 'b': spec.bitmap = optarg; break;
    case 'c': spec.changed_areas = optarg; break;
    case 'j': json = true; break;
    case 't':
    case 'i':
    case 'r':
      timeout = c == 't'   ? &policy.connect_timeout
                : c == 'i' ? &policy.io_timeout
                           : &policy.reconnect_timeout;
      if (cbt_parse_duration (optarg, timeout) == -1 || !(*timeout > 0)) {
        fprintf (stderr,
                 "cbtrack plan: %s: a timeout must be a duration above 0\n"
                 "Try 'cbtrack plan --help' for more information.\n",
                 optarg);
        return 2;
      }
      break;
    case 'h': plan_usage (stdout); return 0;
    case 'V': printf ("cbtrack %s\n", CBTRACK_VERSION); return 0;
    default: plan_usage (stderr); return 2;
    }
  }
  if (argc - optind != 1 || (spec.bitmap && spec.changed_areas)) {
    fprintf (stderr,
             "cbtrack plan: %s\n"
             "Try 'cbtrack plan --help' for more information.\n",
             argc - optind != 1 ? "expected one SOURCE"
                                : "--bitmap and --changed-areas are"
                                  " alternatives");
    return 2;
  }
  spec.source = argv[optind];
  faults_set_policy (&policy);

  disk_init (&disk, &spec);
  if (disk_analyse_source_only (&disk) == -1) {
    fprintf (stderr, "cbtrack plan: %s\n", cbt_get_error ());
    disk_free (&disk);
    return 1;
  }
  if (!disk.plan.have_allocation)
    fprintf (stderr,
             "cbtrack plan: warning: %s has no base:allocation map:"
             " the whole disk counts as data\n",
             spec.source);

  if (json) {
    json_t *o = plan_to_json (&disk.plan);

    json_dumpf (o, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    putchar ('\n');
    json_decref (o);
  } else {
    printf ("%s copy plan of %s\n",
            disk.plan.incremental ? "incremental" : "full", spec.source);
    plan_print_line ("capacity", disk.plan.capacity);
    plan_print_line ("data", disk.plan.data_bytes);
    plan_print_line ("zero", disk.plan.zero_bytes);
    plan_print_line ("hole", disk.plan.hole_bytes);
    if (disk.plan.incremental)
      plan_print_line ("dirty", disk.plan.dirty_bytes);
    plan_print_line ("to transfer", disk.plan.transfer_bytes);
    plan_print_line ("to zero", disk.plan.zeroing_bytes);
  }
  disk_free (&disk);
  return 0;
}
