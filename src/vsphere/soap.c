/* cbtrack vsphere - SOAP envelopes (libxml2). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/error.h"
#include "vsphere/soap.h"

#define VS_NS_SOAPENV "http://schemas.xmlsoap.org/soap/envelope/"
#define VS_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define VS_NS_XSD "http://www.w3.org/2001/XMLSchema"
#define VS_NS_VIM25 "urn:vim25"

/* Records that libxml2 ran out of memory.  Returns NULL. */
static xmlNodePtr
vs_soap_oom (void)
{
  cbt_set_error ("out of memory building a SOAP request");
  return NULL;
}

xmlDocPtr
vs_soap_new (const char *method, const char *this_type, const char *this_value,
             xmlNodePtr *ret_method)
{
  xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
  xmlNodePtr env, body, m;
  xmlNsPtr soapenv, vim;

  if (doc == NULL)
    goto oom;
  env = xmlNewDocNode (doc, NULL, BAD_CAST "Envelope", NULL);
  if (env == NULL)
    goto oom;
  xmlDocSetRootElement (doc, env);
  soapenv = xmlNewNs (env, BAD_CAST VS_NS_SOAPENV, BAD_CAST "soapenv");
  if (soapenv == NULL ||
      xmlNewNs (env, BAD_CAST VS_NS_XSI, BAD_CAST "xsi") == NULL ||
      xmlNewNs (env, BAD_CAST VS_NS_XSD, BAD_CAST "xsd") == NULL)
    goto oom;
  xmlSetNs (env, soapenv);
  body = xmlNewChild (env, soapenv, BAD_CAST "Body", NULL);
  if (body == NULL)
    goto oom;
  m = xmlNewChild (body, NULL, BAD_CAST method, NULL);
  if (m == NULL)
    goto oom;
  vim = xmlNewNs (m, BAD_CAST VS_NS_VIM25, NULL);
  if (vim == NULL)
    goto oom;
  xmlSetNs (m, vim);
  if (vs_soap_add_moref (m, "_this", this_type, this_value) == NULL)
    goto err;
  *ret_method = m;
  return doc;

oom:
  vs_soap_oom ();
err:
  xmlFreeDoc (doc);
  return NULL;
}

xmlNodePtr
vs_soap_add_text (xmlNodePtr parent, const char *name, const char *text)
{
  /* xmlNewTextChild escapes TEXT; xmlNewChild would take it as markup. */
  xmlNodePtr n =
      xmlNewTextChild (parent, parent->ns, BAD_CAST name, BAD_CAST text);

  return n ? n : vs_soap_oom ();
}

xmlNodePtr
vs_soap_add_int (xmlNodePtr parent, const char *name, int64_t value)
{
  char buf[32];

  snprintf (buf, sizeof buf, "%" PRId64, value);
  return vs_soap_add_text (parent, name, buf);
}

xmlNodePtr
vs_soap_add_moref (xmlNodePtr parent, const char *name, const char *type,
                   const char *value)
{
  xmlNodePtr n = vs_soap_add_text (parent, name, value);

  if (n == NULL)
    return NULL;
  if (xmlNewProp (n, BAD_CAST "type", BAD_CAST type) == NULL)
    return vs_soap_oom ();
  return n;
}

xmlNodePtr
vs_soap_add_element (xmlNodePtr parent, const char *name, const char *xsi_type)
{
  xmlNodePtr n = xmlNewChild (parent, parent->ns, BAD_CAST name, NULL);
  xmlNsPtr xsi;

  if (n == NULL)
    return vs_soap_oom ();
  if (xsi_type != NULL) {
    xsi = xmlSearchNsByHref (n->doc, n, BAD_CAST VS_NS_XSI);
    if (xsi == NULL ||
        xmlNewNsProp (n, xsi, BAD_CAST "type", BAD_CAST xsi_type) == NULL)
      return vs_soap_oom ();
  }
  return n;
}

int
vs_soap_serialize (xmlDocPtr doc, xmlChar **ret_text, int *ret_len)
{
  xmlChar *text = NULL;
  int len = 0;

  xmlDocDumpMemoryEnc (doc, &text, &len, "UTF-8");
  if (text == NULL) {
    cbt_set_error ("cannot serialise a SOAP request");
    return -1;
  }
  *ret_text = text;
  *ret_len = len;
  return 0;
}

/* True if NODE is an element named NAME in namespace HREF (any namespace
 * if HREF is NULL).
 */
static bool
vs_xml_is (xmlNodePtr node, const char *href, const char *name)
{
  if (node == NULL || node->type != XML_ELEMENT_NODE)
    return false;
  if (name != NULL && strcmp ((const char *)node->name, name) != 0)
    return false;
  if (href != NULL &&
      (node->ns == NULL || strcmp ((const char *)node->ns->href, href) != 0))
    return false;
  return true;
}

