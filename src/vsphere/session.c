/* cbtrack vsphere - login, relogin, logout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/http-client.h"
#include "vsphere/session.h"

/* The SOAPAction before the server has said its version. */
#define VS_FIRST_VERSION "6.7"
#define VS_DEFAULT_TIMEOUT_MS 120000L
/* A reply of QueryChangedDiskAreas with 2000 areas is about 200 KiB;
 * RetrievePropertiesEx of a VM's devices can reach a few MiB.
 */
#define VS_MAX_REPLY (64 * 1024 * 1024)

struct vs_session {
  struct vs_session_options o;
  char *url, *user, *password, *ca_file, *thumbprint;
  struct cbt_http *http;
  char api_version[32];
  char session_manager[64];
  char property_collector[64];
  char root_folder[64];
  char view_manager[64];
  unsigned logins;
};

void
vs_fault_record (const char *method, const struct vs_fault *f)
{
  const char *type = f->type[0] ? f->type : "fault";

  if (strcmp (f->type, "InvalidLogin") == 0)
    cbt_set_error ("login refused: wrong user name or password"
                   " (InvalidLogin)");
  else if (strcmp (f->type, "NotAuthenticated") == 0)
    cbt_set_error ("%s: the session is not authenticated"
                   " (NotAuthenticated)",
                   method);
  else if (strcmp (f->type, "ManagedObjectNotFound") == 0)
    cbt_set_error ("%s: the object does not exist (any more)"
                   " (ManagedObjectNotFound%s%s)",
                   method, f->message[0] ? ": " : "", f->message);
  else if (strcmp (f->type, "FileFault") == 0)
    cbt_set_error ("%s: the changeId is unknown or was reset (FileFault%s%s)",
                   method, f->message[0] ? ": " : "", f->message);
  else
    cbt_set_error ("%s: %s%s%s", method, type, f->message[0] ? ": " : "",
                   f->message);
}

/* (Re)creates the HTTP handle of S for the SOAPAction of its version.
 * The cookie jar goes with it: only done before a login.
 */
static int
vs_session_new_http (struct vs_session *s)
{
  char action[64];
  struct cbt_http_options ho = {
    .component = "vsphere",
    .timeout_ms =
        s->o.timeout_ms > 0 ? s->o.timeout_ms : VS_DEFAULT_TIMEOUT_MS,
    .max_reply = VS_MAX_REPLY,
    .ca_file = s->ca_file,
    .thumbprint = s->thumbprint,
    .insecure = s->o.insecure,
    .cookies = true,
    .extra_header = action,
  };
  struct cbt_http *h;

  snprintf (action, sizeof action, "SOAPAction: \"urn:vim25/%s\"",
            s->api_version);
  h = cbt_http_new (&ho);
  if (h == NULL)
    return -1;
  cbt_http_free (s->http);
  s->http = h;
  return 0;
}

/* One round trip: sends DOC, parses the reply.  No relogin. */
static enum vs_soap_result
vs_session_send (struct vs_session *s, xmlDocPtr doc, const char *method,
                 xmlDocPtr *ret_doc, xmlNodePtr *ret_response,
                 struct vs_fault *ret_fault)
{
  xmlChar *text;
  int len;
  long status;
  const char *reply;
  size_t rlen;
  enum vs_soap_result r;

  if (vs_soap_serialize (doc, &text, &len) == -1)
    return VS_SOAP_ERROR;
  r = cbt_http_prepare (s->http, "POST", s->url, "text/xml; charset=utf-8",
                        text, (size_t)len) == 0
          ? VS_SOAP_OK
          : VS_SOAP_ERROR;
  xmlFree (text);
  if (r == VS_SOAP_ERROR)
    return r;
  if (cbt_http_perform (s->http, &status) == -1) {
    cbt_set_error ("%s: %s", s->url, cbt_http_error (s->http));
    return VS_SOAP_ERROR;
  }
  reply = cbt_http_reply (s->http, &rlen);
  r = vs_soap_parse (reply, rlen, method, ret_doc, ret_response, ret_fault);
  if (r == VS_SOAP_ERROR && status != 200) {
    cbt_set_error ("%s: HTTP %ld to %s (is it a vSphere /sdk URL?)", s->url,
                   status, method);
  }
  return r;
}

/* Logs S in with its user and password. */
static int
vs_session_login (struct vs_session *s)
{
  xmlNodePtr m, resp;
  xmlDocPtr req, doc = NULL;
  struct vs_fault f;
  enum vs_soap_result r;

  req = vs_soap_new ("Login", "SessionManager", s->session_manager, &m);
  if (req == NULL)
    return -1;
  if (vs_soap_add_text (m, "userName", s->user) == NULL ||
      vs_soap_add_text (m, "password", s->password) == NULL) {
    xmlFreeDoc (req);
    return -1;
  }
  r = vs_session_send (s, req, "Login", &doc, &resp, &f);
  xmlFreeDoc (req);
  if (r == VS_SOAP_FAULT) {
    vs_fault_record ("Login", &f);
    if (strcmp (f.type, "InvalidLogin") == 0)
      cbt_set_error ("%s: login refused for user '%s': wrong user name or"
                     " password (InvalidLogin)",
                     s->url, s->user);
    return -1;
  }
  if (r == VS_SOAP_ERROR)
    return -1;
  xmlFreeDoc (doc);
  s->logins++;
  return 0;
}

