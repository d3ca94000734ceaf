/* cbtrack vsphere - a session with vCenter or ESXi.
 *
 * vs_session_open asks for the ServiceContent and logs in; the session
 * cookie (vmware_soap_session) is kept by the HTTP handle and sent with
 * every later call.  Sessions expire (idle timeouts, a vCenter restart)
 * and copies run for hours, so a call answered with NotAuthenticated logs
 * in again, once, and is sent again.  vs_session_close logs out.
 *
 * Every request goes to URL (https://HOST/sdk) as a POST with
 * "SOAPAction: urn:vim25/VERSION", VERSION being the server's apiVersion.
 * A session is used by one thread at a time.
 */
#ifndef CBTRACK_VSPHERE_SESSION_H
#define CBTRACK_VSPHERE_SESSION_H

#include <stdbool.h>

#include <libxml/tree.h>

#include "vsphere/soap.h"

struct vs_session_options {
  const char *url;        /* https://HOST/sdk (or https://HOST: /sdk added) */
  const char *user;       /* the vSphere user name */
  const char *password;   /* its password (copied, wiped at close) */
  const char *ca_file;    /* TLS: a PEM CA file, or NULL */
  const char *thumbprint; /* TLS: the server's SHA-256 thumbprint, or NULL */
  bool insecure;          /* TLS: no verification at all */
  long timeout_ms;        /* per call; 0 for 120 s */
};

struct vs_session;

/* Connects to the server of OPTIONS, reads its ServiceContent and logs
 * in.  Returns the session, or NULL with one clear line recorded (wrong
 * password, certificate refused, not a vSphere server...).
 */
struct vs_session *vs_session_open (const struct vs_session_options *options);

/* Logs out (errors ignored: the session expires by itself) and frees S.
 * Accepts NULL.
 */
void vs_session_close (struct vs_session *s);

/* Sends the request DOC (built with vs_soap_new for METHOD) and reads
 * the reply.  NotAuthenticated is answered by one new login and one more
 * try.  Returns VS_SOAP_OK with *RET_DOC and *RET_RESPONSE set (as
 * vs_soap_parse), VS_SOAP_FAULT with *RET_FAULT filled and an error
 * recorded ("METHOD: TYPE: message"), or VS_SOAP_ERROR with an error
 * recorded.
 */
enum vs_soap_result vs_session_call (struct vs_session *s, xmlDocPtr doc,
                                     const char *method, xmlDocPtr *ret_doc,
                                     xmlNodePtr *ret_response,
                                     struct vs_fault *ret_fault);

/* The managed object ids of the ServiceContent. */
const char *vs_session_property_collector (const struct vs_session *s);
const char *vs_session_root_folder (const struct vs_session *s);
const char *vs_session_view_manager (const struct vs_session *s);

/* How many times S logged in (1 after vs_session_open). */
unsigned vs_session_logins (const struct vs_session *s);

/* Turns FAULT, the answer to METHOD, into one clear line (recorded as the
 * error).  I/O-free.
 */
void vs_fault_record (const char *method, const struct vs_fault *fault);

#endif /* CBTRACK_VSPHERE_SESSION_H */
