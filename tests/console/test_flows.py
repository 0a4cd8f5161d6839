"""Console and widget flows end to end on the real app (TestClient; the browser tests are in tests/browser)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from helpline.store.models import Message, Ticket
from helpline.store.repositories import HandoffRepository, TicketRepository, WidgetKeyRepository
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]


def _widget_key(console: Console, origins: tuple[str, ...] = ()) -> str:
    with console.runtime.db.session() as session:
        return WidgetKeyRepository(session).create(label="site", allowed_origins=origins).public_key


def _until(ws: WebSocketTestSession, kind: str, **match: Any) -> dict[str, Any]:
    for _ in range(50):
        frame: dict[str, Any] = json.loads(ws.receive_text())
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame
    raise AssertionError(f"no {kind} frame")


def test_widget_escalation_human_reply_resume_and_rating(console: Console, as_role: Clients) -> None:
    key = _widget_key(console)
    client, csrf = as_role["agent"]
    with client.websocket_connect(f"/widget/ws?key={key}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        welcome = _until(ws, "welcome")
        ws.send_text(json.dumps({"type": "say", "text": "I want to talk to a human please", "client_id": "c1"}))
        _until(ws, "ack", client_id="c1")
    conversation_id, token = welcome["conversation_id"], welcome["token"]
    with console.runtime.db.session() as session:
        handoffs = HandoffRepository(session).list(actor="test", pending_only=True)
        assert [h.conversation_id for h in handoffs] == [conversation_id]
        handoff_id = handoffs[0].id
    assert "Accept" in client.get("/console/inbox").text
    assert client.post(f"/console/inbox/{handoff_id}/accept", data={"csrf": csrf}).status_code == 303
    assert client.post(f"/console/conversations/{conversation_id}/reply",
                       data={"csrf": csrf, "text": "Hi, I'm Agent from the team."}).status_code == 303

    # Reconnect as the same browser: the missed lines are replayed once; a resent message is not doubled.
    with client.websocket_connect(f"/widget/ws?key={key}") as ws:
        ws.send_text(json.dumps({"type": "hello", "conversation_id": conversation_id, "token": token,
                                 "last_seq": 3}))
        assert _until(ws, "welcome")["resumed"] is True
        human = _until(ws, "message", role="human")
        assert human["text"] == "Hi, I'm Agent from the team." and human["by"] == "Agent"
        ws.send_text(json.dumps({"type": "say", "text": "I want to talk to a human please", "client_id": "c1"}))
        _until(ws, "ack", client_id="c1")
        ws.send_text(json.dumps({"type": "say", "text": "thanks!", "client_id": "c2"}))
        _until(ws, "message", role="customer", text="thanks!")
    with console.runtime.db.session() as session:
        texts = [m.text for m in session.query(Message).filter_by(conversation_id=conversation_id)]
    assert texts.count("I want to talk to a human please") == 1
    # The AI stayed silent while a person handled it: no agent line after the takeover notice.
    after = texts[texts.index("Hi, I'm Agent from the team."):]
    assert after == ["Hi, I'm Agent from the team.", "thanks!"]

    assert client.post(f"/console/conversations/{conversation_id}/resolve",
                       data={"csrf": csrf, "resolution": "Refund approved"}).status_code == 303
    with client.websocket_connect(f"/widget/ws?key={key}") as ws:
        ws.send_text(json.dumps({"type": "hello", "conversation_id": conversation_id, "token": token,
                                 "last_seq": 99}))
        _until(ws, "ended")
        ws.send_text(json.dumps({"type": "rate", "score": 5}))
        _until(ws, "rated", score=5)
    with console.runtime.db.session() as session:
        ticket = session.query(Ticket).filter_by(conversation_id=conversation_id).one()
        assert (ticket.status, ticket.csat, ticket.resolution) == ("resolved", 5, "Refund approved")


def test_widget_key_token_and_origin_checks(console: Console, anon: TestClient) -> None:
    key = _widget_key(console, origins=("https://shop.example",))
    other = _widget_key(console)
    with anon.websocket_connect(f"/widget/ws?key={other}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        conversation_id = _until(ws, "welcome")["conversation_id"]
    # Someone else's conversation id without its token starts a fresh chat instead of reading it.
    with anon.websocket_connect(f"/widget/ws?key={other}") as ws:
        ws.send_text(json.dumps({"type": "hello", "conversation_id": conversation_id, "token": "stolen?"}))
        assert _until(ws, "welcome")["conversation_id"] != conversation_id
    import pytest
    from starlette.websockets import WebSocketDisconnect

    for bad_key, origin in (("hlw_nope", "https://shop.example"), (key, "https://evil.example")):
        with pytest.raises(WebSocketDisconnect), anon.websocket_connect(f"/widget/ws?key={bad_key}",
                                                                        headers={"origin": origin}) as ws:
            ws.receive_text()
    with anon.websocket_connect(f"/widget/ws?key={key}", headers={"origin": "https://shop.example"}) as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        _until(ws, "welcome")
    assert anon.get("/widget.js").headers["content-type"].startswith("text/javascript")
    assert anon.post("/api/v1/conversations").status_code == 401  # the API still needs a key


def test_takeover_whisper_and_hand_back(console: Console, as_role: Clients) -> None:
    service = console.runtime.conversations
    started = service.start(channel="chat")
    service.post(started.id, "where is my order BB-10001?")
    client, csrf = as_role["supervisor"]
    base = f"/console/conversations/{started.id}"
    assert client.post(f"{base}/takeover", data={"csrf": csrf}).status_code == 303
    assert service.post(started.id, "hello?").replies == []  # the AI stops
    client.post(f"{base}/whisper", data={"csrf": csrf, "text": "Check the courier first"})
    client.post(f"{base}/reply", data={"csrf": csrf, "text": "Let me check that for you."})
    page = client.get(base).text
    assert "Check the courier first" in page and "whisper" in page
    with console.runtime.db.session() as session:
        rows = session.query(Message).filter_by(conversation_id=started.id).order_by(Message.seq).all()
        assert [m.role for m in rows][-3:] == ["customer", "system", "human"]
        assert rows[-2].meta["visibility"] == "staff"
    # An agent who is not handling it may not hand it back; the supervisor may.
    agent, agent_csrf = as_role["agent"]
    assert agent.post(f"{base}/handback", data={"csrf": agent_csrf}, headers={"accept": "text/html"}).status_code == 403
    assert client.post(f"{base}/handback", data={"csrf": csrf}).status_code == 303
    assert service.post(started.id, "thanks, what are your opening hours?").replies  # the AI answers again


def test_tickets_filter_edit_and_merge(console: Console, as_role: Clients) -> None:
    with console.runtime.db.session() as session:
        repo = TicketRepository(session)
        chat = repo.create(actor="t", channel="chat", summary="Grinder jams on fine setting")
        email = repo.create(actor="t", channel="email", summary="grinder jam again", priority="high")
        numbers = (chat.number, email.number)
    client, csrf = as_role["supervisor"]
    listing = client.get("/console/tickets", params={"q": "grinder", "channel": "email"}).text
    assert f"#{numbers[1]}" in listing and f"#{numbers[0]}<" not in listing
    assert client.get("/console/tickets", params={"q": f"#{numbers[0]}"}).headers["location"].endswith(str(numbers[0]))
    client.post(f"/console/tickets/{numbers[0]}", data={"csrf": csrf, "status": "escalated", "priority": "urgent",
                                                        "notes": "Called the customer"})
    client.post(f"/console/tickets/{numbers[0]}/merge", data={"csrf": csrf, "duplicate": str(numbers[1])})
    with console.runtime.db.session() as session:
        kept = session.query(Ticket).filter_by(number=numbers[0]).one()
        dup = session.query(Ticket).filter_by(number=numbers[1]).one()
        assert (kept.status, kept.priority) == ("escalated", "urgent")
        assert "Called the customer" in kept.notes and f"Merged #{numbers[1]} (email)" in kept.notes
        assert dup.merged_into_id == kept.id and dup.status == "resolved"


def test_incident_callbacks_dashboard(console: Console, as_role: Clients) -> None:
    client, csrf = as_role["supervisor"]
    client.post("/console/incidents", data={"csrf": csrf, "title": "App login outage", "affected": "",
                                            "message": "Our app login is down; we're on it.", "expected_fix": "2pm"})
    service = console.runtime.conversations
    started = service.start(channel="chat")
    assert any("app login is down" in r for r in started.replies)  # the engine tells every contact (no tags)
    page = client.get("/console/dashboard", params={"date_from": "2020-01-01", "date_to": "2030-01-01"}).text
    assert "<svg" in page and "Containment" in page
    assert client.get("/console/callbacks").status_code == 200


def test_knowledge_edit_preview_and_gaps(console: Console, as_role: Clients) -> None:
    client, csrf = as_role["supervisor"]
    knowledge = console.runtime.knowledge
    try:
        saved = client.post("/console/knowledge", data={
            "csrf": csrf, "title": "Barista classes", "tags": "classes, workshop", "audience": "customer",
            "body": "We run barista classes every Saturday morning in our Austin roastery. A class costs $45."})
        assert saved.status_code == 303
        assert (console.pack_dir / "knowledge" / "barista-classes.md").is_file()
        assert "barista-classes" in knowledge.articles
        preview = client.get("/console/knowledge", params={"q": "do you run barista classes?"}).text
        assert "Saturday" in preview
        bad = client.post("/console/knowledge", data={"csrf": csrf, "title": "x", "body": "y", "audience": "everyone"})
        assert bad.status_code == 400
    finally:
        knowledge.remove("barista-classes")  # the index is shared by the whole test session
    service = console.runtime.conversations
    started = service.start(channel="chat")
    service.post(started.id, "Do you sponsor local football teams?")
    gaps = client.get("/console/knowledge").text
    with console.runtime.db.session() as session:
        flagged = [m.text for m in session.query(Message).all() if (m.meta or {}).get("kb_gap")]
    for text in flagged:
        assert text in gaps
