/* cbtrack vsphere - the connection options shared by `cbtrack vsphere`
 * and `cbtrack copy`, and opening a session from them.
 *
 * The password never comes from the command line (argv is visible to
 * every user of the machine): it is the first line of
 * --vsphere-password-file, else the environment variable
 * CBTRACK_VSPHERE_PASSWORD.
 */
#ifndef CBTRACK_VSPHERE_CONNECT_H
#define CBTRACK_VSPHERE_CONNECT_H

#include <stdbool.h>

#include "vsphere/session.h"

#define VS_PASSWORD_ENV "CBTRACK_VSPHERE_PASSWORD"

struct vs_connect_args {
  const char *url;           /* --vsphere-url / --url */
  const char *user;          /* --vsphere-user / --user */
  const char *password_file; /* --vsphere-password-file, or NULL */
  const char *thumbprint;    /* --vsphere-thumbprint, or NULL */
  const char *ca_file;       /* --vsphere-ca-file, or NULL */
  bool insecure;             /* --insecure */
  double timeout;            /* --vsphere-timeout, seconds; 0: 120 */
};

/* Checks ARGS without I/O: a URL and a user are given, the URL is
 * https:// (http:// only with INSECURE), a thumbprint parses, and at most
 * one of thumbprint, CA file and insecure is given.  Returns 0, or -1 with
 * a usage error recorded.
 */
int vs_connect_check (const struct vs_connect_args *args);

/* Reads the password (file, else environment), opens a session and logs
 * in.  Returns the session, or NULL with one clear line recorded.
 */
struct vs_session *vs_connect (const struct vs_connect_args *args);

/* Initialises and releases libxml2 and libcurl for the process; call
 * from main() (no other thread running).
 */
int vs_global_init (void);
void vs_global_cleanup (void);

#endif /* CBTRACK_VSPHERE_CONNECT_H */
