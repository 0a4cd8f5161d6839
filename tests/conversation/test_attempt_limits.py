"""Verification attempt limits across conversations (issue 10, finding 2), on the demo pack's real engine and
a SQLite database: "Samuel Rogers 786NN" three times a conversation used to find the ZIP in 8 conversations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpline.conversation.attempts import normalise_identifier, record_key
from helpline.conversation.ports import ClientIdentity, ClientKind
from helpline.conversation.state import ConversationState
from helpline.runtime import Runtime, build_runtime
from helpline.store.models import AuditEntry, Customer
from helpline.store.throttle import ALERT_ENTITY, ATTEMPT_ENTITY
from tests.conftest import DEMO, DemoModels

NOW = datetime.fromisoformat("2026-11-20T16:00:00+00:00")
ATTACKER = ClientIdentity(ClientKind.IP, "203.0.113.7")
SOMEONE_ELSE = ClientIdentity(ClientKind.IP, "198.51.100.9")
RIGHT_ZIP = "78681"  # Samuel Rogers's, in the demo data


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def runtime(demo_models: DemoModels, tmp_path: Path, clock: Clock) -> Iterator[Runtime]:
    made = build_runtime(DEMO, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models, clock=clock)
    yield made
    made.db.dispose()


def guesses(rt: Runtime, client: ClientIdentity, answers: list[str]) -> list[list[str]]:
    """One conversation: ask for the order status, then answer the identity check with each of `answers`."""
    service = rt.conversations
    started = service.start(clients=(client,))
    asked = service.post(started.id, "where is my order?")
    assert asked.state["awaiting"] == "verification"
    replies = []
    for answer in answers:
        turn = service.post(started.id, answer)
        replies.append(turn.replies)
        if turn.state["awaiting"] != "verification":
            break
    return replies


def lookups(rt: Runtime) -> int:
    with rt.db.session() as session:
        return len(list(session.scalars(select(AuditEntry).where(AuditEntry.entity == "operation:find_customer"))))


def paused(replies: list[str]) -> bool:
    return any("paused checks" in line for line in replies)


def test_guessing_a_zip_over_eight_conversations_stops_at_the_record_limit(runtime: Runtime) -> None:
    zips = [f"786{n:02d}" for n in range(58, 82)]  # 24 guesses; the right one is the last, as in the finding
    assert zips[-1] == RIGHT_ZIP
    everything: list[list[str]] = []
    for conversation in range(8):
        everything += guesses(runtime, ATTACKER, [f"Samuel Rogers {z}" for z in zips[conversation * 3:][:3]])
    assert lookups(runtime) == 5  # the record limit: no lookup at all after it
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0  # nobody was verified
    assert sum(paused(turn) for turn in everything) == 7  # the rest of conversation 2, then every next one
    with runtime.db.session() as session:
        failed = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == ATTEMPT_ENTITY)))
        alerts = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == ALERT_ENTITY)))
    assert [e.detail["outcome"] for e in failed].count("failed") == 5
    assert [e.detail["outcome"] for e in failed].count("refused") == 7
    assert all(z not in str(e.detail) for e in failed for z in zips)  # the factor guessed is never logged
    assert [a.detail["alert"] for a in alerts] == ["locked"]


def test_a_locked_record_is_refused_to_another_client_with_the_same_words(runtime: Runtime) -> None:
    for conversation in range(2):
        guesses(runtime, ATTACKER, [f"Samuel Rogers 7860{conversation * 3 + n}" for n in range(3)])
    # the real Samuel Rogers, from elsewhere, with the right ZIP: refused, and offered a person
    record_blocked = guesses(runtime, SOMEONE_ELSE, [f"Samuel Rogers {RIGHT_ZIP}"])[0]
    assert paused(record_blocked) and any("colleague" in line for line in record_blocked)
    # a client blocked for trying many names hears exactly the same: nothing tells which key is locked
    for n in range(10):  # 10 failures: the per-client limit
        assert not paused(guesses(runtime, SOMEONE_ELSE, [f"it's guess{n}@example.com"])[0])
    client_blocked = guesses(runtime, SOMEONE_ELSE, ["Julia Campbell 75201"])[0]
    assert client_blocked == record_blocked


def test_the_right_answer_after_the_lockout_expires_verifies(runtime: Runtime, clock: Clock) -> None:
    for conversation in range(2):
        guesses(runtime, ATTACKER, [f"Samuel Rogers 7860{conversation * 3 + n}" for n in range(3)])
    clock.now = NOW + timedelta(minutes=14)
    assert paused(guesses(runtime, SOMEONE_ELSE, [f"Samuel Rogers {RIGHT_ZIP}"])[0])
    clock.now = NOW + timedelta(minutes=15)
    replies = guesses(runtime, SOMEONE_ELSE, [f"Samuel Rogers {RIGHT_ZIP}"])[0]
    assert not paused(replies) and any("Samuel" in line for line in replies)


def test_a_lockout_is_announced_on_the_live_bus(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[tuple[str, str]] = []
    monkeypatch.setattr(runtime.conversations.bus, "publish",
                        lambda conversation_id, kind="message": published.append((conversation_id, kind)))
    for conversation in range(2):
        guesses(runtime, ATTACKER, [f"Samuel Rogers 7860{conversation * 3 + n}" for n in range(3)])
    assert [kind for _, kind in published].count("verification_alert") == 1


def test_the_conversation_keeps_its_client_and_an_older_state_has_none() -> None:
    state = ConversationState(clients=[ATTACKER, ClientIdentity(ClientKind.WIDGET_KEY, "k-1")])
    assert ConversationState.from_json(state.to_json()).clients == state.clients
    assert ConversationState.from_json({"schema_version": 3, "turn": 2}).clients == []


def test_spelling_variants_name_one_record_and_the_secret_is_not_part_of_it() -> None:
    one = record_key(["person_name", "postcode"], {"person_name": "Samuel Rogers", "postcode": "78600"},
                     ["postcode"])
    for variant in ("samuel  ROGERS.", "Rogers, Samuel", "Sámuel Rogers"):
        other = record_key(["person_name", "postcode"], {"person_name": variant, "postcode": "11111"}, ["postcode"])
        assert other == one
    assert one.fields == ("person_name",) and "78600" not in one.value + one.label
    assert normalise_identifier("email", " Samuel.Rogers@Example.COM ") == "samuel.rogers@example.com"
    assert normalise_identifier("order_id", "bb-10166") == normalise_identifier("order_id", "BB 10166")
    assert record_key(["email"], {"email": "a@b.co"}, ["postcode"]).label == "a•••@b.co"
