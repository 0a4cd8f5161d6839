/* Helpline chat widget. Embed with:
 *   <script src="https://YOUR-HELPLINE/widget.js" data-key="hlw_..." defer></script>
 * Talks to the same server over a WebSocket; keeps the conversation id, its resume token and unsent
 * messages in localStorage, so a reload or a dropped connection resumes the same chat: the server
 * replays what was missed, and unacknowledged messages are resent with the same id (never doubled).
 * Everything customer- or agent-written is inserted with textContent (never as HTML).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__helplineWidget) return;
  window.__helplineWidget = true;
  var key = script.getAttribute("data-key") || "";
  var title = script.getAttribute("data-title") || "Chat with us";
  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/widget/ws?key=" + encodeURIComponent(key);
  var storeKey = "helpline-widget:" + key;

  function load() { try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; } }
  function save() { try { localStorage.setItem(storeKey, JSON.stringify(saved)); } catch (e) { /* private mode */ } }
  var saved = load();            // {conversation_id, token, pending: [{client_id, text}]}
  saved.pending = saved.pending || [];
  var lastSeq = 0;               // the last message shown on this page (a reload replays the whole chat)

  var css = [
    ":host { all: initial; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 28px; padding: 14px 20px;",
    "  background: #1d4ed8; color: #fff; font: 600 15px system-ui, sans-serif; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
    ".panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483000; width: 360px; max-width: calc(100vw - 24px); height: 520px;",
    "  max-height: calc(100vh - 110px); display: flex; flex-direction: column; background: #fff; color: #111827; border-radius: 14px;",
    "  box-shadow: 0 10px 30px rgba(0,0,0,.25); font: 15px/1.4 system-ui, sans-serif; overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    "header { display: flex; align-items: center; justify-content: space-between; padding: 10px 14px; background: #1d4ed8; color: #fff; }",
    "header h2 { font-size: 16px; margin: 0; } header button { background: transparent; color: #fff; border: 1px solid rgba(255,255,255,.6); border-radius: 6px; padding: 4px 8px; cursor: pointer; font: inherit; font-size: 13px; }",
    ".status { font-size: 12px; padding: 4px 14px; background: #eff6ff; color: #1e3a8a; }",
    ".status:empty { display: none; }",
    "ol { list-style: none; margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; }",
    "li { max-width: 85%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }",
    "li.customer { align-self: flex-end; background: #1d4ed8; color: #fff; }",
    "li.agent { align-self: flex-start; background: #f1f5f9; }",
    "li.human { align-self: flex-start; background: #dcfce7; }",
    "li.system { align-self: center; background: transparent; color: #475569; font-size: 13px; text-align: center; }",
    "li .who { display: block; font-size: 11px; color: #166534; font-weight: 600; }",
    "li.pending { opacity: .6; }",
    ".typing { padding: 0 14px 6px; font-size: 13px; color: #475569; min-height: 18px; }",
    "form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; }",
    "form label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }",
    "textarea { flex: 1; resize: none; font: inherit; padding: 8px; border: 1px solid #94a3b8; border-radius: 8px; min-height: 40px; max-height: 120px; }",
    "button.send { border: 0; border-radius: 8px; padding: 0 14px; background: #1d4ed8; color: #fff; font: inherit; cursor: pointer; }",
    ".rating { padding: 10px 14px; border-top: 1px solid #e5e7eb; }",
    ".rating[hidden] { display: none; }",
    ".rating p { margin: 0 0 6px; } .rating .stars { display: flex; gap: 6px; }",
    ".rating .stars button { flex: 1; padding: 8px 0; border: 1px solid #94a3b8; border-radius: 8px; background: #fff; font: inherit; cursor: pointer; }",
    ".rating .new { margin-top: 8px; background: transparent; border: 0; color: #1d4ed8; text-decoration: underline; cursor: pointer; font: inherit; padding: 0; }",
    "button:focus-visible, textarea:focus-visible { outline: 3px solid #93c5fd; outline-offset: 2px; }",
    "@media (max-width: 480px) { .panel { right: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100%; max-height: 100%; border-radius: 0; }",
    "  .launcher { right: 12px; bottom: 12px; } }"
  ].join("\n");

  var host = document.createElement("div");
  host.id = "helpline-widget";
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" + css + "</style>" +
    "<button class='launcher' type='button' aria-expanded='false' aria-controls='hl-panel'></button>" +
    "<section class='panel' id='hl-panel' role='dialog' aria-modal='false' aria-labelledby='hl-title' hidden>" +
    "<header><h2 id='hl-title'></h2><span><button type='button' class='end'>End chat</button> " +
    "<button type='button' class='close' aria-label='Close chat'>✕</button></span></header>" +
    "<div class='status' role='status'></div>" +
    "<ol class='log' role='log' aria-live='polite' aria-relevant='additions' aria-label='Messages'></ol>" +
    "<div class='typing' aria-live='polite'></div>" +
    "<form><label for='hl-input'>Type your message</label>" +
    "<textarea id='hl-input' rows='1' maxlength='2000' placeholder='Type your message…'></textarea>" +
    "<button class='send' type='submit'>Send</button></form>" +
    "<div class='rating' hidden><p id='hl-rate-q'>How satisfied are you with this chat?</p>" +
    "<div class='stars' role='group' aria-labelledby='hl-rate-q'></div>" +
    "<button type='button' class='new'>Start a new chat</button></div>" +
    "</section>";

  var $ = function (sel) { return root.querySelector(sel); };
  var launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), input = $("textarea"), form = $("form");
  var typing = $(".typing"), status = $(".status"), rating = $(".rating"), stars = $(".stars");
  launcher.textContent = title;
  $("#hl-title").textContent = title;
  for (var n = 1; n <= 5; n++) {
    var b = document.createElement("button");
    b.type = "button"; b.textContent = String(n); b.setAttribute("data-score", String(n));
    b.setAttribute("aria-label", n + " out of 5" + (n === 1 ? " (very unhappy)" : n === 5 ? " (very happy)" : ""));
    stars.appendChild(b);
  }

  var socket = null, ready = false, retry = 0, ended = false, opened = false;

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      if (!opened) { opened = true; connect(); }
      (ended ? stars.querySelector("button") : input).focus();
      log.scrollTop = log.scrollHeight;
    } else {
      launcher.focus();
    }
  }

  function add(role, text, who, pendingId) {
    var li = document.createElement("li");
    li.className = role + (pendingId ? " pending" : "");
    if (pendingId) li.setAttribute("data-client-id", pendingId);
    if (who) { var w = document.createElement("span"); w.className = "who"; w.textContent = who; li.appendChild(w); }
    li.appendChild(document.createTextNode(text));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function onMessage(m) {
    if (m.seq <= lastSeq) return;                    // already shown: never twice
    lastSeq = m.seq;
    if (m.role === "customer") {
      var mine = log.querySelector("li.pending");     // our own optimistic copy becomes the real one
      if (mine) { mine.classList.remove("pending"); mine.removeAttribute("data-client-id"); return; }
    }
    if (m.role === "human") status.textContent = "You're chatting with " + (m.by || "a member of our team") + ".";
    add(m.role, m.text, m.role === "human" ? (m.by || "Team member") : "");
  }

  function showEnded() {
    ended = true;
    typing.textContent = "";
    form.hidden = true;
    rating.hidden = false;
    status.textContent = "This chat has ended.";
    if (!panel.hidden) stars.querySelector("button").focus();
  }

  function send(frame) { if (socket && ready) socket.send(JSON.stringify(frame)); }

  function connect() {
    if (!key) { status.textContent = "Chat is not configured (missing data-key)."; return; }
    socket = new WebSocket(wsUrl);
    socket.onopen = function () {
      retry = 0; ready = true;
      socket.send(JSON.stringify({ type: "hello", conversation_id: saved.conversation_id || null,
                                   token: saved.token || null, last_seq: lastSeq }));
    };
    socket.onmessage = function (e) {
      var f; try { f = JSON.parse(e.data); } catch (err) { return; }
      if (f.type === "welcome") {
        if (f.conversation_id !== saved.conversation_id) { saved = { conversation_id: f.conversation_id, token: f.token, pending: saved.pending }; lastSeq = 0; log.querySelectorAll("li:not(.pending)").forEach(function (li) { li.remove(); }); }
        save();
        if (status.textContent === "Reconnecting…") status.textContent = "";
        saved.pending.forEach(function (p) { send({ type: "say", text: p.text, client_id: p.client_id }); });
      } else if (f.type === "message") { onMessage(f); }
      else if (f.type === "typing") { typing.textContent = f.on ? "Typing…" : ""; }
      else if (f.type === "ack") {
        saved.pending = saved.pending.filter(function (p) { return p.client_id !== f.client_id; }); save();
      } else if (f.type === "ended") { showEnded(); }
      else if (f.type === "rated") {
        rating.querySelector("p").textContent = "Thank you for your rating (" + f.score + " out of 5)!";
        stars.hidden = true;
      } else if (f.type === "slow_down") {          // not stored: keep it and send it again a little later
        status.textContent = f.message || "";
        setTimeout(function () {
          saved.pending.forEach(function (p) { if (p.client_id === f.client_id) send({ type: "say", text: p.text, client_id: p.client_id }); });
        }, Math.max(1, f.retry_after || 2) * 1000);
      } else if (f.type === "error") { status.textContent = f.message; }
    };
    socket.onclose = function () {
      ready = false;
      if (ended && !saved.pending.length) return;
      status.textContent = "Reconnecting…";
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, Math.min(500 * Math.pow(2, retry - 1), 15000));
    };
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  $(".close").addEventListener("click", function () { setOpen(false); });
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) setOpen(false); });
  $(".end").addEventListener("click", function () { if (!ended) send({ type: "end" }); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || ended) return;
    // the message's retry key: kept with it until acknowledged, so a resend is recognised (on any node)
    var id = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID()
      : Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    saved.pending.push({ client_id: id, text: text }); save();
    add("customer", text, "", id);
    input.value = "";
    send({ type: "say", text: text, client_id: id });
    input.focus();
  });
  stars.addEventListener("click", function (e) {
    var score = e.target && e.target.getAttribute && e.target.getAttribute("data-score");
    if (score) send({ type: "rate", score: parseInt(score, 10) });
  });
  $(".new").addEventListener("click", function () {
    saved = { pending: [] }; lastSeq = 0; save();
    log.textContent = ""; form.hidden = false; rating.hidden = true; stars.hidden = false; ended = false;
    rating.querySelector("p").textContent = "How satisfied are you with this chat?"; status.textContent = "";
    if (socket) { socket.onclose = null; socket.close(); }
    connect(); input.focus();
  });
  if (saved.conversation_id) { opened = true; connect(); }  // resume quietly after a page reload
})();
