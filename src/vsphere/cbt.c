/* cbtrack vsphere - QueryChangedDiskAreas, paged to the disk's end. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "vsphere/cbt.h"

void
vs_cbt_pager_init (struct vs_cbt_pager *p, uint64_t capacity)
{
  memset (p, 0, sizeof *p);
  p->capacity = capacity;
}

void
vs_cbt_pager_free (struct vs_cbt_pager *p)
{
  if (p == NULL)
    return;
  vs_area_vector_reset (&p->areas);
}

int
vs_cbt_pager_add (struct vs_cbt_pager *p, uint64_t start, uint64_t length,
                  const struct vs_area *areas, size_t n)
{
  uint64_t end, prev_end, bytes = 0;
  size_t i, old_len = p->areas.len;
  struct vs_area last = { 0 };

  if (start != p->next) {
    cbt_set_error ("QueryChangedDiskAreas answered from offset %" PRIu64
                   " when asked from %" PRIu64,
                   start, p->next);
    return -1;
  }
  if (length == 0 || length > UINT64_MAX - start) {
    cbt_set_error ("QueryChangedDiskAreas made no progress at offset %" PRIu64
                   " (length %" PRIu64 ")",
                   start, length);
    return -1;
  }
  end = start + length;
  if (end > p->capacity)
    end = p->capacity;
  prev_end = start;
  if (old_len > 0)
    last = p->areas.ptr[old_len - 1];
  for (i = 0; i < n; i++) {
    const struct vs_area *a = &areas[i];

    if (a->length == 0)
      continue;
    if (a->start < prev_end || a->length > end - a->start || a->start > end) {
      cbt_set_error ("QueryChangedDiskAreas: area [%" PRIu64 ", +%" PRIu64
                     ") is outside its page [%" PRIu64 ", %" PRIu64
                     ") or overlaps the one before",
                     a->start, a->length, start, end);
      p->areas.len = old_len;
      if (old_len > 0)
        p->areas.ptr[old_len - 1] = last;
      return -1;
    }
    prev_end = a->start + a->length;
    bytes += a->length;
    if (p->areas.len > 0 && p->areas.ptr[p->areas.len - 1].start +
                                    p->areas.ptr[p->areas.len - 1].length ==
                                a->start) {
      p->areas.ptr[p->areas.len - 1].length += a->length;
    } else if (vs_area_vector_append (&p->areas, *a) == -1) {
      cbt_set_error ("out of memory");
      p->areas.len = old_len;
      if (old_len > 0)
        p->areas.ptr[old_len - 1] = last;
      return -1;
    }
  }
  p->bytes += bytes;
  p->next = end;
  p->pages++;
  return p->next >= p->capacity ? 1 : 0;
}

/* Reads the non-negative integer child NAME of NODE into *RET. */
static int
vs_cbt_u64 (xmlNodePtr node, const char *name, uint64_t *ret)
{
  int64_t v;

  if (vs_xml_child_int (node, name, &v) == -1)
    return -1;
  if (v < 0) {
    cbt_set_error ("<%s> is negative", name);
    return -1;
  }
  *ret = (uint64_t)v;
  return 0;
}

int
vs_cbt_decode_page (xmlNodePtr info, uint64_t *ret_start, uint64_t *ret_length,
                    vs_area_vector *areas)
{
  xmlNodePtr a;
  uint64_t start, length;

  areas->len = 0;
  if (info == NULL) {
    cbt_set_error ("QueryChangedDiskAreas: no DiskChangeInfo in the reply");
    return -1;
  }
  if (vs_cbt_u64 (info, "startOffset", &start) == -1 ||
      vs_cbt_u64 (info, "length", &length) == -1)
    return -1;
  for (a = vs_xml_child (info, "changedArea"); a;
       a = vs_xml_next (a, "changedArea")) {
    struct vs_area area;

    if (vs_cbt_u64 (a, "start", &area.start) == -1 ||
        vs_cbt_u64 (a, "length", &area.length) == -1)
      return -1;
    if (area.length > UINT64_MAX - area.start) {
      cbt_set_error ("QueryChangedDiskAreas: an area overflows");
      return -1;
    }
    if (vs_area_vector_append (areas, area) == -1) {
      cbt_set_error ("out of memory");
      return -1;
    }
  }
  *ret_start = start;
  *ret_length = length;
  return 0;
}

int
vs_cbt_query (struct vs_session *s, const char *vm, const char *snapshot,
              int32_t key, uint64_t capacity, const char *change_id,
              vs_area_vector *ret_areas, unsigned *ret_calls)
{
  struct vs_cbt_pager p;
  vs_area_vector page = empty_vector;
  int done = 0, ret = -1;

  if (capacity == 0) {
    cbt_set_error ("disk %" PRId32 " has no capacity", key);
    return -1;
  }
  vs_cbt_pager_init (&p, capacity);
  while (done == 0) {
    xmlNodePtr m, resp;
    xmlDocPtr req, doc = NULL;
    struct vs_fault f;
    enum vs_soap_result r;
    uint64_t start, length;

    req = vs_soap_new ("QueryChangedDiskAreas", "VirtualMachine", vm, &m);
    if (req == NULL)
      goto out;
    if ((snapshot &&
         vs_soap_add_moref (m, "snapshot", "VirtualMachineSnapshot",
                            snapshot) == NULL) ||
        vs_soap_add_int (m, "deviceKey", key) == NULL ||
        vs_soap_add_int (m, "startOffset", (int64_t)p.next) == NULL ||
        vs_soap_add_text (m, "changeId", change_id) == NULL) {
      xmlFreeDoc (req);
      goto out;
    }
    r = vs_session_call (s, req, "QueryChangedDiskAreas", &doc, &resp, &f);
    xmlFreeDoc (req);
    if (r == VS_SOAP_FAULT && strcmp (f.type, "FileFault") == 0) {
      ret = VS_CBT_UNKNOWN_CHANGE_ID;
      goto out;
    }
    if (r != VS_SOAP_OK)
      goto out;
    if (vs_cbt_decode_page (vs_xml_child (resp, "returnval"), &start, &length,
                            &page) == -1) {
      xmlFreeDoc (doc);
      goto out;
    }
    xmlFreeDoc (doc);
    done = vs_cbt_pager_add (&p, start, length, page.ptr, page.len);
    if (done == -1)
      goto out;
  }
  *ret_areas = p.areas;
  p.areas = (vs_area_vector)empty_vector;
  if (ret_calls)
    *ret_calls = p.pages;
  ret = 0;
out:
  vs_area_vector_reset (&page);
  vs_cbt_pager_free (&p);
  return ret;
}
