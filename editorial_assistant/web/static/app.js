/* The dashboard's behaviour, read from data-* attributes (the policy forbids inline script).
 *
 * form[data-api]       sends the form to the JSON API with the page's CSRF token; then reloads,
 *                      goes to data-then, or shows the answer in the form's [data-result].
 *                      data-method, data-confirm ("Are you sure…?") and data-then are optional.
 * [data-dropzone]      uploads the dropped or chosen caption files one by one, listing each result.
 * button[data-copy]    copies the text of the element whose id it names.
 * body[data-live]      keeps the page's [data-live-region] parts current: Server-Sent Events from
 *                      the URL it names, or polling that URL (JSON) when the stream fails.
 * All text from the server is put in with textContent, never as HTML.
 */
"use strict";

(function () {
  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  async function call(method, url, body) {
    const headers = { Accept: "application/json", "X-CSRF-Token": csrf() };
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    } catch (err) {
      return { ok: false, status: 0, error: { message: "The service could not be reached.", hint: "Check the connection and try again." } };
    }
    let data = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) {
      try { data = await response.json(); } catch (err) { data = null; }
    }
    if (response.ok) return { ok: true, status: response.status, data };
    const error = (data && data.error) || { message: `The request failed (HTTP ${response.status}).` };
    return { ok: false, status: response.status, error };
  }

  function fieldsOf(form) {
    const body = {};
    for (const element of form.elements) {
      if (!element.name || element.disabled) continue;
      if (element.type === "checkbox") {
        body[element.name] = element.checked;
      } else if (element.dataset.type === "int") {
        if (element.value === "" && element.dataset.optional !== undefined) continue;
        body[element.name] = Number.parseInt(element.value, 10);
      } else if (element.value !== "" || element.dataset.optional === undefined) {
        body[element.name] = element.value;
      }
    }
    return body;
  }

  function say(target, text, kind) {
    if (!target) return;
    target.textContent = text;
    target.className = kind;
    target.hidden = !text;
  }

  function problemText(error) {
    return [error.message, error.hint].filter(Boolean).join(" ");
  }

  function statusOf(form) {
    let status = form.querySelector("[data-status]");
    if (!status) {
      status = document.createElement("p");
      status.setAttribute("data-status", "");
      status.setAttribute("role", "alert");
      status.hidden = true;
      form.append(status);
    }
    return status;
  }

  async function submitApiForm(form) {
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const status = statusOf(form);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    const hasFields = Array.from(form.elements).some((e) => e.name);
    const result = await call(form.dataset.method || "POST", form.dataset.api, hasFields ? fieldsOf(form) : undefined);
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute("aria-busy");
    if (!result.ok) {
      say(status, problemText(result.error), "error");
      return;
    }
    const then = form.dataset.then || "reload";
    if (then === "reload") {
      window.location.reload();
    } else if (then === "result") {
      showResult(form, result.data);
    } else if (then === "live") {
      say(status, "", "");
      say(document.getElementById("flash"), form.dataset.done || "Done.", "ok");
      refreshLive(true);
    } else {
      window.location.assign(then);
    }
  }

  function showResult(form, data) {
    const place = form.querySelector("[data-result]");
    if (!place) return;
    const key = place.dataset.result;
    place.textContent = key && data ? String(data[key]) : JSON.stringify(data);
    place.closest("[hidden]")?.removeAttribute("hidden");
    place.hidden = false;
    place.focus();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
    event.preventDefault();
    submitApiForm(form);
  });

  /* Uploads. */
  function resultItem(list, file, kind, text, link) {
    const item = document.createElement("li");
    item.className = `upload-result ${kind}`;
    const name = document.createElement("strong");
    name.textContent = file.name;
    item.append(name, document.createTextNode(`: ${text}`));
    if (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      item.append(document.createTextNode(" "), a);
    }
    list.append(item);
  }

  async function uploadFiles(zone, files) {
    const form = zone.closest("form");
    const list = document.getElementById(zone.dataset.dropzone);
    const status = zone.querySelector("[data-progress]");
    let done = 0;
    for (const file of files) {
      say(status, `Uploading ${file.name} (${done + 1} of ${files.length})…`, "muted");
      const body = new FormData();
      body.append("file", file);
      for (const element of form.elements) {
        if (!element.name || element.type === "file") continue;
        if (element.type === "checkbox") body.append(element.name, element.checked ? "true" : "false");
        else if (element.value !== "") body.append(element.name, element.value);
      }
      const result = await call("POST", "/api/transcripts", body);
      if (result.ok) {
        const job = result.data.job;
        resultItem(list, file, "accepted", `accepted as ${job.media_id}.`, { href: `/jobs/${job.id}`, text: `Open job ${job.id}` });
      } else if (result.error.code === "duplicate_media_id") {
        const existing = result.error.details && result.error.details.existing_job_id;
        resultItem(list, file, "duplicate", `duplicate. ${result.error.message}`, existing ? { href: `/jobs/${existing}`, text: `Open job ${existing}` } : null);
      } else {
        resultItem(list, file, "rejected", `rejected. ${problemText(result.error)}`);
      }
      done += 1;
    }
    say(status, `${done} file${done === 1 ? "" : "s"} sent.`, "muted");
    refreshLive();
  }

  function bindDropzone(zone) {
    const input = zone.querySelector('input[type="file"]');
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const files = Array.from(event.dataTransfer.files || []);
      if (files.length) uploadFiles(zone, files);
    });
    input?.addEventListener("change", () => {
      const files = Array.from(input.files || []);
      if (files.length) uploadFiles(zone, files).then(() => { input.value = ""; });
    });
  }

  /* Copying a draft. */
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copyStatus || "");
    if (!source) return;
    const text = source.value !== undefined ? source.value : source.textContent;
    try {
      await navigator.clipboard.writeText(text);
      say(status, "Copied to the clipboard.", "ok");
    } catch (err) {
      say(status, "The browser refused to copy; use the Markdown download instead.", "error");
    }
  });

  /* Live updates. */
  let refreshing = false;
  let again = false;

  function focusKey(element) {
    if (!element || element === document.body) return null;
    if (element.id) return { id: element.id };
    const form = element.closest("form[data-api]");
    if (form) return { api: form.dataset.api, index: Array.from(form.elements).indexOf(element) };
    return null;
  }

  function restoreFocus(key) {
    if (!key) return;
    let target = key.id ? document.getElementById(key.id) : null;
    if (!target && key.api) {
      const form = Array.from(document.querySelectorAll("form[data-api]")).find((f) => f.dataset.api === key.api);
      target = form ? form.elements[key.index] : null;
    }
    if (target) target.focus();
  }

  const typing = (element) => element && ["INPUT", "SELECT", "TEXTAREA"].includes(element.tagName);

  // Swaps each live region for its fresh copy. A region where someone is typing is left alone
  // (unless they just acted themselves); the focus stays on the same control after a swap.
  async function refreshLive(force) {
    const regions = document.querySelectorAll("[data-live-region]");
    if (!regions.length || signedOut) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      const response = await fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.redirected && new URL(response.url).pathname === "/login") {
        sayStale();
      } else if (response.ok) {
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        regions.forEach((region) => {
          const next = fresh.getElementById(region.id);
          if (!next || region.innerHTML === next.innerHTML) return;
          const active = region.contains(document.activeElement) ? document.activeElement : null;
          if (active && typing(active) && !force) { again = true; return; }
          const key = focusKey(active);
          region.replaceChildren(...next.childNodes);
          restoreFocus(key);
        });
        const cursor = fresh.body.dataset.liveCursor;
        if (cursor) document.body.dataset.liveCursor = cursor;
      }
    } finally {
      refreshing = false;
      if (again) { again = false; window.setTimeout(refreshLive, 2000); }
    }
  }

  function liveUrl() {
    const url = new URL(document.body.dataset.live, window.location.href);
    url.searchParams.set("cursor", document.body.dataset.liveCursor || "0");
    return url;
  }

  // Once the session has ended, the page stops following the job and says why.
  let signedOut = false;
  function sayStale() {
    signedOut = true;
    say(document.getElementById("flash"), "You have been signed out, so this page no longer updates. Reload it to sign in again.", "error");
  }

  function poll() {
    const timer = window.setInterval(async () => {
      if (document.hidden) return;
      const result = await call("GET", liveUrl().toString());
      if (result.status === 401) {
        window.clearInterval(timer);
        sayStale();
      } else if (result.ok && result.data && String(result.data.cursor) !== document.body.dataset.liveCursor) {
        refreshLive();
      }
    }, 5000);
  }

  function listen() {
    if (!document.body.dataset.live) return;
    if (!window.EventSource) {
      document.body.dataset.liveMode = "polling";
      poll();
      return;
    }
    let failures = 0;
    const open = () => {
      const stream = new EventSource(liveUrl().toString());
      stream.addEventListener("change", (event) => {
        failures = 0;
        document.body.dataset.liveCursor = event.data;
        refreshLive();
      });
      stream.addEventListener("open", () => { failures = 0; });
      stream.addEventListener("error", () => {
        failures += 1;
        // A refused reconnect (signed out, 401) closes the stream for good; polling says why.
        if (failures >= 3 || stream.readyState === EventSource.CLOSED) {
          stream.close();
          document.body.dataset.liveMode = "polling";
          poll();
        }
      });
    };
    document.body.dataset.liveMode = "events";
    open();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-dropzone]").forEach(bindDropzone);
    listen();
  });
})();
