/* cbtrack copy - job manifests: several disks, one job (I/O-free parsing).
 *
 *   {
 *     "job_id": "job-42",                      optional (--job overrides)
 *     "vma_url": "http://127.0.0.1:8081",      optional (--vma-url overrides)
 *     "vsphere": {                             optional: the plan from vSphere
 *       "url": "https://vcenter/sdk", "user": "svc-backup",
 *       "password_file": "/etc/cbtrack/vc.pw", optional (else the environment)
 *       "thumbprint": "AA:BB:...",  or "ca_file": "/etc/ssl/vc.pem",
 *       "insecure": false,
 *       "vm": "web-01",                        name, or moref=vm-N
 *       "snapshot": "snapshot-7" },            optional: use this one (else
 *                                              one is made for the job and
 *                                              removed at its end)
 *     "disks": [
 *       { "disk_id": "disk-2000",
 *         "source": "nbd+unix:///?socket=/run/src0.sock",
 *         "target": "/dev/vdb",
 *         "bitmap": "cbt-1",                   optional: incremental
 *         "changed_areas": "/var/lib/cbt/disk-2000.json",  or this
 *         "disk_key": 2000,                    with "vsphere": required
 *         "since": "52 8d ... 4e/17",          with "vsphere": optional
 *         "target_is_zero": false }            optional
 *     ]
 *   }
 */
#ifndef CBTRACK_COPY_MANIFEST_H
#define CBTRACK_COPY_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "copy/disk.h"

#define MANIFEST_MAX_DISKS 256

/* The "vsphere" object of a manifest; strings NULL when not given. */
struct manifest_vsphere {
  const char *url, *user, *password_file, *thumbprint, *ca_file;
  bool insecure;
  const char *vm;
  const char *snapshot;
};

struct manifest {
  const char *job_id;  /* NULL if not given */
  const char *vma_url; /* NULL if not given */
  bool has_vsphere;
  struct manifest_vsphere vsphere;
  struct disk_spec *disks;
  size_t nr_disks;
  json_t *root; /* owns the strings above */
};

/* Parses the LEN bytes of TEXT.  Checks types, that disk ids (and the job
 * id) are valid ids and unique, that every disk has a source and a target,
 * and that bitmap and changed_areas are not both given; with "vsphere",
 * that it names a URL, a user and a VM, and that every disk has a
 * disk_key and neither bitmap nor changed_areas.  Returns 0 and
 * fills *RET (free with manifest_free), or -1 with an error recorded and
 * *RET untouched.
 */
int manifest_parse (const char *text, size_t len, struct manifest *ret);

/* Frees what M holds.  Accepts NULL and a freed manifest. */
void manifest_free (struct manifest *m);

#endif /* CBTRACK_COPY_MANIFEST_H */
