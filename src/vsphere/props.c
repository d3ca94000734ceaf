/* cbtrack vsphere - RetrievePropertiesEx of VMs, disks and snapshots. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "vsphere/props.h"

/* Builds RetrievePropertiesEx of PATHS (NULL-terminated) of objects of
 * type TYPE starting from the object OBJ_TYPE/OBJ; with VIEW, OBJ is a
 * ContainerView whose members are meant (the view itself is skipped).
 */
static xmlDocPtr
vs_props_request (struct vs_session *s, const char *type,
                  const char *const *paths, const char *obj_type,
                  const char *obj, bool view)
{
  xmlNodePtr m, spec, ps, os, sel;
  xmlDocPtr req;
  size_t i;

  req = vs_soap_new ("RetrievePropertiesEx", "PropertyCollector",
                     vs_session_property_collector (s), &m);
  if (req == NULL)
    return NULL;
  if ((spec = vs_soap_add_element (m, "specSet", NULL)) == NULL ||
      (ps = vs_soap_add_element (spec, "propSet", NULL)) == NULL ||
      vs_soap_add_text (ps, "type", type) == NULL)
    goto err;
  for (i = 0; paths[i]; i++)
    if (vs_soap_add_text (ps, "pathSet", paths[i]) == NULL)
      goto err;
  if ((os = vs_soap_add_element (spec, "objectSet", NULL)) == NULL ||
      vs_soap_add_moref (os, "obj", obj_type, obj) == NULL)
    goto err;
  if (view) {
    if (vs_soap_add_text (os, "skip", "true") == NULL ||
        (sel = vs_soap_add_element (os, "selectSet", "TraversalSpec")) ==
            NULL ||
        vs_soap_add_text (sel, "type", "ContainerView") == NULL ||
        vs_soap_add_text (sel, "path", "view") == NULL ||
        vs_soap_add_text (sel, "skip", "false") == NULL)
      goto err;
  }
  if (vs_soap_add_element (m, "options", NULL) == NULL)
    goto err;
  return req;
err:
  xmlFreeDoc (req);
  return NULL;
}

/* Runs REQ (a RetrievePropertiesEx, or with TOKEN its continuation) and
 * returns its returnval in *RET_RV, the document in *RET_DOC.
 */
static int
vs_props_run (struct vs_session *s, xmlDocPtr req, const char *method,
              xmlDocPtr *ret_doc, xmlNodePtr *ret_rv)
{
  xmlNodePtr resp;
  struct vs_fault f;

  if (vs_session_call (s, req, method, ret_doc, &resp, &f) != VS_SOAP_OK)
    return -1;
  *ret_rv = vs_xml_child (resp, "returnval");
  return 0;
}

/* The <val> of property NAME of the ObjectContent OBJ, or NULL; a
 * missingSet entry for it is an error (recorded, *RET_MISSING set).
 */
static xmlNodePtr
vs_props_val (xmlNodePtr obj, const char *name, bool *ret_missing)
{
  xmlNodePtr p;
  char buf[256];

  for (p = vs_xml_child (obj, "propSet"); p; p = vs_xml_next (p, "propSet"))
    if (vs_xml_child_text (p, "name", buf, sizeof buf) == 0 &&
        strcmp (buf, name) == 0)
      return vs_xml_child (p, "val");
  for (p = vs_xml_child (obj, "missingSet"); p;
       p = vs_xml_next (p, "missingSet")) {
    if (vs_xml_child_text (p, "path", buf, sizeof buf) == 0 &&
        strcmp (buf, name) == 0) {
      char type[64];

      vs_xml_type (vs_xml_child (vs_xml_child (p, "fault"), "fault"), type,
                   sizeof type);
      cbt_set_error ("property %s cannot be read (%s)", name,
                     type[0] ? type : "missing");
      *ret_missing = true;
      return NULL;
    }
  }
  return NULL;
}

/* Creates a ContainerView of every VM; its id into VIEW. */
static int
vs_props_vm_view (struct vs_session *s, char *view)
{
  xmlNodePtr m, resp;
  xmlDocPtr req, doc = NULL;
  struct vs_fault f;
  int ret = -1;

  req = vs_soap_new ("CreateContainerView", "ViewManager",
                     vs_session_view_manager (s), &m);
  if (req == NULL)
    return -1;
  if (vs_soap_add_moref (m, "container", "Folder",
                         vs_session_root_folder (s)) == NULL ||
      vs_soap_add_text (m, "type", "VirtualMachine") == NULL ||
      vs_soap_add_text (m, "recursive", "true") == NULL)
    goto out;
  if (vs_session_call (s, req, "CreateContainerView", &doc, &resp, &f) !=
      VS_SOAP_OK)
    goto out;
  ret = vs_xml_child_text (resp, "returnval", view, VS_MOREF_MAX);
out:
  xmlFreeDoc (doc);
  xmlFreeDoc (req);
  return ret;
}

/* Destroys the ContainerView VIEW; errors are ignored (views die with the
 * session).
 */
