/* Unit tests of the I/O-free parts of src/vsphere/: SOAP envelopes (soap.c),
 * faults, the decoding of disks (props.c) and of DiskChangeInfo pages, the
 * pager of QueryChangedDiskAreas (cbt.c), and the plan of a full copy
 * limited to vSphere's allocated areas (copy/plan.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "common/error.h"
#include "common/http-client.h"
#include "copy/plan.h"
#include "vsphere/cbt.h"
#include "vsphere/copy-source.h"
#include "vsphere/props.h"
#include "vsphere/session.h"
#include "vsphere/soap.h"

#define ENV_OPEN                                                              \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                                \
  "<soapenv:Envelope "                                                        \
  "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "              \
  "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
#define ENV_CLOSE "</soapenv:Body></soapenv:Envelope>"

/* Parses REPLY (a reply to METHOD) expecting VS_SOAP_OK. */
static xmlNodePtr
parse_ok (const char *method, const char *reply, xmlDocPtr *doc)
{
  xmlNodePtr resp = NULL;
  struct vs_fault f;

  assert_int_equal (
      vs_soap_parse (reply, strlen (reply), method, doc, &resp, &f),
      VS_SOAP_OK);
  return resp;
}

static void
test_request_login (void **state)
{
  xmlNodePtr m;
  xmlDocPtr doc =
      vs_soap_new ("Login", "SessionManager", "SessionManager", &m);
  xmlChar *text;
  int len;

  assert_non_null (doc);
  assert_non_null (vs_soap_add_text (m, "userName", "a<b&c"));
  assert_non_null (vs_soap_add_text (m, "password", "]]>\"'"));
  assert_int_equal (vs_soap_serialize (doc, &text, &len), 0);
  /* The method is in urn:vim25, _this carries its type, text is escaped. */
  assert_non_null (strstr ((char *)text, "<Login xmlns=\"urn:vim25\">"));
  assert_non_null (strstr (
      (char *)text, "<_this type=\"SessionManager\">SessionManager</_this>"));
  assert_non_null (strstr ((char *)text, "<userName>a&lt;b&amp;c</userName>"));
  assert_null (strstr ((char *)text, "a<b"));
  assert_non_null (strstr ((char *)text, "<soapenv:Body>"));
  xmlFree (text);
  xmlFreeDoc (doc);
}

static void
test_request_qcda_and_xsi_type (void **state)
{
  xmlNodePtr m, sel;
  xmlDocPtr doc =
      vs_soap_new ("QueryChangedDiskAreas", "VirtualMachine", "vm-42", &m);
  xmlChar *text;
  int len;

  assert_non_null (vs_soap_add_moref (m, "snapshot", "VirtualMachineSnapshot",
                                      "snapshot-7"));
  assert_non_null (vs_soap_add_int (m, "deviceKey", 2000));
  assert_non_null (vs_soap_add_int (m, "startOffset", INT64_C (1) << 40));
  assert_non_null (vs_soap_add_text (m, "changeId", "*"));
  sel = vs_soap_add_element (m, "selectSet", "TraversalSpec");
  assert_non_null (sel);
  assert_int_equal (vs_soap_serialize (doc, &text, &len), 0);
  assert_non_null (strstr ((char *)text,
                           "<snapshot type=\"VirtualMachineSnapshot\">"
                           "snapshot-7</snapshot><deviceKey>2000</deviceKey>"
                           "<startOffset>1099511627776</startOffset>"
                           "<changeId>*</changeId>"));
  assert_non_null (strstr ((char *)text, "xsi:type=\"TraversalSpec\""));
  xmlFree (text);
  xmlFreeDoc (doc);
}

static void
test_parse_fault (void **state)
{
  static const char reply[] =
      ENV_OPEN "<soapenv:Fault><faultcode>ServerFaultCode</faultcode>"
               "<faultstring>Error caused by file /vmfs/a.vmdk</faultstring>"
               "<detail><FileFaultFault xmlns=\"urn:vim25\" "
               "xsi:type=\"FileFault\"><file>a</file></FileFaultFault>"
               "</detail></soapenv:Fault>" ENV_CLOSE;
  static const char untyped[] =
      ENV_OPEN "<soapenv:Fault><faultcode>ServerFaultCode</faultcode>"
               "<faultstring></faultstring><detail><InvalidLoginFault "
               "xmlns=\"urn:vim25\"/></detail></soapenv:Fault>" ENV_CLOSE;
  xmlDocPtr doc = NULL;
  xmlNodePtr resp = NULL;
  struct vs_fault f;

  assert_int_equal (
      vs_soap_parse (reply, strlen (reply), "X", &doc, &resp, &f),
      VS_SOAP_FAULT);
  assert_string_equal (f.type, "FileFault");
  assert_string_equal (f.message, "Error caused by file /vmfs/a.vmdk");
  assert_null (doc);
  vs_fault_record ("QueryChangedDiskAreas", &f);
  assert_non_null (strstr (cbt_get_error (), "unknown or was reset"));

  assert_int_equal (
      vs_soap_parse (untyped, strlen (untyped), "Login", &doc, &resp, &f),
      VS_SOAP_FAULT);
  assert_string_equal (f.type, "InvalidLogin");
}