xmlNodePtr
vs_xml_next (xmlNodePtr node, const char *name)
{
  for (node = node ? node->next : NULL; node; node = node->next)
    if (vs_xml_is (node, NULL, name))
      return node;
  return NULL;
}

xmlNodePtr
vs_xml_child (xmlNodePtr node, const char *name)
{
  xmlNodePtr c;

  if (node == NULL)
    return NULL;
  for (c = node->children; c; c = c->next)
    if (vs_xml_is (c, NULL, name))
      return c;
  return NULL;
}

char *
vs_xml_type (xmlNodePtr node, char *buf, size_t len)
{
  xmlChar *t =
      node ? xmlGetNsProp (node, BAD_CAST "type", BAD_CAST VS_NS_XSI) : NULL;
  const char *colon;

  buf[0] = '\0';
  if (t != NULL) {
    colon = strchr ((const char *)t, ':');
    snprintf (buf, len, "%s", colon ? colon + 1 : (const char *)t);
    xmlFree (t);
  }
  return buf;
}

int
vs_xml_child_text (xmlNodePtr node, const char *name, char *buf, size_t len)
{
  xmlNodePtr c = vs_xml_child (node, name);
  xmlChar *t;
  size_t n;

  if (c == NULL) {
    cbt_set_error ("the reply has no <%s>", name);
    return -1;
  }
  t = xmlNodeGetContent (c);
  if (t == NULL) {
    cbt_set_error ("out of memory reading <%s>", name);
    return -1;
  }
  n = strlen ((const char *)t);
  if (n >= len) {
    cbt_set_error ("<%s> is too long (%zu bytes)", name, n);
    xmlFree (t);
    return -1;
  }
  memcpy (buf, t, n + 1);
  xmlFree (t);
  return 0;
}

int
vs_xml_child_int (xmlNodePtr node, const char *name, int64_t *ret)
{
  char buf[32], *end;
  long long v;

  if (vs_xml_child_text (node, name, buf, sizeof buf) == -1)
    return -1;
  errno = 0;
  v = strtoll (buf, &end, 10);
  if (errno != 0 || end == buf || *end != '\0') {
    cbt_set_error ("<%s> is not an integer: '%s'", name, buf);
    return -1;
  }
  *ret = v;
  return 0;
}

/* Reads the soapenv:Fault FAULT into *RET. */
static void
vs_soap_read_fault (xmlNodePtr fault, struct vs_fault *ret)
{
  struct vs_fault f;
  xmlNodePtr detail = vs_xml_child (fault, "detail");
  xmlNodePtr kind = vs_xml_child (detail, NULL);

  memset (&f, 0, sizeof f);

  if (vs_xml_child_text (fault, "faultstring", f.message, sizeof f.message) ==
      -1)
    f.message[0] = '\0';
  if (kind != NULL) {
    vs_xml_type (kind, f.type, sizeof f.type);
    if (f.type[0] == '\0') {
      /* <FileFaultFault> without xsi:type: the element names the type. */
      size_t n = strlen ((const char *)kind->name);

      if (n > 5 && strcmp ((const char *)kind->name + n - 5, "Fault") == 0)
        n -= 5;
      snprintf (f.type, sizeof f.type, "%.*s", (int)n,
                (const char *)kind->name);
    }
  }
  *ret = f;
}

enum vs_soap_result
vs_soap_parse (const char *text, size_t len, const char *method,
               xmlDocPtr *ret_doc, xmlNodePtr *ret_response,
               struct vs_fault *ret_fault)
{
  xmlDocPtr doc;
  xmlNodePtr env, body, first;
  char want[128];

  if (len > INT32_MAX) {
    cbt_set_error ("the reply is too large");
    return VS_SOAP_ERROR;
  }
  /* No XML_PARSE_NOENT / DTDLOAD / DTDATTR: entities stay unexpanded and
   * nothing outside the reply is read.
   */
  doc = xmlReadMemory (text, (int)len, "reply.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOBLANKS |
                           XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL) {
    cbt_set_error ("the reply to %s is not XML", method);
    return VS_SOAP_ERROR;
  }
  env = xmlDocGetRootElement (doc);
  body = vs_xml_is (env, VS_NS_SOAPENV, "Envelope")
             ? vs_xml_child (env, "Body")
             : NULL;
  if (body == NULL) {
    cbt_set_error ("the reply to %s is not a SOAP envelope", method);
    goto err;
  }
  first = vs_xml_child (body, NULL);
  if (vs_xml_is (first, VS_NS_SOAPENV, "Fault")) {
    vs_soap_read_fault (first, ret_fault);
    xmlFreeDoc (doc);
    return VS_SOAP_FAULT;
  }
  snprintf (want, sizeof want, "%sResponse", method);
  if (!vs_xml_is (first, NULL, want)) {
    cbt_set_error ("the reply to %s holds no %s", method, want);
    goto err;
  }
  *ret_doc = doc;
  *ret_response = first;
  return VS_SOAP_OK;

err:
  xmlFreeDoc (doc);
  return VS_SOAP_ERROR;
}
