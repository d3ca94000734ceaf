/* cbtrack vsphere - connection options and login. */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "common/error.h"
#include "common/http-client.h"
#include "common/readfile.h"
#include "vsphere/connect.h"

int
vs_connect_check (const struct vs_connect_args *a)
{
  unsigned char pin[32];

  if (a->url == NULL || a->user == NULL) {
    cbt_set_error ("the vSphere URL and user are both needed");
    return -1;
  }
  if (strncmp (a->url, "https://", 8) != 0 &&
      !(a->insecure && strncmp (a->url, "http://", 7) == 0)) {
    cbt_set_error ("the vSphere URL must be https://HOST[/sdk]");
    return -1;
  }
  if ((a->thumbprint != NULL) + (a->ca_file != NULL) + a->insecure > 1) {
    cbt_set_error ("a thumbprint, a CA file and --insecure are"
                   " alternatives");
    return -1;
  }
  if (a->thumbprint && cbt_http_parse_thumbprint (a->thumbprint, pin) == -1)
    return -1;
  return 0;
}

struct vs_session *
vs_connect (const struct vs_connect_args *a)
{
  struct vs_session_options o = {
    .url = a->url,
    .user = a->user,
    .ca_file = a->ca_file,
    .thumbprint = a->thumbprint,
    .insecure = a->insecure,
    .timeout_ms = (long)(a->timeout * 1000),
  };
  struct vs_session *s;
  char *password = NULL;

  if (a->password_file) {
    /* The first line of the file, as it is: a password may hold
     * blanks.
     */
    size_t len;

    if (cbt_read_file (a->password_file, &password, &len) == -1)
      return NULL;
    password[strcspn (password, "\r\n")] = '\0';
    if (password[0] == '\0') {
      cbt_set_error ("%s: the password file is empty", a->password_file);
      free (password);
      return NULL;
    }
  } else {
    const char *env = getenv (VS_PASSWORD_ENV);

    if (env == NULL || env[0] == '\0') {
      cbt_set_error ("no vSphere password: give --vsphere-password-file or"
                     " set " VS_PASSWORD_ENV);
      return NULL;
    }
    password = strdup (env);
    if (password == NULL) {
      cbt_set_error ("out of memory");
      return NULL;
    }
  }
  o.password = password;
  s = vs_session_open (&o);
  memset (password, 0, strlen (password));
  free (password);
  return s;
}

int
vs_global_init (void)
{
  xmlInitParser ();
  return cbt_http_global_init ();
}

void
vs_global_cleanup (void)
{
  cbt_http_global_cleanup ();
  xmlCleanupParser ();
}