static void
test_parse_garbage (void **state)
{
  static const char *const bad[] = {
    "",
    "not xml",
    "<a/>",
    ENV_OPEN "<OtherResponse xmlns=\"urn:vim25\"/>" ENV_CLOSE,
    /* An entity is never expanded, nor an external DTD read. */
    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM "
    "\"file:///etc/passwd\">]><x>&e;</x>",
  };
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    xmlDocPtr doc = NULL;
    xmlNodePtr resp = NULL;
    struct vs_fault f;

    assert_int_equal (
        vs_soap_parse (bad[i], strlen (bad[i]), "Login", &doc, &resp, &f),
        VS_SOAP_ERROR);
    assert_null (doc);
  }
}

static void
test_decode_disks (void **state)
{
  static const char reply[] = ENV_OPEN
      "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval>"
      "<objects><obj type=\"VirtualMachine\">vm-1</obj><propSet>"
      "<name>config.hardware.device</name><val "
      "xsi:type=\"ArrayOfVirtualDevice\">"
      "<VirtualDevice xsi:type=\"VirtualIDEController\"><key>200</key>"
      "</VirtualDevice>"
      "<VirtualDevice xsi:type=\"VirtualDisk\"><key>2000</key><deviceInfo>"
      "<label>Hard disk 1</label></deviceInfo><backing "
      "xsi:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName>[ds1] vm/vm.vmdk"
      "</fileName><uuid>6000C29</uuid><changeId>52 aa/4</changeId>"
      "</backing><capacityInKB>1024</capacityInKB><capacityInBytes>"
      "1048576</capacityInBytes></VirtualDevice>"
      "<VirtualDevice xsi:type=\"VirtualDisk\"><key>2001</key><backing "
      "xsi:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName>[ds1] b.vmdk"
      "</fileName></backing><capacityInKB>2048</capacityInKB>"
      "</VirtualDevice></val></propSet></objects></returnval>"
      "</RetrievePropertiesExResponse>" ENV_CLOSE;
  xmlDocPtr doc;
  xmlNodePtr resp = parse_ok ("RetrievePropertiesEx", reply, &doc);
  xmlNodePtr val = vs_xml_child (
      vs_xml_child (
          vs_xml_child (
              vs_xml_child (vs_xml_child (resp, "returnval"), "objects"),
              "propSet"),
          "val"),
      NULL);
  vs_disk_vector disks = empty_vector;

  assert_non_null (val);
  assert_int_equal (vs_decode_disks (val->parent, &disks), 0);
  assert_int_equal (disks.len, 2);
  assert_int_equal (disks.ptr[0].key, 2000);
  assert_string_equal (disks.ptr[0].label, "Hard disk 1");
  assert_int_equal (disks.ptr[0].capacity, 1048576);
  assert_string_equal (disks.ptr[0].file, "[ds1] vm/vm.vmdk");
  assert_string_equal (disks.ptr[0].change_id, "52 aa/4");
  assert_int_equal (disks.ptr[1].capacity, 2048 * 1024);
  assert_string_equal (disks.ptr[1].change_id, "");
  assert_ptr_equal (vs_disk_find (&disks, 2001), &disks.ptr[1]);
  assert_null (vs_disk_find (&disks, 2002));
  vs_disk_vector_reset (&disks);
  xmlFreeDoc (doc);
}

static void
test_decode_page (void **state)
{
  static const char reply[] =
      ENV_OPEN "<QueryChangedDiskAreasResponse xmlns=\"urn:vim25\">"
               "<returnval><startOffset>1048576</startOffset><length>"
               "2097152</length><changedArea><start>1048576</start><length>"
               "4096</length></changedArea><changedArea><start>2000000"
               "</start><length>512</length></changedArea></returnval>"
               "</QueryChangedDiskAreasResponse>" ENV_CLOSE;
  xmlDocPtr doc;
  xmlNodePtr resp = parse_ok ("QueryChangedDiskAreas", reply, &doc);
  vs_area_vector areas = empty_vector;
  uint64_t start, length;

  assert_int_equal (vs_cbt_decode_page (vs_xml_child (resp, "returnval"),
                                        &start, &length, &areas),
                    0);
  assert_int_equal (start, 1048576);
  assert_int_equal (length, 2097152);
  assert_int_equal (areas.len, 2);
  assert_int_equal (areas.ptr[1].start, 2000000);
  assert_int_equal (areas.ptr[1].length, 512);
  vs_area_vector_reset (&areas);
  xmlFreeDoc (doc);
}

