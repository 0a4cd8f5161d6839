"""Step-up verification (issue 10, finding 1): assurance levels, one-time codes by email over a real SMTP
server on loopback, what happens without a sender, wrong and expired codes, and what is never kept."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from helpline.connectors.codes import SmtpCodeSender
from helpline.conversation.state import ConversationState
from helpline.pack.expressions import mask, render
from helpline.pack.loader import PackInvalid, load_pack
from helpline.runtime import Runtime, build_runtime
from helpline.store.models import Message
from tests.conftest import DEMO, DemoModels
from tests.smtp_inbox import SmtpTestServer, free_port

NOW = datetime.fromisoformat("2026-11-20T16:00:00+00:00")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def runtime(demo_models: DemoModels, tmp_path: Path, sender: SmtpCodeSender | None, clock: Clock) -> Runtime:
    return build_runtime(DEMO, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                         clock=clock, code_sender=sender)


def address_of(rt: Runtime, email: str) -> str:
    assert rt.operations.sql is not None
    with rt.operations.sql.engine.connect() as conn:
        return str(conn.execute(text("SELECT address_line FROM customers WHERE email = :e"), {"e": email}).scalar())


def transcript(rt: Runtime, conversation_id: str) -> str:
    with rt.db.session() as session:
        rows = session.scalars(select(Message).where(Message.conversation_id == conversation_id))
        return " ".join(m.text for m in rows)


# --- the mask filter and the SMTP adapter ----------------------------------------------------------


def test_mask_shows_enough_to_recognise_never_the_whole() -> None:
    assert mask("julia.campbell@example.com") == "j•••@example.com"
    assert mask("+12145550136") == "•••• 0136"
    assert mask("9874 Bluebonnet Blvd") == "9874 B… Blvd"
    assert mask("217 Cedar Rd, Round Rock, TX 78681") == "217 C… Rd, Round Rock"
    assert mask(None) == ""
    assert render("{{ c.address_line | mask }}, {{ c.missing | mask }}.", {"c": {"address_line": "217 Cedar Rd"}}) \
        == "217 C… Rd, ."


def test_smtp_sender_delivers_the_code_to_a_real_server(smtp_server: SmtpTestServer) -> None:
    smtp_server.inbox.clear()
    assert smtp_server.sender().send("julia.campbell@example.com", "482913")
    assert smtp_server.inbox.last_code("julia.campbell@example.com") == "482913"
    mail = smtp_server.inbox.messages[-1].message
    assert "verification code" in mail["Subject"].lower()


def test_smtp_sender_reports_failure_without_logging_the_code(caplog: pytest.LogCaptureFixture) -> None:
    sender = SmtpCodeSender(host="127.0.0.1", port=free_port(), tls="none", timeout=2)
    with caplog.at_level(logging.DEBUG):
        assert sender.send("julia.campbell@example.com", "482913") is False
        assert sender.send("+12145550136", "482913") is False  # email only: an SMS adapter is another port
    assert "482913" not in caplog.text
    assert "julia.campbell@example.com" not in caplog.text


def test_sender_from_environment() -> None:
    assert SmtpCodeSender.from_env({}) is None
    sender = SmtpCodeSender.from_env({"HELPLINE_SMTP_HOST": "mail.example.com", "HELPLINE_SMTP_USER": "bot"})
    assert sender is not None and (sender.port, sender.tls, sender.username) == (587, "starttls", "bot")
    with pytest.raises(ValueError):
        SmtpCodeSender.from_env({"HELPLINE_SMTP_HOST": "x", "HELPLINE_SMTP_TLS": "maybe"})


# --- the guard in conversations --------------------------------------------------------------------


def test_without_a_sender_the_change_is_refused_and_a_person_offered(demo_models: DemoModels, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPLINE_SMTP_HOST", raising=False)
    rt = runtime(demo_models, tmp_path, None, Clock())
    chat = rt.conversations.start(channel="chat", actor="test")
    rt.conversations.post(chat.id, "I need to change my default address", actor="test")
    view = rt.conversations.post(chat.id, "julia.campbell@example.com", actor="test")
    said = " ".join(view.replies)
    assert "can't make that change in this chat" in said and "colleague" in said
    assert "9874" not in said and view.state["assurance"] == 1 and view.state["procedure"] is None
    view = rt.conversations.post(chat.id, "12 Oak Street, Austin, TX 78701", actor="test")
    assert address_of(rt, "julia.campbell@example.com") == "9874 Bluebonnet Blvd"


def test_three_wrong_codes_lock_step_up_for_the_conversation(demo_models: DemoModels, tmp_path: Path,
                                                             smtp_server: SmtpTestServer) -> None:
    smtp_server.inbox.clear()
    rt = runtime(demo_models, tmp_path, smtp_server.sender(), Clock())
    chat = rt.conversations.start(channel="chat", actor="test")
    rt.conversations.post(chat.id, "update my phone number please", actor="test")
    view = rt.conversations.post(chat.id, "julia.campbell@example.com", actor="test")
    assert view.state["awaiting"] == "code"
    right = smtp_server.inbox.last_code("julia.campbell@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _attempt in range(2):
        view = rt.conversations.post(chat.id, f"the code is {wrong}", actor="test")
        assert "doesn't match" in " ".join(view.replies) and view.state["awaiting"] == "code"
    view = rt.conversations.post(chat.id, f"the code is {wrong}", actor="test")
    assert "couldn't be confirmed" in " ".join(view.replies) and view.state["assurance"] == 1
    assert view.state["awaiting"] != "code"
    # the right code now opens nothing, and asking again sends no new code
    rt.conversations.post(chat.id, f"the code is {right}", actor="test")
    view = rt.conversations.post(chat.id, "I have a new phone number", actor="test")
    assert "couldn't be confirmed" in " ".join(view.replies)
    assert len(smtp_server.inbox.messages) == 1
    assert wrong not in transcript(rt, chat.id)  # codes typed while one is awaited are not stored
    assert rt.operations.sql is not None
    with rt.operations.sql.engine.connect() as conn:
        phone = conn.execute(text("SELECT phone FROM customers WHERE id = 'C-1030'")).scalar()
    assert phone == "+12145550136"


def test_an_expired_code_is_refused_and_a_new_one_sent(demo_models: DemoModels, tmp_path: Path,
                                                        smtp_server: SmtpTestServer) -> None:
    smtp_server.inbox.clear()
    clock = Clock()
    rt = runtime(demo_models, tmp_path, smtp_server.sender(), clock)
    chat = rt.conversations.start(channel="chat", actor="test")
    rt.conversations.post(chat.id, "I need to change my default address", actor="test")
    rt.conversations.post(chat.id, "julia.campbell@example.com", actor="test")
    first = smtp_server.inbox.last_code()
    clock.now = NOW + timedelta(minutes=6)
    view = rt.conversations.post(chat.id, f"the code is {first}", actor="test")
    assert "expired" in " ".join(view.replies) and view.state["assurance"] == 1
    assert len(smtp_server.inbox.messages) == 2
    view = rt.conversations.post(chat.id, f"the code is {smtp_server.inbox.last_code()}", actor="test")
    assert view.state["assurance"] == 2 and view.state["awaiting"] == "slot:address_line"
    said = " ".join(view.replies)
    assert "9874 B… Blvd, Dallas" in said and "Bluebonnet" not in said


def test_the_code_is_kept_only_as_a_salted_hash(demo_models: DemoModels, tmp_path: Path,
                                                smtp_server: SmtpTestServer, caplog: pytest.LogCaptureFixture) -> None:
    smtp_server.inbox.clear()
    rt = runtime(demo_models, tmp_path, smtp_server.sender(), Clock())
    chat = rt.conversations.start(channel="chat", actor="test")
    with caplog.at_level(logging.DEBUG):
        rt.conversations.post(chat.id, "I need to change my default address", actor="test")
        rt.conversations.post(chat.id, "julia.campbell@example.com", actor="test")
        code = smtp_server.inbox.last_code()
        with rt.db.session() as session:
            query = text("SELECT state FROM conversations WHERE id = :i")
            stored = str(session.execute(query, {"i": chat.id}).scalar())
        assert code not in stored and '"code_pending": true' in stored
        rt.conversations.post(chat.id, f"my code: {code}", actor="test")
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail")]  # not the test server's log
    assert not [line for line in ours if code in line]
    assert code not in transcript(rt, chat.id) and "[code]" in transcript(rt, chat.id)


def test_cancelling_at_the_code_changes_nothing(demo_models: DemoModels, tmp_path: Path,
                                                smtp_server: SmtpTestServer) -> None:
    rt = runtime(demo_models, tmp_path, smtp_server.sender(), Clock())
    chat = rt.conversations.start(channel="chat", actor="test")
    rt.conversations.post(chat.id, "I need to change my default address", actor="test")
    rt.conversations.post(chat.id, "julia.campbell@example.com", actor="test")
    view = rt.conversations.post(chat.id, "no, forget it", actor="test")
    assert view.state["awaiting"] != "code" and view.state["procedure"] is None
    assert address_of(rt, "julia.campbell@example.com") == "9874 Bluebonnet Blvd"


def test_reading_order_status_needs_only_assurance_one(demo_models: DemoModels, tmp_path: Path,
                                                       smtp_server: SmtpTestServer) -> None:
    smtp_server.inbox.clear()
    rt = runtime(demo_models, tmp_path, smtp_server.sender(), Clock())
    chat = rt.conversations.start(channel="chat", actor="test")
    view = rt.conversations.post(chat.id, "where is my order BB-10166? samuel.rogers@example.com", actor="test")
    assert view.state["assurance"] == 1 and view.state["awaiting"] != "code"
    assert not smtp_server.inbox.messages


# --- the pack and the stored state ---------------------------------------------------------------------


def test_demo_pack_declares_the_levels() -> None:
    pack = load_pack(DEMO)
    for proc in ("change_default_address", "change_order_address", "update_contact_details"):
        assert pack.procedures[proc].requires_assurance == 2
    assert pack.procedures["order_status"].requires_assurance is None
    assert pack.business.verification.one_time_code is not None
    assert {m.level for m in pack.business.verification.methods} == {1}


def test_pack_asking_for_a_level_nothing_reaches_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(DEMO, copy, ignore=shutil.ignore_patterns("*.db", "cache"))
    business = copy / "business.yaml"
    business.write_text("\n".join(line for line in business.read_text().splitlines()
                                  if not line.strip().startswith("one_time_code:")) + "\n")
    with pytest.raises(PackInvalid) as failure:
        load_pack(copy)
    assert "requires assurance 2" in str(failure.value)


def test_a_state_from_before_assurance_levels_is_level_one() -> None:
    old = {"schema_version": 2, "customer": {"id": "C-1"}, "verification": {"in_progress": False, "attempts": 0,
                                                                             "collected": {}}}
    state = ConversationState.from_json(old)
    assert state.assurance == 1 and state.schema_version == 3
    assert ConversationState.from_json({"schema_version": 2}).assurance == 0
