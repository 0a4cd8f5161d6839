"""Runs every YAML conversation script in scripts/: customer turns, expectations on replies,
operations called, conversation state, the ticket, the business records and the audit log.

Script format (see scripts/*.yaml):
  now: ISO time (default Friday 2026-11-20 10:00 in Chicago, inside opening hours)
  turns: [{customer: text, expect: {...}}]     expect keys: says (all substrings, case-insensitive),
         says_any, never_says, calls (operations called this turn, in order), never_calls, state
  end: true                                       end the conversation after the turns
  ticket: {status, category, priority, tags_include, steps_include, resolution_contains, flags_include}
  records: [{sql, equals}]                        the business's system of record afterwards
  incidents: [{title, message, affected, expected_fix}]   declared before the conversation starts
  transcript_never_contains: [...]                nothing of this may be stored
  handoff: {tier, mood, ...} / callbacks: N
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text

from helpline.store.models import AuditEntry, Callback, Handoff, Message, Ticket
from helpline.store.repositories import IncidentRepository
from tests.conftest import RuntimeFactory

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.yaml"))
DEFAULT_NOW = "2026-11-20T16:00:00+00:00"


def _lower(items: Any) -> list[str]:
    return [str(i).lower() for i in (items if isinstance(items, list) else [items])]


def _operations_called(runtime: Any, since: int) -> list[str]:
    with runtime.db.session() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id)).all()
        return [r.entity.removeprefix("operation:") for r in rows if r.entity.startswith("operation:")]


def _last_audit_id(runtime: Any) -> int:
    with runtime.db.session() as session:
        rows = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)).all()
        return rows[0] if rows else 0


@pytest.mark.parametrize("script_path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_conversation_script(script_path: Path, make_runtime: RuntimeFactory) -> None:
    script = yaml.safe_load(script_path.read_text())
    runtime = make_runtime(datetime.fromisoformat(script.get("now", DEFAULT_NOW)))
    service = runtime.conversations
    with runtime.db.session() as session:
        for incident in script.get("incidents", []):
            IncidentRepository(session).declare(actor="test", started_at=runtime.conversations.clock()
                                                - timedelta(minutes=5), **incident)
    started = service.start(channel=script.get("channel", "chat"), actor="test")
    history = [f"agent: {r}" for r in started.replies]
    for index, turn in enumerate(script["turns"], start=1):
        before = _last_audit_id(runtime)
        view = service.post(started.id, turn["customer"] * turn.get("times", 1), actor="test")
        history += [f"customer: {turn['customer'][:200]}"] + [f"agent: {r}" for r in view.replies]
        said = " ".join(view.replies).lower()
        expect = turn.get("expect", {})
        where = f"turn {index} ({turn['customer'][:60]!r})\n" + "\n".join(history[-8:])
        for part in _lower(expect.get("says", [])):
            assert part in said, f"{where}\nexpected to say {part!r}"
        if "says_any" in expect:
            assert any(p in said for p in _lower(expect["says_any"])), f"{where}\nexpected one of {expect['says_any']}"
        for part in _lower(expect.get("never_says", [])):
            assert part not in said, f"{where}\nmust not say {part!r}"
        called = _operations_called(runtime, before)
        if "calls" in expect:
            wanted = list(expect["calls"])
            assert [c for c in called if c in wanted] == wanted, f"{where}\ncalled {called}, expected {wanted}"
        for name in expect.get("never_calls", []):
            assert name not in called, f"{where}\nmust not call {name}; called {called}"
        for key, value in expect.get("state", {}).items():
            assert view.state.get(key) == value, f"{where}\nstate {key}={view.state.get(key)!r}, expected {value!r}"
    if script.get("end"):
        service.end(started.id, actor="test")

    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == started.id)).one()
        expected_ticket = script.get("ticket", {})
        for key in ("status", "category", "priority"):
            if key in expected_ticket:
                assert getattr(ticket, key) == expected_ticket[key], f"ticket {key}: {getattr(ticket, key)}"
        for tag in expected_ticket.get("tags_include", []):
            assert tag in ticket.tags, f"ticket tags {ticket.tags}"
        steps = " | ".join(ticket.steps_taken).lower()
        for part in _lower(expected_ticket.get("steps_include", [])):
            assert part in steps, f"ticket steps: {steps}"
        for part in _lower(expected_ticket.get("resolution_contains", [])):
            assert part in (ticket.resolution or "").lower(), f"ticket resolution: {ticket.resolution}"
        for part in _lower(expected_ticket.get("flags_include", [])):
            assert any(part in f.lower() for f in ticket.flags), f"ticket flags: {ticket.flags}"
        transcript = " ".join(m.text for m in session.scalars(select(Message)
                                                                .where(Message.conversation_id == started.id)))
        for secret in script.get("transcript_never_contains", []):
            assert str(secret) not in transcript, f"transcript stores {secret!r}"
        handoffs = session.scalars(select(Handoff).where(Handoff.conversation_id == started.id)).all()
        if "handoff" in script:
            assert handoffs, "expected a handoff"
            for key, value in (script["handoff"] or {}).items():
                assert getattr(handoffs[0], key) == value, f"handoff {key}={getattr(handoffs[0], key)!r}"
        elif script.get("no_handoff"):
            assert not handoffs, f"unexpected handoff: {handoffs[0].issue}"
        if "callbacks" in script:
            count = len(session.scalars(select(Callback).where(Callback.ticket_id == ticket.id)).all())
            assert count == script["callbacks"]
    for check in script.get("records", []):
        assert runtime.operations.sql is not None
        with runtime.operations.sql.engine.connect() as conn:
            value = conn.execute(text(check["sql"])).scalar()
        assert value == check["equals"], f"{check['sql']} -> {value!r}"
