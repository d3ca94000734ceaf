/* cbtrack vsphere - what vSphere says a copy of one disk must move.
 *
 * For `cbtrack copy --vsphere-url ...` and manifests naming a VM: the
 * disk's capacity and changeId as of the snapshot, and the areas to copy:
 * those changed since the disk's last changeId (an incremental copy), or
 * with changeId "*" every allocated area (a full copy; their sum is its
 * exact total).  A changeId vSphere no longer knows (FileFault: CBT was
 * reset, the disk was replaced, the changeId belongs to another disk)
 * falls back to a full copy of the allocated areas; it is never an
 * incremental copy that misses data.  Nor is a changeId whose change
 * tracking identity (the part before the '/') is not the disk's current
 * one: CBT was reset since, and vSphere is not even asked.
 */
#ifndef CBTRACK_VSPHERE_COPY_SOURCE_H
#define CBTRACK_VSPHERE_COPY_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "vsphere/cbt.h"
#include "vsphere/props.h"
#include "vsphere/session.h"

struct vs_copy_disk {
  /* In. */
  int32_t key;       /* the disk's device key */
  const char *since; /* the last changeId; NULL or "*" for a full copy */

  /* Out. */
  uint64_t capacity;
  char change_id[128]; /* the changeId this copy brings the target to */
  char file[512];      /* the disk's datastore path */
  bool full;           /* a full copy of the allocated areas */
  bool fell_back;      /* SINCE was unknown: full instead of incremental */
  char fallback_reason[512]; /* why, when FELL_BACK */
  vs_area_vector areas;      /* what to copy: sorted, disjoint */
  uint64_t area_bytes;       /* their sum */
  unsigned calls;            /* QueryChangedDiskAreas calls made */
};

/* Asks vSphere what disk D->key of the VM VM must move, as of SNAPSHOT
 * (NULL: the VM as it runs), whose disks are DISKS (vs_get_disks of the
 * snapshot, or of the VM).  Fills the outputs of D.  Returns 0, or -1 with
 * one clear line recorded.
 */
int vs_copy_disk_query (struct vs_session *s, const char *vm,
                        const char *snapshot, const vs_disk_vector *disks,
                        struct vs_copy_disk *d);

/* True unless the changeIds A and B ("UUID/SEQUENCE") belong to two
 * different change-tracking epochs of a disk (their UUID parts differ).
 * A changeId without a '/' is not judged (true).  I/O-free.
 */
bool vs_change_id_same_epoch (const char *a, const char *b);

/* Frees what D holds.  Accepts NULL. */
void vs_copy_disk_free (struct vs_copy_disk *d);

#endif /* CBTRACK_VSPHERE_COPY_SOURCE_H */
