/* cbtrack vsphere - SOAP envelopes of the vSphere Web Services API.
 *
 * Requests are built and replies read with libxml2's tree API: no XML is
 * written or parsed by hand.  A request is an envelope whose body holds
 * one element named after the method, in the namespace urn:vim25, whose
 * first child is the managed object the method is called on (_this).
 * A reply's body holds METHODResponse (with returnval children) or a
 * soapenv:Fault whose detail names the vSphere fault type.
 *
 * Nothing here does I/O; tests/unit/test-vsphere.c drives it directly.
 */
#ifndef CBTRACK_VSPHERE_SOAP_H
#define CBTRACK_VSPHERE_SOAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

/* A SOAP fault: its vSphere type ("FileFault", "InvalidLogin", ...) and
 * the server's message, both possibly "".
 */
struct vs_fault {
  char type[64];
  char message[512];
};

/* Starts a request for METHOD on the managed object THIS_VALUE of type
 * THIS_TYPE.  Returns the document (free with xmlFreeDoc) and the method
 * element in *RET_METHOD, where the arguments are added in the order the
 * WSDL lists them; or NULL with an error recorded.
 */
xmlDocPtr vs_soap_new (const char *method, const char *this_type,
                       const char *this_value, xmlNodePtr *ret_method);

/* Adds the child NAME holding TEXT to PARENT (TEXT is escaped as needed).
 * Returns the new element, or NULL with an error recorded.
 */
xmlNodePtr vs_soap_add_text (xmlNodePtr parent, const char *name,
                             const char *text);

/* Adds the child NAME holding the decimal VALUE.  Returns like
 * vs_soap_add_text.
 */
xmlNodePtr vs_soap_add_int (xmlNodePtr parent, const char *name,
                            int64_t value);

/* Adds the managed object reference NAME (<NAME type="TYPE">VALUE</NAME>).
 * Returns like vs_soap_add_text.
 */
xmlNodePtr vs_soap_add_moref (xmlNodePtr parent, const char *name,
                              const char *type, const char *value);

/* Adds an empty child NAME, with xsi:type="XSI_TYPE" unless XSI_TYPE is
 * NULL (needed where the WSDL names a base type, as a TraversalSpec in a
 * selectSet of SelectionSpec).  Returns like vs_soap_add_text.
 */
xmlNodePtr vs_soap_add_element (xmlNodePtr parent, const char *name,
                                const char *xsi_type);

/* Serialises DOC into *RET_TEXT (free with xmlFree) and its length into
 * *RET_LEN.  Returns 0, or -1 with an error recorded.
 */
int vs_soap_serialize (xmlDocPtr doc, xmlChar **ret_text, int *ret_len);

/* What a reply held. */
enum vs_soap_result {
  VS_SOAP_ERROR = -1, /* not a SOAP reply (error recorded) */
  VS_SOAP_OK = 0,     /* a METHODResponse */
  VS_SOAP_FAULT = 1,  /* a fault, described in *RET_FAULT */
};

/* Parses the reply TEXT (LEN bytes) to METHOD.  On VS_SOAP_OK sets
 * *RET_DOC (free with xmlFreeDoc) and *RET_RESPONSE (the METHODResponse
 * element, inside *RET_DOC); on VS_SOAP_FAULT fills *RET_FAULT; on
 * VS_SOAP_ERROR records an error.  The outputs are untouched otherwise.
 * The parser loads no DTD, expands no entity and reads no network.
 */
enum vs_soap_result vs_soap_parse (const char *text, size_t len,
                                   const char *method, xmlDocPtr *ret_doc,
                                   xmlNodePtr *ret_response,
                                   struct vs_fault *ret_fault);

/* The first element child of NODE (NULL for none) whose local name is
 * NAME, or, with NAME NULL, the first element child.
 */
xmlNodePtr vs_xml_child (xmlNodePtr node, const char *name);

/* The next element sibling after NODE with local name NAME (any name if
 * NAME is NULL), or NULL.
 */
xmlNodePtr vs_xml_next (xmlNodePtr node, const char *name);

/* The local part of NODE's xsi:type attribute ("VirtualDisk" for
 * xsi:type="vim25:VirtualDisk"), copied into BUF of LEN bytes; "" when
 * there is none.  Returns BUF.
 */
char *vs_xml_type (xmlNodePtr node, char *buf, size_t len);

/* The text of the child NAME of NODE copied into BUF of LEN bytes.
 * Returns 0, or -1 with an error recorded when the child is missing or
 * the text does not fit (BUF is then untouched).
 */
int vs_xml_child_text (xmlNodePtr node, const char *name, char *buf,
                       size_t len);

/* The text of the child NAME of NODE as a signed decimal integer.
 * Returns 0, or -1 with an error recorded (*RET untouched).
 */
int vs_xml_child_int (xmlNodePtr node, const char *name, int64_t *ret);

#endif /* CBTRACK_VSPHERE_SOAP_H */
