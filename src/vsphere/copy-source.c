/* cbtrack vsphere - the changed areas of a disk for a copy. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "vsphere/copy-source.h"

bool
vs_change_id_same_epoch (const char *a, const char *b)
{
  const char *sa = strrchr (a, '/'), *sb = strrchr (b, '/');

  if (sa == NULL || sb == NULL)
    return true; /* not the usual form: let vSphere judge */
  return sa - a == sb - b && memcmp (a, b, (size_t)(sa - a)) == 0;
}

int
vs_copy_disk_query (struct vs_session *s, const char *vm, const char *snapshot,
                    const vs_disk_vector *disks, struct vs_copy_disk *d)
{
  const struct vs_disk *disk = vs_disk_find (disks, d->key);
  const char *since = d->since && d->since[0] ? d->since : "*";
  size_t i;
  int r;

  if (disk == NULL) {
    cbt_set_error ("the VM has no disk with key %" PRId32, d->key);
    return -1;
  }
  d->capacity = disk->capacity;
  snprintf (d->change_id, sizeof d->change_id, "%s", disk->change_id);
  snprintf (d->file, sizeof d->file, "%s", disk->file);
  if (disk->change_id[0] == '\0') {
    cbt_set_error ("disk %" PRId32 " (%s) has no changeId: turn on changed"
                   " block tracking (ctkEnabled) for the VM",
                   d->key, disk->file);
    return -1;
  }
  d->full = strcmp (since, "*") == 0;
  d->fell_back = false;
  if (!d->full && !vs_change_id_same_epoch (since, disk->change_id)) {
    snprintf (d->fallback_reason, sizeof d->fallback_reason,
              "changed block tracking of disk %" PRId32
              " was reset since changeId '%s' (it is now '%s'): copying"
              " every allocated area instead",
              d->key, since, disk->change_id);
    d->full = d->fell_back = true;
    since = "*";
  }
  r = vs_cbt_query (s, vm, snapshot, d->key, d->capacity, since, &d->areas,
                    &d->calls);
  if (r == VS_CBT_UNKNOWN_CHANGE_ID && !d->full) {
    snprintf (d->fallback_reason, sizeof d->fallback_reason,
              "vSphere does not know changeId '%s' of disk %" PRId32
              " (CBT reset?): copying every allocated area instead",
              since, d->key);
    d->full = d->fell_back = true;
    r = vs_cbt_query (s, vm, snapshot, d->key, d->capacity, "*", &d->areas,
                      &d->calls);
  }
  if (r != 0)
    return -1;
  d->area_bytes = 0;
  for (i = 0; i < d->areas.len; i++)
    d->area_bytes += d->areas.ptr[i].length;
  return 0;
}

void
vs_copy_disk_free (struct vs_copy_disk *d)
{
  if (d == NULL)
    return;
  vs_area_vector_reset (&d->areas);
}
