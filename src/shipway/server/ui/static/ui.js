// shipway UI: progressive enhancement of server-rendered pages (no libraries).
// - [data-src]: load this URL into the element once the page is shown.
// - a[data-load="#target"]: load the link into #target instead of navigating.
// - form[data-async="#target"]: submit with fetch (CSRF header), show the answer in #target;
//   an error answer (its message) shows there too.
// - [data-live]: reload from this URL when an event arrives on /api/v1/events/stream
//   ([data-live-select]: take only that part of the answer; [data-text]: plain text).
// - <details> holding a <template>: its content is rendered when first opened.
// - a folded unchanged run in a diff unfolds on click.
"use strict";
(function () {
  const csrf = () => document.body.dataset.csrf || "";
  const headers = () => ({ "X-Requested-With": "shipway", "X-CSRF-Token": csrf() });

  async function load(url, target, opts) {
    target.setAttribute("aria-busy", "true");
    try {
      const resp = await fetch(url, Object.assign({ headers: headers(), credentials: "same-origin" }, opts || {}));
      if (resp.redirected && new URL(resp.url).pathname === "/login") {
        window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
        return;
      }
      const body = await resp.text();
      let html = body;
      if (!resp.ok && (resp.headers.get("content-type") || "").includes("json")) {
        let msg = body;
        try { msg = JSON.parse(body).error || JSON.parse(body).detail || body; } catch (e) { /* text */ }
        html = "";
        target.replaceChildren(errorNode(resp.status + ": " + msg));
      } else if (target.hasAttribute("data-text")) {
        target.textContent = body;
      } else {
        const sel = target.dataset.liveSelect;
        if (sel && !(opts && opts.method)) {
          const doc = new DOMParser().parseFromString(body, "text/html");
          const part = doc.querySelector(sel);
          html = part ? part.innerHTML : body;
        }
        target.innerHTML = html;
        enhance(target);
      }
    } catch (err) {
      target.replaceChildren(errorNode("request failed: " + err));
    } finally {
      target.removeAttribute("aria-busy");
    }
  }

  function errorNode(text) {
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    return p;
  }

  function enhance(root) {
    root.querySelectorAll("[data-src]").forEach((el) => {
      if (!el.dataset.loaded) { el.dataset.loaded = "1"; load(el.dataset.src, el); }
    });
    root.querySelectorAll("details").forEach((d) => {
      if (d.dataset.lazy) return;
      d.dataset.lazy = "1";
      const fill = () => {
        const t = d.querySelector(":scope > template");
        if (t) { d.appendChild(t.content.cloneNode(true)); t.remove(); enhance(d); }
      };
      if (d.open) fill();
      d.addEventListener("toggle", () => { if (d.open) fill(); });
    });
  }

  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a[data-load]");
    if (link) {
      ev.preventDefault();
      const target = document.querySelector(link.dataset.load);
      if (target) load(link.href, target);
      return;
    }
    const unfold = ev.target.closest("button.unfold");
    if (unfold) {
      const fold = unfold.closest("tbody");
      const hidden = fold.nextElementSibling;
      if (hidden) hidden.hidden = false;
      fold.remove();
    }
  });

  document.addEventListener("submit", (ev) => {
    const form = ev.target.closest("form[data-async]");
    if (!form) return;
    ev.preventDefault();
    const target = document.querySelector(form.dataset.async);
    const data = new FormData(form);
    if (ev.submitter && ev.submitter.name) data.set(ev.submitter.name, ev.submitter.value);
    if ((form.method || "get").toLowerCase() === "get") {
      load(form.action + "?" + new URLSearchParams(data).toString(), target);
    } else {
      form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      load(form.action, target, { method: "POST", body: new URLSearchParams(data) })
        .then(() => form.querySelectorAll("button").forEach((b) => { b.disabled = false; }));
    }
  });

  let pending = null;
  function refreshLive() {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      document.querySelectorAll("[data-live]").forEach((el) => load(el.dataset.live, el));
    }, 250);
  }

  function listen() {
    // no stream for a user who may not read events (the server would refuse it)
    if (!document.querySelector("[data-live]") || !window.EventSource || !document.body.dataset.events) return;
    const es = new EventSource("/api/v1/events/stream?heartbeat=20");
    es.onmessage = refreshLive;
    window.addEventListener("pagehide", () => es.close());
  }

  document.addEventListener("DOMContentLoaded", () => { enhance(document); listen(); });
})();
