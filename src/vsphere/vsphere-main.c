/* cbtrack vsphere - the VMware side by hand: disks, snapshots, changed
 * areas.
 *
 *   cbtrack vsphere disks    CONNECTION --vm VM
 *   cbtrack vsphere snapshot create CONNECTION --vm VM [--name NAME]
 *   cbtrack vsphere snapshot remove CONNECTION --snapshot MOREF
 *   cbtrack vsphere areas    CONNECTION --vm VM --disk-key KEY
 *                            [--snapshot MOREF] [--since CHANGEID]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common/error.h"
#include "common/human.h"
#include "vsphere/cbt.h"
#include "vsphere/connect.h"
#include "vsphere/props.h"
#include "vsphere/snapshot.h"

enum {
  OPT_URL = 256,
  OPT_USER,
  OPT_PASSWORD_FILE,
  OPT_THUMBPRINT,
  OPT_CA_FILE,
  OPT_INSECURE,
  OPT_VM,
  OPT_NAME,
  OPT_SNAPSHOT,
  OPT_DISK_KEY,
  OPT_SINCE,
  OPT_TIMEOUT,
};

static const struct option vsphere_long_options[] = {
  { "url", required_argument, NULL, OPT_URL },
  { "vsphere-url", required_argument, NULL, OPT_URL },
  { "user", required_argument, NULL, OPT_USER },
  { "vsphere-user", required_argument, NULL, OPT_USER },
  { "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
  { "vsphere-password-file", required_argument, NULL, OPT_PASSWORD_FILE },
  { "thumbprint", required_argument, NULL, OPT_THUMBPRINT },
  { "vsphere-thumbprint", required_argument, NULL, OPT_THUMBPRINT },
  { "ca-file", required_argument, NULL, OPT_CA_FILE },
  { "vsphere-ca-file", required_argument, NULL, OPT_CA_FILE },
  { "insecure", no_argument, NULL, OPT_INSECURE },
  { "vm", required_argument, NULL, OPT_VM },
  { "name", required_argument, NULL, OPT_NAME },
  { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
  { "disk-key", required_argument, NULL, OPT_DISK_KEY },
  { "since", required_argument, NULL, OPT_SINCE },
  { "timeout", required_argument, NULL, OPT_TIMEOUT },
  { "vsphere-timeout", required_argument, NULL, OPT_TIMEOUT },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'V' },
  { NULL, 0, NULL, 0 },
};

static void
vsphere_usage (FILE *fp)
{
  fprintf (
      fp,
      "Usage: cbtrack vsphere disks CONNECTION --vm VM\n"
      "       cbtrack vsphere snapshot create CONNECTION --vm VM"
      " [--name NAME]\n"
      "       cbtrack vsphere snapshot remove CONNECTION --snapshot MOREF\n"
      "       cbtrack vsphere areas CONNECTION --vm VM --disk-key KEY\n"
      "                             [--snapshot MOREF] [--since CHANGEID]\n"
      "\n"
      "The VMware side of a copy, by hand: a VM's disks (key, label,\n"
      "capacity, datastore path, changeId) and snapshots; a snapshot for\n"
      "scripts (its id is printed); the changed areas of a disk as\n"
      "QueryChangedDiskAreas pages in JSON (what --changed-areas reads).\n"
      "\n"
      "CONNECTION:\n"
      "      --url URL              vCenter or ESXi, https://HOST[/sdk]\n"
      "      --user NAME            the vSphere user\n"
      "      --password-file FILE   the password is its first line; else\n"
      "                             the environment variable\n"
      "                             " VS_PASSWORD_ENV "\n"
      "      --thumbprint SHA256    accept exactly the server certificate\n"
      "                             with this SHA-256 thumbprint\n"
      "      --ca-file FILE         verify the server against these CAs\n"
      "                             (default: the system's CAs)\n"
      "      --insecure             do not verify the server at all (loud;\n"
      "                             never use it in production)\n"
      "      --timeout S            bound on each call (default 120 s)\n"
      "  (each may also be spelled --vsphere-url, --vsphere-user, ...)\n"
      "\n"
      "Options:\n"
      "      --vm VM                the VM's name, or its id as moref=vm-N\n"
      "      --name NAME            snapshot name (default cbtrack)\n"
      "      --snapshot MOREF       a snapshot id (snapshot-N)\n"
      "      --disk-key KEY         a disk's device key (2000, 2001...)\n"
      "      --since CHANGEID       areas changed since CHANGEID; default\n"
      "                             '*', every allocated area\n"
      "  -h, --help                 this help\n"
      "  -V, --version              show the version\n"
      "\n"
      "See cbtrack-vsphere(1).\n");
}

/* `vsphere disks`: prints the disks and snapshots of VM. */
static int
vsphere_disks (struct vs_session *s, const char *vm_name)
{
  char vm[VS_MOREF_MAX];
  vs_disk_vector disks = empty_vector;
  vs_snapshot_vector snaps = empty_vector;
  size_t i;

  if (vs_find_vm (s, vm_name, vm) == -1 ||
      vs_get_disks (s, "VirtualMachine", vm, &disks) == -1 ||
      vs_get_snapshots (s, vm, &snaps) == -1) {
    vs_disk_vector_reset (&disks);
    return -1;
  }
  printf ("VM %s (%s)\n", vm_name, vm);
  printf ("%-6s %-14s %16s  %-48s %s\n", "KEY", "LABEL", "CAPACITY",
          "CHANGEID", "FILE");
  for (i = 0; i < disks.len; i++) {
    const struct vs_disk *d = &disks.ptr[i];

    printf ("%-6" PRId32 " %-14s %16" PRIu64 "  %-48s %s\n", d->key, d->label,
            d->capacity, d->change_id[0] ? d->change_id : "-", d->file);
  }
  for (i = 0; i < snaps.len; i++)
    printf ("snapshot %*s%s %s\n", snaps.ptr[i].depth * 2, "",
            snaps.ptr[i].moref, snaps.ptr[i].name);
  vs_disk_vector_reset (&disks);
  vs_snapshot_vector_reset (&snaps);
  return 0;
}