static void
vs_props_destroy_view (struct vs_session *s, const char *view)
{
  xmlNodePtr m, resp;
  xmlDocPtr req, doc = NULL;
  struct vs_fault f;

  req = vs_soap_new ("DestroyView", "ContainerView", view, &m);
  if (req &&
      vs_session_call (s, req, "DestroyView", &doc, &resp, &f) == VS_SOAP_OK)
    xmlFreeDoc (doc);
  xmlFreeDoc (req);
}

/* Looks at the ObjectContents of RV for VMs named NAME: the first found
 * into RET_MOREF, the number found added to *COUNT.
 */
static void
vs_props_match_names (xmlNodePtr rv, const char *name, char *ret_moref,
                      unsigned *count)
{
  xmlNodePtr o, val;
  bool missing = false;
  char buf[VS_MOREF_MAX];

  for (o = vs_xml_child (rv, "objects"); o; o = vs_xml_next (o, "objects")) {
    val = vs_props_val (o, "name", &missing);
    if (val == NULL)
      continue;
    if (vs_xml_child_text (o, "obj", buf, sizeof buf) == -1)
      continue;
    {
      xmlChar *t = xmlNodeGetContent (val);

      if (t && strcmp ((const char *)t, name) == 0) {
        if (*count == 0)
          snprintf (ret_moref, VS_MOREF_MAX, "%s", buf);
        (*count)++;
      }
      xmlFree (t);
    }
  }
}

/* True if NAME names a VM by its managed object id; *RET_ID then points
 * at the id.
 */
static bool
vs_props_is_moref (const char *name, const char **ret_id)
{
  const char *p;

  if (strncmp (name, "moref=", 6) == 0) {
    *ret_id = name + 6;
    return true;
  }
  if (strncmp (name, "vm-", 3) != 0 || name[3] == '\0')
    return false;
  for (p = name + 3; *p; p++)
    if (*p < '0' || *p > '9')
      return false;
  *ret_id = name;
  return true;
}

int
vs_find_vm (struct vs_session *s, const char *name, char *ret_moref)
{
  static const char *const paths[] = { "name", NULL };
  char view[VS_MOREF_MAX], found[VS_MOREF_MAX] = "", token[256];
  xmlDocPtr req = NULL, doc = NULL;
  xmlNodePtr rv, m;
  unsigned count = 0;
  const char *id;
  int ret = -1;

  if (vs_props_is_moref (name, &id)) {
    bool missing = false;

    if (strlen (id) >= VS_MOREF_MAX) {
      cbt_set_error ("no VM with the id '%s'", id);
      return -1;
    }
    req = vs_props_request (s, "VirtualMachine", paths, "VirtualMachine", id,
                            false);
    if (req == NULL)
      return -1;
    if (vs_props_run (s, req, "RetrievePropertiesEx", &doc, &rv) == -1 ||
        vs_props_val (vs_xml_child (rv, "objects"), "name", &missing) ==
            NULL) {
      cbt_set_error ("no VM with the id '%s'", id);
      goto out;
    }
    snprintf (ret_moref, VS_MOREF_MAX, "%s", id);
    ret = 0;
    goto out;
  }

  if (vs_props_vm_view (s, view) == -1)
    return -1;
  req = vs_props_request (s, "VirtualMachine", paths, "ContainerView", view,
                          true);
  if (req == NULL)
    goto out_view;
  if (vs_props_run (s, req, "RetrievePropertiesEx", &doc, &rv) == -1)
    goto out_view;
  for (;;) {
    vs_props_match_names (rv, name, found, &count);
    if (vs_xml_child_text (rv, "token", token, sizeof token) == -1)
      break;
    xmlFreeDoc (doc);
    doc = NULL;
    xmlFreeDoc (req);
    req = vs_soap_new ("ContinueRetrievePropertiesEx", "PropertyCollector",
                       vs_session_property_collector (s), &m);
    if (req == NULL || vs_soap_add_text (m, "token", token) == NULL ||
        vs_props_run (s, req, "ContinueRetrievePropertiesEx", &doc, &rv) == -1)
      goto out_view;
  }
  cbt_clear_error ();
  if (count == 0) {
    cbt_set_error ("no VM named '%s'", name);
    goto out_view;
  }
  if (count > 1) {
    cbt_set_error ("%u VMs are named '%s': give its id (--vm moref=vm-N)",
                   count, name);
    goto out_view;
  }
  snprintf (ret_moref, VS_MOREF_MAX, "%s", found);
  ret = 0;
out_view:
  vs_props_destroy_view (s, view);
out:
  xmlFreeDoc (doc);
  xmlFreeDoc (req);
  return ret;
}

