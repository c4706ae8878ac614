/* Webhook Inspector dashboard behaviour.
   All of the page's script lives in this file (no inline scripts, handlers or
   hx-on attributes), so the pages run under a strict Content-Security-Policy. */
(function () {
  "use strict";

  var held = [];        // live rows that arrived while paused: {id, html}
  var paused = false;
  var listUrl = null;   // where the list was before the detail pane pushed its URL

  function byId(id) { return document.getElementById(id); }
  function rowsList() { return byId("rows"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#rows > li.req")); }

  /* ---- copy buttons ------------------------------------------------------ */

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on another host is not a secure context: the old way still works there.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } finally { area.remove(); }
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyFrom(button) {
    var source = byId(button.getAttribute("data-copy"));
    if (!source) { return; }
    var label = button.textContent;
    function say(text) {
      button.textContent = text;
      window.setTimeout(function () { button.textContent = label; }, 1500);
    }
    copyText(source.textContent).then(function () { say("Copied"); }, function () {
      window.getSelection().selectAllChildren(source);  // let the user press Ctrl+C
      say("Press Ctrl+C");
    });
  }

  /* ---- live rows: dedupe, order, pause ---------------------------------- */

  function rememberPosition(list, id) {
    // A brand-new EventSource (after the extension gives up on the old one) sends
    // no Last-Event-ID, so the stream URL itself carries where the list is.
    var source = list && list.closest("[sse-connect]");
    if (!source || !id) { return; }
    var url = new URL(source.getAttribute("sse-connect"), window.location.href);
    url.searchParams.set("after", id);
    source.setAttribute("sse-connect", url.pathname + url.search);
  }

  function flashRow(row) {
    row.classList.add("htmx-added");
    window.setTimeout(function () { row.classList.remove("htmx-added"); }, 60);
  }

  function insertRow(list, id, html) {
    // Newest first by id; on PostgreSQL a row can settle after a newer one.
    if (byId("req-" + id)) { return; }
    var before = rows().find(function (row) { return Number(row.dataset.id) < Number(id); });
    if (before) {
      before.insertAdjacentHTML("beforebegin", html);
    } else {
      var last = list.querySelector(":scope > li.more, :scope > li.empty");
      if (last) { last.insertAdjacentHTML("beforebegin", html); } else { list.insertAdjacentHTML("beforeend", html); }
    }
    var row = byId("req-" + id);
    if (row) { window.htmx.process(row); localClocks(row); flashRow(row); }
  }

  function showHeld() {
    var counter = byId("held-count");
    var toggle = byId("pause-toggle");
    if (counter) {
      counter.hidden = held.length === 0;
      counter.textContent = held.length + " new waiting";
    }
    if (toggle) {
      toggle.textContent = paused ? (held.length ? "Resume (" + held.length + " new)" : "Resume") : "Pause";
      toggle.setAttribute("aria-pressed", paused ? "true" : "false");
    }
  }

  function resume() {
    var list = rowsList();
    held.splice(0).forEach(function (item) { if (list) { insertRow(list, item.id, item.html); } });
    showHeld();
  }

  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var message = event.detail;
    var id = message.lastEventId;
    var list = event.target;
    rememberPosition(list, id);
    if (byId("req-" + id)) { event.preventDefault(); return; }  // already listed: never twice
    if (paused) {
      event.preventDefault();
      held.push({ id: id, html: message.data });
      showHeld();
      return;
    }
    var first = rows()[0];
    if (first && Number(first.dataset.id) > Number(id)) {
      event.preventDefault();
      insertRow(list, id, message.data);
    }
  });

  function liveState(text, down) {
    var state = byId("live-state");
    if (!state) { return; }
    state.textContent = text;
    state.classList.toggle("is-down", down);
  }
  // A reconnect answered with an error status leaves the EventSource closed, and the
  // sse extension makes a new one, with backoff, for ever. Ask the stream URL why once
  // per such error: a deleted endpoint (404) or a lost login must not leave the page
  // "reconnecting…" (the endpoint deleted while the server was down, or a stream cut
  // before it could say "ended").
  document.addEventListener("htmx:sseError", function (event) {
    liveState("reconnecting…", true);
    var source = event.detail && event.detail.source;
    if (!source || source.readyState !== window.EventSource.CLOSED || !source.url) { return; }
    var probe = new AbortController();
    fetch(source.url, { credentials: "same-origin", signal: probe.signal }).then(function (answer) {
      probe.abort();  // a stream that answers again is left to the extension's reconnect
      if (answer.status === 404) { streamEnded(source, "deleted"); }
      else if (isLoginAnswer({ status: answer.status, responseURL: answer.url })) { toLogin(null); }
    }, function () { /* the server is down: the extension keeps trying */ });
  });

  function listNotice(text) {
    var notice = byId("list-notice");
    if (!notice) { return; }
    notice.textContent = text;
    notice.hidden = false;
  }

  function reloadList() {
    // The list's own hx-get: it comes back with the current rows and a new stream.
    window.htmx.trigger(document.body, "requests-changed");
  }

  function listCleared(upTo) {
    // Rows up to this id are gone: clicking one would only find a 404.
    var shown = pane() && pane().querySelector(".detail");
    if (shown && Number(shown.dataset.requestId) <= upTo) { closePane(); }
    held = held.filter(function (item) { return Number(item.id) > upTo; });
    showHeld();
    listNotice("The requests of this endpoint were cleared.");
    reloadList();
  }

  function streamEnded(source, reason) {
    source.close();  // closed by us, the sse extension does not reconnect
    if (reason === "deleted") {
      // Nor may it make a new one: it would only be refused with a 404 again.
      var streaming = document.querySelector("[sse-connect]");
      if (streaming) { streaming.removeAttribute("sse-connect"); }
      liveState("ended", true);
      listNotice("This endpoint was deleted, with everything it captured.");
      closePane();
      var list = rowsList();
      if (list) { list.replaceChildren(); }  // its rows are gone: each would open a 404
      var toggle = byId("pause-toggle");
      if (toggle) { toggle.disabled = true; }
    } else {
      // The login the stream opened with no longer holds: the reload opens a new one
      // if this browser is still logged in, and leads to the login page if not.
      reloadList();
    }
  }

  document.addEventListener("htmx:sseOpen", function (event) {
    liveState("live", false);
    var source = event.detail.source;
    if (!source || source.inspectorWired) { return; }  // open fires again on each reconnect
    source.inspectorWired = true;
    source.addEventListener("cleared", function (message) { listCleared(Number(message.data)); });
    source.addEventListener("ended", function (message) { streamEnded(source, message.data); });
  });

  /* ---- login: a page whose login is gone goes to the login page whole ----- */

  function toLogin(loginUrl) {
    if (window.location.pathname === "/login") { return; }
    var url = new URL(loginUrl || "/login", window.location.href);
    url.searchParams.set("next", window.location.pathname + window.location.search);
    window.location.assign(url.pathname + url.search);
  }

  function isLoginAnswer(xhr) {
    if (xhr.status === 401) { return true; }
    try { return new URL(xhr.responseURL).pathname === "/login"; } catch (e) { return false; }
  }

  // An htmx request answered by the login page (redirected there) or a 401: never swap
  // the login form into the pane or the list, nor push its URL into the history.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || !isLoginAnswer(xhr)) { return; }
    event.preventDefault();
    toLogin(xhr.status === 401 ? null : xhr.responseURL);
  });

  // Logging out in one tab logs out the browser: its other tabs leave their pages
  // (and close their streams) instead of going on showing new requests.
  var logins = "BroadcastChannel" in window ? new window.BroadcastChannel("inspector-login") : null;
  if (logins) { logins.onmessage = function (event) { if (event.data === "logged-out") { toLogin(null); } }; }
  document.addEventListener("submit", function (event) {
    if (logins && event.target.matches(".logout-form")) { logins.postMessage("logged-out"); }
  });

  /* ---- detail pane -------------------------------------------------------- */

  function pane() { return byId("pane"); }

  function markOpen() {
    var detail = pane() && pane().querySelector(".detail");
    rows().forEach(function (row) {
      row.classList.toggle("is-open", !!detail && row.dataset.id === detail.dataset.requestId);
    });
  }

  function closePane() {
    var box = pane();
    if (!box || box.hidden) { return false; }
    box.hidden = true;
    box.replaceChildren();
    markOpen();
    if (listUrl) { window.history.replaceState(null, "", listUrl); }
    return true;
  }

  /* ---- cross-site request protection ----------------------------------- */

  // Every htmx request carries the session's token; plain forms carry it as a field.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id === "pane") {
      if (window.location.pathname.indexOf("/requests/") !== 0) { listUrl = window.location.href; }
      var row = event.detail.elt.closest("li.req");
      if (row) { setCurrent(row, false); }
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "pane") {
      target.hidden = false;
      target.scrollTop = 0;
      markOpen();
    } else if (target && target.id === "request-list") {
      held.length = 0;  // the new list already shows them (or they no longer match)
      showHeld();
      updateCompare();
    }
  });

  /* ---- keyboard: j/k move, Enter opens, Esc closes, / searches ------------- */

  function setCurrent(row, focus) {
    rows().forEach(function (other) { other.classList.toggle("is-current", other === row); });
    if (focus) {
      row.querySelector(".req-open").focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.findIndex(function (row) { return row.classList.contains("is-current"); });
    index = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    setCurrent(all[index], true);
    if (pane() && !pane().hidden) { all[index].querySelector(".req-open").click(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    var target = event.target;
    if (target.closest && target.closest("input:not([type=checkbox]), textarea, select, [contenteditable]")) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    if (event.key === "j") {
      move(1);
    } else if (event.key === "k") {
      move(-1);
    } else if (event.key === "Enter") {
      var current = document.querySelector("#rows > li.is-current");
      if (!current || (target.closest && target.closest("a, button, summary"))) { return; }
      current.querySelector(".req-open").click();
    } else if (event.key === "Escape") {
      if (!closePane()) { return; }
    } else if (event.key === "/") {
      var search = document.querySelector("#filters input[name=q]");
      if (!search) { return; }
      search.focus();
    } else {
      return;
    }
    event.preventDefault();
  });

  /* ---- compare two requests ------------------------------------------------ */

  function selectedIds() {
    return Array.prototype.map.call(document.querySelectorAll("input[name=compare]:checked"), function (box) {
      return Number(box.value);
    }).sort(function (a, b) { return a - b; });
  }

  function updateCompare() {
    var button = byId("compare-selected");
    if (!button) { return; }
    var count = selectedIds().length;
    button.disabled = count !== 2;
    button.textContent = count === 2 || count === 0 ? "Compare selected" : "Compare selected (" + count + "/2)";
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("input[name=compare]")) { updateCompare(); }
  });

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) { copyFrom(copy); return; }
    if (event.target.closest("[data-close-pane]") && closePane()) { event.preventDefault(); return; }
    if (event.target.closest("#pause-toggle")) {
      paused = !paused;
      if (!paused) { resume(); } else { showHeld(); }
      return;
    }
    var compare = event.target.closest("#compare-selected");
    if (compare) {
      var ids = selectedIds();
      if (ids.length === 2) {
        window.location.href = compare.getAttribute("data-diff-url") + "?left=" + ids[0] + "&right=" + ids[1];
      }
    }
  });

  /* ---- list rows show the time of day in the browser's time zone ----------- */

  // The server renders UTC (its only choice); the reader thinks in local time.
  function localClocks(root) {
    root.querySelectorAll("time[data-clock]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      var when = new Date(iso);
      if (isNaN(when.getTime())) { return; }
      el.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
      el.title = when.toLocaleString([], { dateStyle: "medium", timeStyle: "long" }) + " (" + iso + ")";
    });
  }
  document.addEventListener("htmx:load", function (event) { localClocks(event.detail.elt); });

  /* ---- relative times ("3 min ago") stay true while the page is open -------- */

  function ago(ms) {
    var seconds = Math.abs(ms) / 1000;
    var text;
    if (seconds < 5) { return "just now"; }
    if (seconds < 60) { text = Math.floor(seconds) + " s"; }
    else if (seconds < 3600) { text = Math.floor(seconds / 60) + " min"; }
    else if (seconds < 86400) { text = Math.floor(seconds / 3600) + " h"; }
    else {
      var days = Math.floor(seconds / 86400);
      text = days + (days === 1 ? " day" : " days");
    }
    return ms >= 0 ? text + " ago" : "in " + text;
  }

  function refreshTimes() {
    document.querySelectorAll("[data-rel]").forEach(function (el) {
      var when = Date.parse(el.getAttribute("data-datetime") || el.getAttribute("datetime"));
      if (!isNaN(when)) { el.textContent = ago(Date.now() - when); }
    });
  }
  window.setInterval(refreshTimes, 30000);
  localClocks(document);
  updateCompare();
})();