/* `vsphere areas`: prints the changed areas as one DiskChangeInfo. */
static int
vsphere_areas (struct vs_session *s, const char *vm_name, const char *snap,
               int32_t key, const char *since)
{
  char vm[VS_MOREF_MAX];
  vs_disk_vector disks = empty_vector;
  vs_area_vector areas = empty_vector;
  const struct vs_disk *d;
  unsigned calls = 0;
  size_t i;
  int r = -1;

  if (vs_find_vm (s, vm_name, vm) == -1 ||
      vs_get_disks (s, snap ? "VirtualMachineSnapshot" : "VirtualMachine",
                    snap ? snap : vm, &disks) == -1)
    goto out;
  d = vs_disk_find (&disks, key);
  if (d == NULL) {
    cbt_set_error ("VM %s has no disk with key %" PRId32, vm_name, key);
    goto out;
  }
  if (vs_cbt_query (s, vm, snap, key, d->capacity, since, &areas, &calls) != 0)
    goto out;
  printf ("{\"startOffset\": 0, \"length\": %" PRIu64
          ", \"changeId\": \"%s\", \"calls\": %u, \"changedArea\": [",
          d->capacity, d->change_id, calls);
  for (i = 0; i < areas.len; i++)
    printf ("%s\n  {\"start\": %" PRIu64 ", \"length\": %" PRIu64 "}",
            i ? "," : "", areas.ptr[i].start, areas.ptr[i].length);
  printf ("]}\n");
  r = 0;
out:
  vs_disk_vector_reset (&disks);
  vs_area_vector_reset (&areas);
  return r;
}

