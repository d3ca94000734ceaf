/* cbtrack copy - VMware changed-area lists. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "common/error.h"
#include "copy/changed-areas.h"

/* Reads the non-negative integer field KEY of OBJ into *RET. */
static int
changed_areas_get_u64 (json_t *obj, const char *where, const char *key,
                       uint64_t *ret)
{
  json_t *v = json_object_get (obj, key);

  if (v == NULL) {
    cbt_set_error ("%s: missing \"%s\"", where, key);
    return -1;
  }
  if (!json_is_integer (v) || json_integer_value (v) < 0) {
    cbt_set_error ("%s: \"%s\" must be a non-negative integer", where, key);
    return -1;
  }
  *ret = (uint64_t)json_integer_value (v);
  return 0;
}

/* Appends the areas of one DiskChangeInfo page to RANGES. */
static int
changed_areas_add_page (json_t *page, size_t page_no,
                        map_extent_vector *ranges)
{
  char where[96];
  uint64_t start, length, page_end;
  json_t *areas, *area;
  size_t i;

  snprintf (where, sizeof where, "page %zu", page_no);
  if (!json_is_object (page)) {
    cbt_set_error ("%s: expected a DiskChangeInfo object", where);
    return -1;
  }
  if (changed_areas_get_u64 (page, where, "startOffset", &start) == -1 ||
      changed_areas_get_u64 (page, where, "length", &length) == -1)
    return -1;
  if (length > UINT64_MAX - start) {
    cbt_set_error ("%s: startOffset + length overflows", where);
    return -1;
  }
  page_end = start + length;
  areas = json_object_get (page, "changedArea");
  if (areas == NULL || json_is_null (areas))
    return 0; /* vSphere leaves it out when nothing changed */
  if (!json_is_array (areas)) {
    cbt_set_error ("%s: \"changedArea\" must be an array", where);
    return -1;
  }
  json_array_foreach (areas, i, area)
  {
    struct map_extent e;

    snprintf (where, sizeof where, "page %zu, changedArea %zu", page_no, i);
    if (!json_is_object (area)) {
      cbt_set_error ("%s: expected an object {start, length}", where);
      return -1;
    }
    if (changed_areas_get_u64 (area, where, "start", &e.offset) == -1 ||
        changed_areas_get_u64 (area, where, "length", &e.length) == -1)
      return -1;
    if (e.length > UINT64_MAX - e.offset || e.offset < start ||
        e.offset + e.length > page_end) {
      cbt_set_error ("%s: [%" PRIu64 ", +%" PRIu64 ") lies outside its page"
                     " [%" PRIu64 ", %" PRIu64 ")",
                     where, e.offset, e.length, start, page_end);
      return -1;
    }
    e.flags = 0;
    if (map_extent_vector_append (ranges, e) == -1) {
      cbt_set_error ("out of memory");
      return -1;
    }
  }
  return 0;
}

int
changed_areas_parse (const char *text, size_t len, uint64_t capacity,
                     map_extent_vector *ret_ranges)
{
  map_extent_vector ranges = empty_vector;
  json_error_t jerr;
  json_t *root, *page;
  size_t i;
  int ret = -1;

  root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    cbt_set_error ("not valid JSON: %s (line %d, column %d)", jerr.text,
                   jerr.line, jerr.column);
    return -1;
  }
  if (json_is_array (root)) {
    json_array_foreach (root, i,
                        page) if (changed_areas_add_page (page, i, &ranges) ==
                                  -1) goto out;
  } else if (changed_areas_add_page (root, 0, &ranges) == -1) {
    goto out;
  }
  if (plan_normalise_ranges (&ranges, capacity) == -1)
    goto out;
  *ret_ranges = ranges;
  ranges = (map_extent_vector)empty_vector;
  ret = 0;
out:
  map_extent_vector_reset (&ranges);
  json_decref (root);
  return ret;
}
