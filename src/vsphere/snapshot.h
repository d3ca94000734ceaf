/* cbtrack vsphere - snapshots (CreateSnapshot_Task, RemoveSnapshot_Task)
 * and the tasks they start.
 */
#ifndef CBTRACK_VSPHERE_SNAPSHOT_H
#define CBTRACK_VSPHERE_SNAPSHOT_H

#include "vsphere/props.h"
#include "vsphere/session.h"

/* How long a snapshot task may take before cbtrack gives up waiting. */
#define VS_TASK_TIMEOUT_S 3600

/* Creates a snapshot NAME of the VM MOREF, without memory and without
 * quiescing, waits for its task and copies the snapshot's id into
 * RET_SNAPSHOT (VS_MOREF_MAX bytes).  Returns 0, or -1 with one clear line
 * recorded.
 */
int vs_snapshot_create (struct vs_session *s, const char *vm, const char *name,
                        char *ret_snapshot);

/* Removes the snapshot SNAPSHOT (its children stay) and waits for the
 * task.  Returns 0, or -1 with one clear line recorded.
 */
int vs_snapshot_remove (struct vs_session *s, const char *snapshot);

/* Waits until the task TASK ends, polling its info every 0.2 s to 1 s, at
 * most TIMEOUT_S seconds.  On success copies its result (a managed object
 * id, or "" when it has none) into RET_RESULT (VS_MOREF_MAX bytes, may be
 * NULL).  Returns 0, or -1 with the task's error (or the timeout)
 * recorded, prefixed by WHAT.
 */
int vs_task_wait (struct vs_session *s, const char *task, const char *what,
                  int timeout_s, char *ret_result);

#endif /* CBTRACK_VSPHERE_SNAPSHOT_H */
