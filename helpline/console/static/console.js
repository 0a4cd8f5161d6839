// Live updates for the console: Server-Sent Events from /console/... (same origin, session cookie).
// Text always goes in with textContent, never innerHTML, so a customer's "<script>" stays text.
(function () {
  "use strict";

  function liveList() {
    var table = document.querySelector("[data-live-events]");
    if (!table) return;
    var body = document.getElementById("live-rows");
    var pending = null;
    function refresh() {
      pending = null;
      fetch(table.getAttribute("data-live-rows"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) replaceKeepingFocus(body, html); });
    }
    var source = new EventSource(table.getAttribute("data-live-events"));
    source.addEventListener("changed", function () { if (!pending) pending = setTimeout(refresh, 300); });
    // Waiting times and silences grow with no event at all: re-read the rows every half minute too.
    setInterval(function () { if (!pending) refresh(); }, 30000);
  }

  // The rows are re-rendered as conversations change; someone moving through them with the keyboard keeps
  // their place (the same control of the same conversation) instead of being thrown back to the page's top.
  function replaceKeepingFocus(body, html) {
    var focused = document.activeElement, row = focused && body.contains(focused) ? focused.closest("tr[data-id]") : null;
    var place = row ? Array.prototype.indexOf.call(row.querySelectorAll("a, button, input, select"), focused) : -1;
    var id = row ? row.getAttribute("data-id") : null;
    body.innerHTML = html;  // server-rendered, escaped
    if (id === null) return;
    var again = body.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
    var target = again ? again.querySelectorAll("a, button, input, select")[place] : null;
    if (target) target.focus();
  }

  function label(m) {
    if (m.staff_only) return "whisper · " + m.by;
    if (m.role === "human") return m.by || "human";
    return m.role + (m.kb_gap ? " · KB gap" : "");
  }

  function transcript() {
    var list = document.getElementById("transcript");
    if (!list || !list.getAttribute("data-events")) return;
    var seen = {};
    Array.prototype.forEach.call(list.querySelectorAll("[data-seq]"), function (li) { seen[li.getAttribute("data-seq")] = true; });
    var source = new EventSource(list.getAttribute("data-events"));
    source.addEventListener("message", function (e) {
      var m = JSON.parse(e.data);
      if (seen[m.seq]) return;
      seen[m.seq] = true;
      var li = document.createElement("li");
      li.className = "msg " + m.role + (m.staff_only ? " whisper" : "") + (m.notice ? " notice" : "");
      li.setAttribute("data-seq", m.seq);
      var role = document.createElement("span"); role.className = "role"; role.textContent = label(m);
      var text = document.createElement("span"); text.className = "text"; text.textContent = m.text;
      li.appendChild(role); li.appendChild(text); list.appendChild(li);
      li.scrollIntoView({ block: "nearest" });
    });
    source.addEventListener("state", function (e) {
      var s = JSON.parse(e.data);
      var state = document.getElementById("state");
      if (!state) return;
      var show = { status: s.status, handled_by: s.handled_by || "AI", procedure: s.procedure || "–",
                   sentiment: s.sentiment, escalated: s.escalated ? "yes" : "no", verified: s.verified ? "yes" : "no" };
      Object.keys(show).forEach(function (k) {
        var dd = state.querySelector('[data-key="' + k + '"]');
        if (dd) dd.textContent = String(show[k]);
      });
    });
  }

  // Settings: a placeholder chip ("{business name}") is typed into its text box at the cursor.
  function chips() {
    Array.prototype.forEach.call(document.querySelectorAll("button.chip[data-target]"), function (chip) {
      chip.addEventListener("click", function () {
        var box = document.getElementById(chip.getAttribute("data-target"));
        if (!box) return;
        var text = chip.getAttribute("data-insert"), at = box.selectionStart || box.value.length;
        box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd || at);
        box.focus();
        box.selectionStart = box.selectionEnd = at + text.length;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { liveList(); transcript(); chips(); });
})();