static void
test_pager_pages_to_the_end (void **state)
{
  struct vs_cbt_pager p;
  struct vs_area a1[] = { { 0, 4096 }, { 4096, 4096 }, { 65536, 512 } };
  struct vs_area a3[] = { { 3 << 20, 1 << 20 } };

  vs_cbt_pager_init (&p, 4 << 20);
  assert_int_equal (vs_cbt_pager_add (&p, 0, 1 << 20, a1, 3), 0);
  assert_int_equal (p.next, 1 << 20);
  /* An empty page is not the end: it only covers its own window. */
  assert_int_equal (vs_cbt_pager_add (&p, 1 << 20, 1 << 20, NULL, 0), 0);
  assert_int_equal (vs_cbt_pager_add (&p, 2 << 20, 1 << 20, NULL, 0), 0);
  assert_int_equal (vs_cbt_pager_add (&p, 3 << 20, 1 << 20, a3, 1), 1);
  assert_int_equal (p.pages, 4);
  assert_int_equal (p.areas.len, 3); /* 0+4096 and 4096+4096 merged */
  assert_int_equal (p.areas.ptr[0].length, 8192);
  assert_int_equal (p.bytes, 8192 + 512 + (1 << 20));
  vs_cbt_pager_free (&p);
}

static void
test_pager_refuses (void **state)
{
  struct vs_cbt_pager p;
  struct vs_area outside[] = { { 2 << 20, 4096 } };
  struct vs_area before[] = { { 0, 4096 } };
  struct vs_area overlap[] = { { 1 << 20, 8192 }, { (1 << 20) + 4096, 1 } };
  struct vs_area ok[] = { { 4096, 4096 } };

  vs_cbt_pager_init (&p, 4 << 20);
  assert_int_equal (vs_cbt_pager_add (&p, 0, 1 << 20, ok, 1), 0);
  /* Not where the last page ended; no progress; areas outside the page,
   * before it, overlapping: each refused, the pager unchanged.
   */
  assert_int_equal (vs_cbt_pager_add (&p, 0, 1 << 20, NULL, 0), -1);
  assert_int_equal (vs_cbt_pager_add (&p, 1 << 20, 0, NULL, 0), -1);
  assert_int_equal (vs_cbt_pager_add (&p, 1 << 20, 1 << 20, outside, 1), -1);
  assert_int_equal (vs_cbt_pager_add (&p, 1 << 20, 1 << 20, before, 1), -1);
  assert_int_equal (vs_cbt_pager_add (&p, 1 << 20, 1 << 20, overlap, 2), -1);
  assert_int_equal (p.next, 1 << 20);
  assert_int_equal (p.areas.len, 1);
  assert_int_equal (p.areas.ptr[0].length, 4096);
  /* A page reaching past the capacity ends the disk. */
  assert_int_equal (vs_cbt_pager_add (&p, 1 << 20, 8 << 20, NULL, 0), 1);
  assert_int_equal (p.next, 4 << 20);
  vs_cbt_pager_free (&p);
}