int
vsphere_main (int argc, char **argv)
{
  struct vs_connect_args ca = { 0 };
  const char *vm = NULL, *name = "cbtrack", *snap = NULL, *since = "*";
  const char *action;
  struct vs_session *s = NULL;
  long long key = -1;
  int c, ret = 1;

  optind = 1;
  while ((c = getopt_long (argc, argv, "hV", vsphere_long_options, NULL)) !=
         -1) {
    switch (c) {
    case OPT_URL: ca.url = optarg; break;
    case OPT_USER: ca.user = optarg; break;
    case OPT_PASSWORD_FILE: ca.password_file = optarg; break;
    case OPT_THUMBPRINT: ca.thumbprint = optarg; break;
    case OPT_CA_FILE: ca.ca_file = optarg; break;
    case OPT_INSECURE: ca.insecure = true; break;
    case OPT_VM: vm = optarg; break;
    case OPT_NAME: name = optarg; break;
    case OPT_SNAPSHOT: snap = optarg; break;
    case OPT_DISK_KEY:
      if (cbt_parse_int ("--disk-key", optarg, 0, INT32_MAX, &key) == -1)
        goto usage_error;
      break;
    case OPT_SINCE: since = optarg; break;
    case OPT_TIMEOUT:
      if (cbt_parse_duration (optarg, &ca.timeout) == -1)
        goto usage_error;
      if (ca.timeout <= 0) {
        cbt_set_error ("--timeout must be more than 0");
        goto usage_error;
      }
      break;
    case 'h': vsphere_usage (stdout); return 0;
    case 'V': printf ("cbtrack %s\n", CBTRACK_VERSION); return 0;
    default: vsphere_usage (stderr); return 2;
    }
  }
  if (optind >= argc) {
    cbt_set_error ("expected disks, snapshot create|remove or areas");
    goto usage_error;
  }
  action = argv[optind];
  if (strcmp (action, "snapshot") == 0 && optind + 1 < argc) {
    if (strcmp (argv[optind + 1], "create") == 0)
      action = "create";
    else if (strcmp (argv[optind + 1], "remove") == 0)
      action = "remove";
    optind++;
  }
  if (optind + 1 != argc ||
      (strcmp (action, "disks") && strcmp (action, "create") &&
       strcmp (action, "remove") && strcmp (action, "areas"))) {
    cbt_set_error ("expected disks, snapshot create|remove or areas");
    goto usage_error;
  }
  if (vs_connect_check (&ca) == -1)
    goto usage_error;
  if (strcmp (action, "remove") == 0 ? snap == NULL : vm == NULL) {
    cbt_set_error ("%s", strcmp (action, "remove") == 0
                             ? "snapshot remove needs --snapshot MOREF"
                             : "--vm VM is needed");
    goto usage_error;
  }
  if (strcmp (action, "areas") == 0 && key < 0) {
    cbt_set_error ("areas needs --disk-key KEY");
    goto usage_error;
  }
  if (ca.insecure)
    fprintf (stderr, "cbtrack vsphere: WARNING: --insecure: the server's"
                     " certificate is NOT verified; anyone on the path can"
                     " read the password\n");

  if (vs_global_init () == -1) {
    fprintf (stderr, "cbtrack vsphere: %s\n", cbt_get_error ());
    return 1;
  }
  s = vs_connect (&ca);
  if (s == NULL)
    goto fail;
  if (strcmp (action, "disks") == 0) {
    if (vsphere_disks (s, vm) == -1)
      goto fail;
  } else if (strcmp (action, "create") == 0) {
    char vmref[VS_MOREF_MAX], snapref[VS_MOREF_MAX];

    if (vs_find_vm (s, vm, vmref) == -1 ||
        vs_snapshot_create (s, vmref, name, snapref) == -1)
      goto fail;
    printf ("%s\n", snapref);
  } else if (strcmp (action, "remove") == 0) {
    if (vs_snapshot_remove (s, snap) == -1)
      goto fail;
  } else if (vsphere_areas (s, vm, snap, (int32_t)key, since) == -1) {
    goto fail;
  }
  ret = 0;
  goto out;

fail:
  fprintf (stderr, "cbtrack vsphere: %s\n", cbt_get_error ());
out:
  vs_session_close (s);
  vs_global_cleanup ();
  return ret;

usage_error:
  fprintf (stderr,
           "cbtrack vsphere: %s\n"
           "Try 'cbtrack vsphere --help' for more information.\n",
           cbt_get_error ());
  return 2;
}
