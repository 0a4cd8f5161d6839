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

  // A live line's time as the server renders it (web.py local_time): "Mon 30 Nov, 14:05" in the business's
  // zone, the year only when it is not this year's. Stored times are UTC, some written without their zone.
  function localTime(iso, zone) {
    if (!iso) return "";
    var utc = String(iso).replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(utc)) utc += "Z";
    var moment = new Date(utc);
    if (isNaN(moment.getTime())) return "";
    function parts(date) {
      var out = {};
      try {
        new Intl.DateTimeFormat("en-GB", { timeZone: zone || "UTC", weekday: "short", day: "numeric", month: "numeric",
                                           year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
          .formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
      } catch (e) { return null; }  // a zone this browser does not know: no time rather than a wrong one
      return out;
    }
    // Month names as Python's %b writes them (a browser's "en-GB" may say "Sept").
    var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    var p = parts(moment), now = parts(new Date());
    if (!p || !now) return "";
    return p.weekday + " " + Number(p.day) + " " + months[Number(p.month) - 1] + (p.year === now.year ? "" : " " + p.year) + ", " +
      p.hour + ":" + p.minute;
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
      var at = document.createElement("span"); at.className = "at"; at.textContent = localTime(m.at, list.getAttribute("data-tz"));
      li.appendChild(role); li.appendChild(text); li.appendChild(at); list.appendChild(li);
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