static void
test_mask_allocation (void **state)
{
  /* Source: data [0,1M), hole [1M,2M), data [2M,4M). vSphere: allocated
   * [512K,1536K) and [3M,4M).
   */
  map_extent_vector alloc = empty_vector, allocated = empty_vector;
  map_extent_vector out = empty_vector;
  struct plan plan;
  uint64_t M = 1 << 20;

  map_extent_vector_append (&alloc, (struct map_extent){ 0, M, 0 });
  map_extent_vector_append (&alloc, (struct map_extent){ M, M, 3 });
  map_extent_vector_append (&alloc, (struct map_extent){ 2 * M, 2 * M, 0 });
  map_extent_vector_append (&allocated, (struct map_extent){ M / 2, M, 0 });
  map_extent_vector_append (&allocated, (struct map_extent){ 3 * M, M, 0 });
  assert_int_equal (plan_mask_allocation (4 * M, &alloc, &allocated, &out), 0);
  assert_int_equal (out.len, 4);
  assert_int_equal (out.ptr[0].offset, 0);
  assert_int_equal (out.ptr[0].flags, 3); /* outside: hole */
  assert_int_equal (out.ptr[1].offset, M / 2);
  assert_int_equal (out.ptr[1].flags, 0); /* inside, data */
  assert_int_equal (out.ptr[2].offset, M);
  assert_int_equal (out.ptr[2].length, 2 * M); /* hole either way, merged */
  assert_int_equal (out.ptr[3].offset, 3 * M);
  assert_int_equal (plan_build (4 * M, &out, NULL, false, &plan), 0);
  /* The total is data ∩ allocated, exactly. */
  assert_int_equal (plan.transfer_bytes, M / 2 + M);
  assert_false (plan.incremental);
  plan_free (&plan);
  map_extent_vector_reset (&out);

  /* Without base:allocation, the allocated areas alone decide. */
  assert_int_equal (plan_mask_allocation (4 * M, NULL, &allocated, &out), 0);
  assert_int_equal (plan_build (4 * M, &out, NULL, true, &plan), 0);
  assert_int_equal (plan.transfer_bytes, 2 * M);
  plan_free (&plan);
  map_extent_vector_reset (&out);
  map_extent_vector_reset (&alloc);
  map_extent_vector_reset (&allocated);
}

static void
test_change_id_epoch (void **state)
{
  assert_true (vs_change_id_same_epoch ("52 aa bb-cc/4", "52 aa bb-cc/17"));
  assert_false (vs_change_id_same_epoch ("52 aa bb-cc/4", "52 aa bb-dd/5"));
  assert_false (vs_change_id_same_epoch ("52 aa/4", "52 aa bb/4"));
  assert_true (vs_change_id_same_epoch ("opaque", "52 aa/4"));
}

static void
test_thumbprint (void **state)
{
  static const char colons[] = "44:8F:62:8A:8A:65:AA:18:56:0E:53:A8:0C:53:AC:"
                               "B3:8C:51:B4:27:DF:03:34:08:23:49:14:11:47:DC:"
                               "9B:F6";
  static const char bare[] =
      "448f628a8a65aa18560e53a80c53acb38c51b427df03340823491411"
      "47dc9bf6";
  unsigned char a[32], b[32], keep[32];

  assert_int_equal (cbt_http_parse_thumbprint (colons, a), 0);
  assert_int_equal (cbt_http_parse_thumbprint (bare, b), 0);
  assert_memory_equal (a, b, 32);
  assert_int_equal (a[0], 0x44);
  assert_int_equal (a[31], 0xf6);
  memset (keep, 0xaa, sizeof keep);
  memcpy (b, keep, sizeof b);
  /* SHA-1 length, one digit short, a digit too many, not hex, a trailing
   * colon: refused, the output untouched.
   */
  assert_int_equal (
      cbt_http_parse_thumbprint (
          "44:8F:62:8A:8A:65:AA:18:56:0E:53:A8:0C:53:AC:B3:8C:51:B4:27", b),
      -1);
  assert_int_equal (cbt_http_parse_thumbprint (bare + 1, b), -1);
  assert_int_equal (cbt_http_parse_thumbprint ("0448f628a8a65aa18560e53a80c53"
                                               "acb38c51b427df0334082349141147"
                                               "dc9bf6",
                                               b),
                    -1);
  assert_int_equal (cbt_http_parse_thumbprint ("zz8f628a8a65aa18560e53a80c53a"
                                               "cb38c51b427df03340823491411"
                                               "47dc9bf6",
                                               b),
                    -1);
  assert_int_equal (
      cbt_http_parse_thumbprint ("44:8F:62:8A:8A:65:AA:18:56:0E:53:A8:0C:53:"
                                 "AC:B3:8C:51:B4:27:DF:03:34:08:23:49:14:11:"
                                 "47:DC:9B:F6:",
                                 b),
      -1);
  assert_memory_equal (b, keep, 32);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_request_login),
    cmocka_unit_test (test_request_qcda_and_xsi_type),
    cmocka_unit_test (test_parse_fault),
    cmocka_unit_test (test_parse_garbage),
    cmocka_unit_test (test_decode_disks),
    cmocka_unit_test (test_decode_page),
    cmocka_unit_test (test_pager_pages_to_the_end),
    cmocka_unit_test (test_pager_refuses),
    cmocka_unit_test (test_mask_allocation),
    cmocka_unit_test (test_change_id_epoch),
    cmocka_unit_test (test_thumbprint),
  };
  int r;

  xmlInitParser ();
  r = cmocka_run_group_tests (tests, NULL, NULL);
  xmlCleanupParser ();
  return r;
}
