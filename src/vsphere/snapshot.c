/* cbtrack vsphere - snapshots and task polling. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "vsphere/snapshot.h"

/* Reads the info of TASK once: its state into STATE (queued, running,
 * success, error), and on success its result, on error its message.
 */
static int
vs_task_info (struct vs_session *s, const char *task, char *state,
              size_t state_len, char *result, char *message, size_t msg_len)
{
  xmlNodePtr m, spec, ps, os, resp, rv, obj, p, info;
  xmlDocPtr req, doc = NULL;
  struct vs_fault f;
  int ret = -1;

  req = vs_soap_new ("RetrievePropertiesEx", "PropertyCollector",
                     vs_session_property_collector (s), &m);
  if (req == NULL)
    return -1;
  if ((spec = vs_soap_add_element (m, "specSet", NULL)) == NULL ||
      (ps = vs_soap_add_element (spec, "propSet", NULL)) == NULL ||
      vs_soap_add_text (ps, "type", "Task") == NULL ||
      vs_soap_add_text (ps, "pathSet", "info") == NULL ||
      (os = vs_soap_add_element (spec, "objectSet", NULL)) == NULL ||
      vs_soap_add_moref (os, "obj", "Task", task) == NULL ||
      vs_soap_add_element (m, "options", NULL) == NULL)
    goto out;
  if (vs_session_call (s, req, "RetrievePropertiesEx", &doc, &resp, &f) !=
      VS_SOAP_OK)
    goto out;
  rv = vs_xml_child (resp, "returnval");
  obj = vs_xml_child (rv, "objects");
  p = vs_xml_child (obj, "propSet");
  info = vs_xml_child (p, "val");
  if (info == NULL) {
    cbt_set_error ("task %s has no info", task);
    goto out;
  }
  if (vs_xml_child_text (info, "state", state, state_len) == -1)
    goto out;
  result[0] = message[0] = '\0';
  if (vs_xml_child_text (info, "result", result, VS_MOREF_MAX) == -1)
    result[0] = '\0';
  if (strcmp (state, "error") == 0) {
    xmlNodePtr err = vs_xml_child (info, "error");
    char type[64];

    vs_xml_type (vs_xml_child (err, "fault"), type, sizeof type);
    if (vs_xml_child_text (err, "localizedMessage", message, msg_len) == -1)
      message[0] = '\0';
    if (type[0] && strcmp (type, message) != 0) {
      char text[256];

      snprintf (text, sizeof text, "%s", message);
      snprintf (message, msg_len, "%s%s%s", type, text[0] ? ": " : "", text);
    }
  }
  cbt_clear_error ();
  ret = 0;
out:
  xmlFreeDoc (doc);
  xmlFreeDoc (req);
  return ret;
}

int
vs_task_wait (struct vs_session *s, const char *task, const char *what,
              int timeout_s, char *ret_result)
{
  double deadline = cbt_now_mono () + timeout_s, pause = 0.2;
  char state[32], result[VS_MOREF_MAX], message[512];

  for (;;) {
    struct timespec ts;

    if (vs_task_info (s, task, state, sizeof state, result, message,
                      sizeof message) == -1) {
      char msg[512];

      snprintf (msg, sizeof msg, "%s", cbt_get_error ());
      cbt_set_error ("%s: %s", what, msg);
      return -1;
    }
    if (strcmp (state, "success") == 0) {
      if (ret_result)
        snprintf (ret_result, VS_MOREF_MAX, "%s", result);
      return 0;
    }
    if (strcmp (state, "error") == 0) {
      cbt_set_error ("%s failed: %s", what,
                     message[0] ? message : "(no message)");
      return -1;
    }
    if (cbt_now_mono () + pause > deadline) {
      cbt_set_error ("%s: task %s still %s after %d s", what, task, state,
                     timeout_s);
      return -1;
    }
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(pause * 1e9);
    nanosleep (&ts, NULL);
    if (pause < 1.0)
      pause *= 2;
    if (pause > 1.0)
      pause = 0.999;
  }
}

/* Runs the request REQ of METHOD, which answers a Task, and waits for the
 * task.
 */
static int
vs_snapshot_run_task (struct vs_session *s, xmlDocPtr req, const char *method,
                      const char *what, char *ret_result)
{
  xmlNodePtr resp;
  xmlDocPtr doc = NULL;
  struct vs_fault f;
  char task[VS_MOREF_MAX];
  int r;

  if (vs_session_call (s, req, method, &doc, &resp, &f) != VS_SOAP_OK) {
    char msg[512];

    snprintf (msg, sizeof msg, "%s", cbt_get_error ());
    cbt_set_error ("%s: %s", what, msg);
    return -1;
  }
  r = vs_xml_child_text (resp, "returnval", task, sizeof task);
  xmlFreeDoc (doc);
  if (r == -1)
    return -1;
  return vs_task_wait (s, task, what, VS_TASK_TIMEOUT_S, ret_result);
}

int
vs_snapshot_create (struct vs_session *s, const char *vm, const char *name,
                    char *ret_snapshot)
{
  char what[VS_MOREF_MAX + 64], result[VS_MOREF_MAX];
  xmlNodePtr m;
  xmlDocPtr req;
  int r = -1;

  snprintf (what, sizeof what, "creating a snapshot of %s", vm);
  req = vs_soap_new ("CreateSnapshot_Task", "VirtualMachine", vm, &m);
  if (req == NULL)
    return -1;
  if (vs_soap_add_text (m, "name", name) != NULL &&
      vs_soap_add_text (m, "description", "cbtrack copy") != NULL &&
      vs_soap_add_text (m, "memory", "false") != NULL &&
      vs_soap_add_text (m, "quiesce", "false") != NULL)
    r = vs_snapshot_run_task (s, req, "CreateSnapshot_Task", what, result);
  xmlFreeDoc (req);
  if (r == 0 && result[0] == '\0') {
    cbt_set_error ("%s: the task named no snapshot", what);
    return -1;
  }
  if (r == 0)
    snprintf (ret_snapshot, VS_MOREF_MAX, "%s", result);
  return r;
}

int
vs_snapshot_remove (struct vs_session *s, const char *snapshot)
{
  char what[VS_MOREF_MAX + 64];
  xmlNodePtr m;
  xmlDocPtr req;
  int r = -1;

  snprintf (what, sizeof what, "removing snapshot %s", snapshot);
  req = vs_soap_new ("RemoveSnapshot_Task", "VirtualMachineSnapshot", snapshot,
                     &m);
  if (req == NULL)
    return -1;
  if (vs_soap_add_text (m, "removeChildren", "false") != NULL &&
      vs_soap_add_text (m, "consolidate", "true") != NULL)
    r = vs_snapshot_run_task (s, req, "RemoveSnapshot_Task", what, NULL);
  xmlFreeDoc (req);
  return r;
}
