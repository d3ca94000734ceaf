/* cbtrack oma - the web UI and /healthz (neither waits for the
 * database).
 *
 * The page, its script and its styles are compiled into the binary
 * (ui-assets.c is generated from src/oma/ui/ at build time), so the OMA
 * serves its UI with no files and no network.  The script builds the page
 * with textContent only, and the Content-Security-Policy below allows no
 * inline script and no other origin, so a hostile job name stays text.
 */
#include <string.h>

#include "oma/oma.h"

static void
ui_respond (struct cbt_httpd_request *req, const char *content_type,
            const unsigned char *data, size_t len)
{
  cbt_httpd_add_header (req, "Content-Security-Policy",
                        "default-src 'none'; script-src 'self'; "
                        "style-src 'self'; connect-src 'self'; "
                        "img-src 'self'; base-uri 'none'; "
                        "form-action 'none'; frame-ancestors 'none'");
  cbt_httpd_add_header (req, "X-Content-Type-Options", "nosniff");
  cbt_httpd_add_header (req, "Cache-Control", "no-cache");
  cbt_httpd_add_header (req, "Referrer-Policy", "no-referrer");
  cbt_httpd_respond_data (req, 200, content_type, data, len,
                          CBT_HTTPD_MEM_STATIC);
}

/* The files of the UI, by the path they are served at. */
static const struct {
  const char *path;
  const char *content_type;
  const unsigned char *data;
  const size_t *len;
} ui_files[] = {
  { "/", "text/html; charset=utf-8", oma_ui_index_html,
    &oma_ui_index_html_len },
  { "/login", "text/html; charset=utf-8", oma_ui_login_html,
    &oma_ui_login_html_len },
  { "/ui/app.js", "text/javascript; charset=utf-8", oma_ui_app_js,
    &oma_ui_app_js_len },
  { "/ui/style.css", "text/css; charset=utf-8", oma_ui_style_css,
    &oma_ui_style_css_len },
  { "/ui/login.js", "text/javascript; charset=utf-8", oma_ui_login_js,
    &oma_ui_login_js_len },
  { "/ui/actions.js", "text/javascript; charset=utf-8", oma_ui_actions_js,
    &oma_ui_actions_js_len },
  { "/ui/actions.css", "text/css; charset=utf-8", oma_ui_actions_css,
    &oma_ui_actions_css_len },
};

void
oma_ui_file (struct cbt_httpd_request *req)
{
  size_t i;

  for (i = 0; i < sizeof ui_files / sizeof *ui_files; i++)
    if (strcmp (req->path, ui_files[i].path) == 0) {
      ui_respond (req, ui_files[i].content_type, ui_files[i].data,
                  *ui_files[i].len);
      return;
    }
  /* Only the routes of the table above lead here. */
  cbt_httpd_respond_error (req, 404, "no such resource");
}

void
oma_health_get (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  struct oma_store *store = server->store;
  char why[512];

  /* The store answers from what it knows: this never waits for the
   * database.
   */
  if (store->ops->health (store, why, sizeof why) < 0) {
    cbt_httpd_respond_json (req, 503,
                            json_pack ("{s:s,s:s,s:s}", "status", "failing",
                                       "database", store->ops->name, "error",
                                       why));
    return;
  }
  cbt_httpd_respond_json (
      req, 200,
      json_pack ("{s:s,s:s}", "status", "ok", "database", store->ops->name));
}