/* Reads the ServiceContent: the ids of the managers and the version. */
static int
vs_session_service_content (struct vs_session *s)
{
  xmlNodePtr m, resp, sc, about;
  xmlDocPtr req, doc = NULL;
  struct vs_fault f;
  enum vs_soap_result r;
  int ret = -1;

  req = vs_soap_new ("RetrieveServiceContent", "ServiceInstance",
                     "ServiceInstance", &m);
  if (req == NULL)
    return -1;
  r = vs_session_send (s, req, "RetrieveServiceContent", &doc, &resp, &f);
  xmlFreeDoc (req);
  if (r == VS_SOAP_FAULT)
    vs_fault_record ("RetrieveServiceContent", &f);
  if (r != VS_SOAP_OK)
    return -1;
  sc = vs_xml_child (resp, "returnval");
  about = vs_xml_child (sc, "about");
  if (vs_xml_child_text (sc, "rootFolder", s->root_folder,
                         sizeof s->root_folder) == -1 ||
      vs_xml_child_text (sc, "propertyCollector", s->property_collector,
                         sizeof s->property_collector) == -1 ||
      vs_xml_child_text (sc, "viewManager", s->view_manager,
                         sizeof s->view_manager) == -1 ||
      vs_xml_child_text (sc, "sessionManager", s->session_manager,
                         sizeof s->session_manager) == -1 ||
      vs_xml_child_text (about, "apiVersion", s->api_version,
                         sizeof s->api_version) == -1) {
    char msg[256];

    snprintf (msg, sizeof msg, "%s", cbt_get_error ());
    cbt_set_error ("%s: not a vSphere ServiceContent: %s", s->url, msg);
    goto out;
  }
  ret = 0;
out:
  xmlFreeDoc (doc);
  return ret;
}

/* A copy of STR (NULL stays NULL); false when out of memory. */
static bool
vs_dup (const char *str, char **ret)
{
  *ret = str ? strdup (str) : NULL;
  return str == NULL || *ret != NULL;
}

struct vs_session *
vs_session_open (const struct vs_session_options *options)
{
  struct vs_session *s = calloc (1, sizeof *s);
  size_t n;

  if (s == NULL) {
    cbt_set_error ("out of memory");
    return NULL;
  }
  s->o = *options;
  n = strlen (options->url);
  if (n > 0 && options->url[n - 1] == '/')
    n--;
  if (n < 4 || strncmp (options->url + n - 4, "/sdk", 4) != 0) {
    if (asprintf (&s->url, "%.*s/sdk", (int)n, options->url) == -1)
      s->url = NULL;
  } else {
    s->url = strndup (options->url, n);
  }
  if (s->url == NULL || !vs_dup (options->user, &s->user) ||
      !vs_dup (options->password, &s->password) ||
      !vs_dup (options->ca_file, &s->ca_file) ||
      !vs_dup (options->thumbprint, &s->thumbprint)) {
    cbt_set_error ("out of memory");
    goto err;
  }
  snprintf (s->api_version, sizeof s->api_version, "%s", VS_FIRST_VERSION);
  if (vs_session_new_http (s) == -1 || vs_session_service_content (s) == -1)
    goto err;
  if (strcmp (s->api_version, VS_FIRST_VERSION) != 0 &&
      vs_session_new_http (s) == -1)
    goto err;
  if (vs_session_login (s) == -1)
    goto err;
  return s;

err:
  s->session_manager[0] = '\0'; /* no logout */
  vs_session_close (s);
  return NULL;
}

void
vs_session_close (struct vs_session *s)
{
  if (s == NULL)
    return;
  if (s->logins > 0 && s->http) {
    xmlNodePtr m, resp;
    xmlDocPtr req, doc = NULL;
    struct vs_fault f;

    req = vs_soap_new ("Logout", "SessionManager", s->session_manager, &m);
    if (req &&
        vs_session_send (s, req, "Logout", &doc, &resp, &f) == VS_SOAP_OK)
      xmlFreeDoc (doc);
    xmlFreeDoc (req);
  }
  cbt_http_free (s->http);
  if (s->password)
    memset (s->password, 0, strlen (s->password));
  free (s->url);
  free (s->user);
  free (s->password);
  free (s->ca_file);
  free (s->thumbprint);
  free (s);
}

enum vs_soap_result
vs_session_call (struct vs_session *s, xmlDocPtr doc, const char *method,
                 xmlDocPtr *ret_doc, xmlNodePtr *ret_response,
                 struct vs_fault *ret_fault)
{
  enum vs_soap_result r;
  struct vs_fault f;

  r = vs_session_send (s, doc, method, ret_doc, ret_response, &f);
  if (r == VS_SOAP_FAULT && strcmp (f.type, "NotAuthenticated") == 0) {
    if (vs_session_login (s) == -1)
      return VS_SOAP_ERROR;
    r = vs_session_send (s, doc, method, ret_doc, ret_response, &f);
  }
  if (r == VS_SOAP_FAULT) {
    vs_fault_record (method, &f);
    *ret_fault = f;
  }
  return r;
}

const char *
vs_session_property_collector (const struct vs_session *s)
{
  return s->property_collector;
}

const char *
vs_session_root_folder (const struct vs_session *s)
{
  return s->root_folder;
}

const char *
vs_session_view_manager (const struct vs_session *s)
{
  return s->view_manager;
}

unsigned
vs_session_logins (const struct vs_session *s)
{
  return s->logins;
}