int
vs_decode_disks (xmlNodePtr val, vs_disk_vector *ret)
{
  vs_disk_vector disks = empty_vector;
  xmlNodePtr d, backing;
  char type[64];
  int64_t n;

  for (d = vs_xml_child (val, NULL); d; d = vs_xml_next (d, NULL)) {
    struct vs_disk disk = { 0 };

    if (strcmp (vs_xml_type (d, type, sizeof type), "VirtualDisk") != 0)
      continue;
    backing = vs_xml_child (d, "backing");
    if (vs_xml_child_int (d, "key", &n) == -1)
      goto err;
    disk.key = (int32_t)n;
    if (vs_xml_child_int (d, "capacityInBytes", &n) == -1) {
      if (vs_xml_child_int (d, "capacityInKB", &n) == -1)
        goto err;
      n *= 1024;
    }
    if (n < 0) {
      cbt_set_error ("disk %" PRId32 ": negative capacity", disk.key);
      goto err;
    }
    disk.capacity = (uint64_t)n;
    if (vs_xml_child_text (vs_xml_child (d, "deviceInfo"), "label", disk.label,
                           sizeof disk.label) == -1)
      disk.label[0] = '\0';
    if (vs_xml_child_text (backing, "fileName", disk.file, sizeof disk.file) ==
        -1)
      disk.file[0] = '\0';
    if (vs_xml_child_text (backing, "changeId", disk.change_id,
                           sizeof disk.change_id) == -1)
      disk.change_id[0] = '\0';
    if (vs_xml_child_text (backing, "uuid", disk.uuid, sizeof disk.uuid) == -1)
      disk.uuid[0] = '\0';
    if (vs_disk_vector_append (&disks, disk) == -1) {
      cbt_set_error ("out of memory");
      goto err;
    }
  }
  cbt_clear_error ();
  *ret = disks;
  return 0;
err:
  vs_disk_vector_reset (&disks);
  return -1;
}

int
vs_get_disks (struct vs_session *s, const char *type, const char *moref,
              vs_disk_vector *ret)
{
  static const char *const paths[] = { "config.hardware.device", NULL };
  xmlDocPtr req, doc = NULL;
  xmlNodePtr rv, val;
  bool missing = false;
  int r = -1;

  req = vs_props_request (s, type, paths, type, moref, false);
  if (req == NULL)
    return -1;
  if (vs_props_run (s, req, "RetrievePropertiesEx", &doc, &rv) == -1)
    goto out;
  val = vs_props_val (vs_xml_child (rv, "objects"), "config.hardware.device",
                      &missing);
  if (val == NULL) {
    if (!missing)
      cbt_set_error ("%s %s: no such object, or it has no devices", type,
                     moref);
    goto out;
  }
  r = vs_decode_disks (val, ret);
out:
  xmlFreeDoc (doc);
  xmlFreeDoc (req);
  return r;
}

/* Appends the snapshot trees under NODE (VirtualMachineSnapshotTree
 * elements named NAME) at DEPTH to *OUT.
 */
static int
vs_props_walk_snapshots (xmlNodePtr parent, const char *name, int depth,
                         vs_snapshot_vector *out)
{
  xmlNodePtr t;

  for (t = vs_xml_child (parent, name); t; t = vs_xml_next (t, name)) {
    struct vs_snapshot snap = { .depth = depth };

    if (vs_xml_child_text (t, "snapshot", snap.moref, sizeof snap.moref) ==
            -1 ||
        vs_xml_child_text (t, "name", snap.name, sizeof snap.name) == -1)
      return -1;
    if (vs_snapshot_vector_append (out, snap) == -1) {
      cbt_set_error ("out of memory");
      return -1;
    }
    if (vs_props_walk_snapshots (t, "childSnapshotList", depth + 1, out) == -1)
      return -1;
  }
  return 0;
}

int
vs_get_snapshots (struct vs_session *s, const char *vm,
                  vs_snapshot_vector *ret)
{
  static const char *const paths[] = { "snapshot", NULL };
  vs_snapshot_vector snaps = empty_vector;
  xmlDocPtr req, doc = NULL;
  xmlNodePtr rv, val;
  bool missing = false;
  int r = -1;

  req = vs_props_request (s, "VirtualMachine", paths, "VirtualMachine", vm,
                          false);
  if (req == NULL)
    return -1;
  if (vs_props_run (s, req, "RetrievePropertiesEx", &doc, &rv) == -1)
    goto out;
  val = vs_props_val (vs_xml_child (rv, "objects"), "snapshot", &missing);
  if (missing)
    goto out;
  if (val &&
      vs_props_walk_snapshots (val, "rootSnapshotList", 0, &snaps) == -1)
    goto out;
  *ret = snaps;
  snaps = (vs_snapshot_vector)empty_vector;
  r = 0;
out:
  vs_snapshot_vector_reset (&snaps);
  xmlFreeDoc (doc);
  xmlFreeDoc (req);
  return r;
}

const struct vs_disk *
vs_disk_find (const vs_disk_vector *disks, int32_t key)
{
  size_t i;

  for (i = 0; i < disks->len; i++)
    if (disks->ptr[i].key == key)
      return &disks->ptr[i];
  return NULL;
}
