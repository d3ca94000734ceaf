/* cbtrack vsphere - what the property collector says of VMs, disks and
 * snapshots (RetrievePropertiesEx).
 */
#ifndef CBTRACK_VSPHERE_PROPS_H
#define CBTRACK_VSPHERE_PROPS_H

#include <stdint.h>

#include <libxml/tree.h>

#include "common/vector.h"
#include "vsphere/session.h"

/* A managed object id ("vm-42", "snapshot-7"). */
#define VS_MOREF_MAX 256

/* One virtual disk of a VM or a snapshot. */
struct vs_disk {
  int32_t key;         /* the device key, 2000 and up */
  char label[128];     /* "Hard disk 1" */
  uint64_t capacity;   /* capacityInBytes */
  char file[512];      /* "[datastore1] vm/vm.vmdk" */
  char change_id[128]; /* backing.changeId, "" when CBT is off */
  char uuid[80];       /* backing.uuid, "" when unknown */
};
DEFINE_VECTOR_TYPE (vs_disk_vector, struct vs_disk);

/* One snapshot of a VM, in tree order (parents before children). */
struct vs_snapshot {
  char moref[VS_MOREF_MAX];
  char name[256];
  int depth; /* 0 for a root snapshot */
};
DEFINE_VECTOR_TYPE (vs_snapshot_vector, struct vs_snapshot);

/* Finds the VM named NAME, or with the managed object id given as
 * "moref=vm-42" or "vm-42", and copies its id into RET_MOREF
 * (VS_MOREF_MAX bytes).  Returns 0, or -1 with one clear line recorded
 * ("no VM named ..."; several VMs with that name).
 */
int vs_find_vm (struct vs_session *s, const char *name, char *ret_moref);

/* The disks of the VM (TYPE "VirtualMachine") or of the snapshot (TYPE
 * "VirtualMachineSnapshot") MOREF, as its config.hardware.device says,
 * into *RET (free with vs_disk_vector_reset).  Returns 0, or -1 with an
 * error recorded and *RET untouched.
 */
int vs_get_disks (struct vs_session *s, const char *type, const char *moref,
                  vs_disk_vector *ret);

/* Decodes the <val> of config.hardware.device (an ArrayOfVirtualDevice)
 * into *RET: the VirtualDisk entries only.  I/O-free.  Returns 0, or -1
 * with an error recorded and *RET untouched.
 */
int vs_decode_disks (xmlNodePtr val, vs_disk_vector *ret);

/* The snapshots of the VM MOREF into *RET (free with
 * vs_snapshot_vector_reset).  Returns 0, or -1 with an error recorded.
 */
int vs_get_snapshots (struct vs_session *s, const char *vm,
                      vs_snapshot_vector *ret);

/* Finds the disk KEY in DISKS; NULL if there is none. */
const struct vs_disk *vs_disk_find (const vs_disk_vector *disks, int32_t key);

#endif /* CBTRACK_VSPHERE_PROPS_H */
