"""The console's Outbound page: supervisors see the queue and a preview written for a real recent ticket;
admins turn automatic sending on in the pack's business.yaml; agents are kept out."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import yaml
from fastapi.testclient import TestClient

from helpline.outbound.ports import MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue
from tests.console.conftest import Console


def _resolved_chat(console: Console) -> int:
    service = console.runtime.conversations
    started = service.start(channel="chat", actor="test")
    service.post(started.id, "cancel order BB-10160 please, I'm aisha.patel@example.com, bought by mistake",
                 actor="test")
    service.post(started.id, "yes", actor="test")
    service.end(started.id, actor="test")
    number = service.ticket_number(started.id)
    assert number is not None
    return number


def test_supervisors_preview_each_kind_for_a_recent_ticket(console: Console,
                                                           as_role: dict[str, tuple[TestClient, str]]) -> None:
    number = _resolved_chat(console)
    client, _ = as_role["supervisor"]
    page = client.get("/console/outbound")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert f"ticket #{number}" in text or f">#{number}<" in text
    assert 'id="preview-recap"' in page.text and 'id="preview-survey"' in page.text
    assert "Hi Aisha," in text and "We cancelled order BB-10160" in text and "Started '" not in text
    assert "Automatic: nothing yet" in text
    assert 'action="/console/outbound/settings"' not in page.text  # settings are the admin's
    assert as_role["agent"][0].get("/console/outbound").status_code == 403
    assert client.get("/console/outbound?ticket=999999").status_code == 200  # an unknown ticket: said, no 500


def test_admins_turn_automatic_sending_on(console: Console, as_role: dict[str, tuple[TestClient, str]]) -> None:
    client, csrf = as_role["admin"]
    saved = client.post("/console/outbound/settings", data={
        "csrf": csrf, "auto_recap": "1", "auto_survey": "1", "survey_channel": "sms", "delay": "30m",
        "reminder_before": "2h", "contact_phone": "+1 512 555 0100"})
    assert saved.status_code == 303 and "saved" in saved.headers["location"]
    written = yaml.safe_load((console.pack_dir / "business.yaml").read_text())["outbound"]
    assert written["automatic"] == ["recap", "survey"] and written["survey_channel"] == "sms"
    assert console.runtime.pack.business.outbound.delay == "30m"  # applied at once

    refused = client.post("/console/outbound/settings", data={"csrf": csrf, "delay": "soon"})
    assert refused.status_code == 303 and "Not%20saved" in refused.headers["location"]
    assert console.runtime.pack.business.outbound.delay == "30m"
    supervisor, token = as_role["supervisor"]
    assert supervisor.post("/console/outbound/settings", data={"csrf": token}).status_code == 403


def test_the_queue_is_listed_and_a_queued_message_can_be_cancelled(
        console: Console, as_role: dict[str, tuple[TestClient, str]]) -> None:
    with console.runtime.db.session() as session:
        record = OutboundQueue(session).enqueue(
            OutboundMessage(channel=OutboundChannel.SMS, to="+15125550126", text="Reminder",
                            purpose=MessagePurpose.CALLBACK_REMINDER),
            dedupe_key="callback_reminder:x", actor="test", now=datetime.now(UTC))
        assert record is not None
        row_id = record.id
    client, csrf = as_role["supervisor"]
    listed = client.get("/console/outbound?status=queued")
    assert "+15125550126" in listed.text and "callback reminder" in listed.text
    cancelled = client.post(f"/console/outbound/{row_id}/cancel", data={"csrf": csrf})
    assert cancelled.status_code == 303
    assert "+15125550126" in client.get("/console/outbound?status=cancelled").text
    again = client.post(f"/console/outbound/{row_id}/cancel", data={"csrf": csrf})
    assert "Only%20a%20queued" in again.headers["location"]
