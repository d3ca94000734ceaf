/* cbtrack copy - job manifests. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/ids.h"
#include "copy/manifest.h"

/* Reads the optional string KEY of OBJ; "" counts as absent. */
static int
manifest_get_string (json_t *obj, const char *where, const char *key,
                     const char **ret)
{
  json_t *v = json_object_get (obj, key);

  *ret = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v)) {
    cbt_set_error ("%s: \"%s\" must be a string", where, key);
    return -1;
  }
  if (json_string_value (v)[0] != '\0')
    *ret = json_string_value (v);
  return 0;
}

static int
manifest_parse_disk (json_t *d, size_t i, struct disk_spec *ret)
{
  char where[64];
  json_t *tz;

  snprintf (where, sizeof where, "disks[%zu]", i);
  memset (ret, 0, sizeof *ret);
  if (!json_is_object (d)) {
    cbt_set_error ("%s: expected an object", where);
    return -1;
  }
  if (manifest_get_string (d, where, "disk_id", &ret->id) == -1 ||
      manifest_get_string (d, where, "source", &ret->source) == -1 ||
      manifest_get_string (d, where, "target", &ret->target) == -1 ||
      manifest_get_string (d, where, "bitmap", &ret->bitmap) == -1 ||
      manifest_get_string (d, where, "changed_areas", &ret->changed_areas) ==
          -1)
    return -1;
  if (ret->id == NULL || !cbt_id_is_valid (ret->id)) {
    cbt_set_error ("%s: \"disk_id\" must be 1-128 characters of"
                   " [A-Za-z0-9._:-]",
                   where);
    return -1;
  }
  if (ret->source == NULL || ret->target == NULL) {
    cbt_set_error ("%s (%s): \"source\" and \"target\" are required", where,
                   ret->id);
    return -1;
  }
  if (ret->bitmap && ret->changed_areas) {
    cbt_set_error ("%s (%s): \"bitmap\" and \"changed_areas\" are"
                   " alternatives",
                   where, ret->id);
    return -1;
  }
  ret->vsphere_key = -1;
  if (manifest_get_string (d, where, "since", &ret->since) == -1)
    return -1;
  tz = json_object_get (d, "disk_key");
  if (tz && !json_is_null (tz)) {
    if (!json_is_integer (tz) || json_integer_value (tz) < 0 ||
        json_integer_value (tz) > INT32_MAX) {
      cbt_set_error ("%s: \"disk_key\" must be a device key (2000...)", where);
      return -1;
    }
    ret->vsphere_key = json_integer_value (tz);
  }
  tz = json_object_get (d, "target_is_zero");
  if (tz && !json_is_null (tz)) {
    if (!json_is_boolean (tz)) {
      cbt_set_error ("%s: \"target_is_zero\" must be true or false", where);
      return -1;
    }
    ret->target_is_zero = json_is_true (tz);
  }
  return 0;
}

/* Reads the "vsphere" object V into *RET. */
static int
manifest_parse_vsphere (json_t *v, struct manifest_vsphere *ret)
{
  json_t *b;

  memset (ret, 0, sizeof *ret);
  if (!json_is_object (v)) {
    cbt_set_error ("\"vsphere\" must be an object");
    return -1;
  }
  if (manifest_get_string (v, "vsphere", "url", &ret->url) == -1 ||
      manifest_get_string (v, "vsphere", "user", &ret->user) == -1 ||
      manifest_get_string (v, "vsphere", "password_file",
                           &ret->password_file) == -1 ||
      manifest_get_string (v, "vsphere", "thumbprint", &ret->thumbprint) ==
          -1 ||
      manifest_get_string (v, "vsphere", "ca_file", &ret->ca_file) == -1 ||
      manifest_get_string (v, "vsphere", "vm", &ret->vm) == -1 ||
      manifest_get_string (v, "vsphere", "snapshot", &ret->snapshot) == -1)
    return -1;
  b = json_object_get (v, "insecure");
  if (b && !json_is_null (b)) {
    if (!json_is_boolean (b)) {
      cbt_set_error ("vsphere: \"insecure\" must be true or false");
      return -1;
    }
    ret->insecure = json_is_true (b);
  }
  if (ret->url == NULL || ret->user == NULL || ret->vm == NULL) {
    cbt_set_error ("vsphere: \"url\", \"user\" and \"vm\" are required");
    return -1;
  }
  return 0;
}

int
manifest_parse (const char *text, size_t len, struct manifest *ret)
{
  struct manifest m = { 0 };
  json_error_t jerr;
  json_t *disks;
  size_t i, j;

  m.root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (m.root == NULL) {
    cbt_set_error ("not valid JSON: %s (line %d, column %d)", jerr.text,
                   jerr.line, jerr.column);
    return -1;
  }
  if (!json_is_object (m.root)) {
    cbt_set_error ("expected a JSON object with \"disks\"");
    goto err;
  }
  if (manifest_get_string (m.root, "manifest", "job_id", &m.job_id) == -1 ||
      manifest_get_string (m.root, "manifest", "vma_url", &m.vma_url) == -1)
    goto err;
  if (m.job_id && !cbt_id_is_valid (m.job_id)) {
    cbt_set_error ("\"job_id\" must be 1-128 characters of [A-Za-z0-9._:-]");
    goto err;
  }
  if (json_object_get (m.root, "vsphere") &&
      !json_is_null (json_object_get (m.root, "vsphere"))) {
    if (manifest_parse_vsphere (json_object_get (m.root, "vsphere"),
                                &m.vsphere) == -1)
      goto err;
    m.has_vsphere = true;
  }
  disks = json_object_get (m.root, "disks");
  if (!json_is_array (disks) || json_array_size (disks) == 0) {
    cbt_set_error ("\"disks\" must be a non-empty array");
    goto err;
  }
  if (json_array_size (disks) > MANIFEST_MAX_DISKS) {
    cbt_set_error ("too many disks (at most %d)", MANIFEST_MAX_DISKS);
    goto err;
  }
  m.nr_disks = json_array_size (disks);
  m.disks = calloc (m.nr_disks, sizeof *m.disks);
  if (m.disks == NULL) {
    cbt_set_error ("out of memory");
    goto err;
  }
  for (i = 0; i < m.nr_disks; i++) {
    if (manifest_parse_disk (json_array_get (disks, i), i, &m.disks[i]) == -1)
      goto err;
    if (m.has_vsphere && (m.disks[i].vsphere_key < 0 || m.disks[i].bitmap ||
                          m.disks[i].changed_areas)) {
      cbt_set_error ("disks[%zu] (%s): with \"vsphere\", each disk needs"
                     " \"disk_key\" and takes neither \"bitmap\" nor"
                     " \"changed_areas\"",
                     i, m.disks[i].id);
      goto err;
    }
    if (!m.has_vsphere && (m.disks[i].vsphere_key >= 0 || m.disks[i].since)) {
      cbt_set_error ("disks[%zu] (%s): \"disk_key\" and \"since\" need"
                     " \"vsphere\"",
                     i, m.disks[i].id);
      goto err;
    }
    for (j = 0; j < i; j++)
      if (strcmp (m.disks[j].id, m.disks[i].id) == 0) {
        cbt_set_error ("disks[%zu]: disk_id \"%s\" is used twice", i,
                       m.disks[i].id);
        goto err;
      }
  }
  *ret = m;
  return 0;

err:
  manifest_free (&m);
  return -1;
}

void
manifest_free (struct manifest *m)
{
  if (m == NULL)
    return;
  free (m->disks);
  json_decref (m->root);
  memset (m, 0, sizeof *m);
}
