/* cbtrack OMA web UI: the login form.  A user and password, or the OMA's
 * access token alone, are POSTed as JSON to /api/v1/login; the answer
 * sets an HttpOnly session cookie, and the browser goes to the page.
 */
"use strict";
(function () {
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = document.getElementById("login-user").value;
    const password = document.getElementById("login-password").value;
    const body = user === "" ? { token: password }
                             : { user: user, password: password };
    error.hidden = true;
    try {
      const r = await fetch("/api/v1/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      if (r.ok) {
        window.location.assign("/");
        return;
      }
      const answer = await r.json().catch(() => ({}));
      error.textContent = answer.error || ("HTTP " + r.status);
    } catch (e) {
      error.textContent = "cannot reach the OMA: " + e.message;
    }
    error.hidden = false;
  });
  /* The form works from now on (tests wait for this). */
  form.dataset.ready = "1";
})();
