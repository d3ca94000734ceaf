/* cbtrack OMA web UI: acting on jobs, and the session.
 *
 * Cancel buttons are rendered by app.js (data-cancel-job="ID" on running
 * jobs); one listener here, in the capture phase so the job's own click
 * (which selects it) does not run, asks for confirmation and POSTs
 * /api/v1/replications/ID/cancel with the session's CSRF token.  When the
 * OMA requires a login, the header shows the user and a "Log out" button.
 */
"use strict";
(function () {
  let csrf = null;

  function say(text, isError) {
    let note = document.getElementById("action-note");
    if (!note) {
      note = document.createElement("div");
      note.id = "action-note";
      document.querySelector("header").appendChild(note);
    }
    note.className = isError ? "action-note error" : "action-note";
    note.textContent = text;
  }

  function headers() {
    const h = { "Content-Type": "application/json" };
    if (csrf) h["X-CSRF-Token"] = csrf;
    return h;
  }

  async function cancelJob(id, button) {
    if (!window.confirm("Cancel job " + id + "?  Its copy stops at its next " +
                        "update; running the same command again resumes it."))
      return;
    button.disabled = true;
    try {
      const r = await fetch("/api/v1/replications/" +
                            encodeURIComponent(id) + "/cancel", {
        method: "POST", headers: headers(), body: "{}",
        credentials: "same-origin",
      });
      const answer = await r.json().catch(() => ({}));
      if (r.ok)
        say("Job " + id + ": " + (answer.status || "cancelling"), false);
      else
        say("Job " + id + ": cancel refused: " +
            (answer.error || "HTTP " + r.status), true);
    } catch (e) {
      say("Job " + id + ": cannot reach the OMA: " + e.message, true);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest &&
                   event.target.closest("button[data-cancel-job]");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    cancelJob(button.dataset.cancelJob, button);
  }, true);

  async function logout() {
    await fetch("/api/v1/logout", { method: "POST", headers: headers(),
                                    body: "{}", credentials: "same-origin" })
      .catch(() => null);
    window.location.assign("/login");
  }

  async function session() {
    try {
      const r = await fetch("/api/v1/session",
                            { cache: "no-store", credentials: "same-origin" });
      if (r.status === 401) {
        window.location.assign("/login");
        return;
      }
      const s = await r.json();
      if (!s.auth) return;
      csrf = s.csrf_token;
      const box = document.createElement("div");
      box.className = "session";
      const who = document.createElement("span");
      who.className = "muted";
      who.textContent = s.user;
      const out = document.createElement("button");
      out.id = "logout";
      out.type = "button";
      out.textContent = "Log out";
      out.addEventListener("click", logout);
      box.append(who, out);
      document.querySelector("header").appendChild(box);
    } catch (e) {
      /* The page's own refresh reports an OMA that cannot be reached. */
    }
  }

  session();
})();
