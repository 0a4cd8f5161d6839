"""Asking a teammate without handing off: the customer keeps being served, a colleague's answer reaches them,
and nobody answering in time turns into an offer of a callback. Real SQLite, the real engine and the demo pack
with `team.ask_teammates` switched on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from helpline.runtime import Runtime, build_runtime
from helpline.store.models import Callback, Handoff, Message, TeamNotice, TeamQuestion
from helpline.team.questions import QuestionClosed, TeamQuestions
from tests.conftest import DEMO, DemoModels

OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago: the team is in
CLOSED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday 03:00 in Chicago
UNKNOWN = "Is your packaging compostable?"  # no article says


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def team_pack(tmp_path: Path, ask: bool = True) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack, ignore=shutil.ignore_patterns("*.db"))
    with (pack / "business.yaml").open("a") as business:
        business.write(f"\nteam:\n  ask_teammates: {'true' if ask else 'false'}\n  wait_minutes: 5\n")
    return pack


@pytest.fixture()
def clock() -> Clock:
    return Clock(OPEN)


@pytest.fixture()
def runtime(demo_models: DemoModels, tmp_path: Path, clock: Clock) -> Iterator[Runtime]:
    made = build_runtime(team_pack(tmp_path), db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models, clock=clock)
    yield made
    made.db.dispose()


def transcript(runtime: Runtime, conversation_id: str) -> list[tuple[str, str]]:
    with runtime.db.session() as session:
        return [(m.role, m.text) for m in session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq))]


def test_an_unanswerable_question_goes_to_the_team_and_the_answer_comes_back(runtime: Runtime, clock: Clock) -> None:
    chat = runtime.conversations.start(channel="chat")
    asked = runtime.conversations.post(chat.id, UNKNOWN)
    assert "asked a colleague" in asked.replies[0]
    questions = TeamQuestions(runtime.conversations)
    waiting = questions.open()
    assert [(q.question, q.customer_still_here) for q in waiting] == [(UNKNOWN, True)]
    with runtime.db.session() as session:
        assert [(n.kind, n.ref_id) for n in session.scalars(select(TeamNotice))] == [("question", waiting[0].id)]

    # the customer is still served meanwhile
    meanwhile = runtime.conversations.post(chat.id, "How long should I steep cold brew?")
    assert "cold brew" in " ".join(meanwhile.replies).lower()  # answered from the article meanwhile

    clock.now += timedelta(minutes=3)
    relayed = questions.answer(waiting[0].id, "Yes: our bags are certified home-compostable.", "Sam", "console:sam")
    assert relayed is not None and "Sam" in relayed.replies[0] and "home-compostable" in relayed.replies[0]
    assert transcript(runtime, chat.id)[-1] == ("agent", relayed.replies[0])
    assert questions.open() == []
    with pytest.raises(QuestionClosed):  # a second colleague answering the same question is told
        questions.answer(waiting[0].id, "No idea", "Kim", "console:kim")
    # given up on later: nothing happens to an answered question
    clock.now += timedelta(minutes=10)
    assert questions.give_up_waiting(timedelta(minutes=5)) == 0


def test_nobody_answering_in_time_offers_a_callback_and_yes_books_it(runtime: Runtime, clock: Clock) -> None:
    chat = runtime.conversations.start(channel="chat")
    runtime.conversations.post(chat.id, UNKNOWN)
    questions = TeamQuestions(runtime.conversations)
    clock.now += timedelta(minutes=4)
    assert questions.give_up_waiting(timedelta(minutes=5)) == 0  # not yet
    clock.now += timedelta(minutes=2)
    assert questions.give_up_waiting(timedelta(minutes=5)) == 1
    role, offer = transcript(runtime, chat.id)[-1]
    assert role == "agent" and "haven't answered" in offer and "get back to you" in offer
    booked = runtime.conversations.post(chat.id, "yes please, call me on 312-555-0147")
    assert "callback" in " ".join(booked.replies).lower()
    with runtime.db.session() as session:
        callbacks = list(session.scalars(select(Callback)))
        assert len(callbacks) == 1 and callbacks[0].phone == "+13125550147"
        assert "compostable" in callbacks[0].reason
        question = session.scalars(select(TeamQuestion)).one()
        assert question.status == "unanswered"
    # the inbox no longer lists it: the callback is the follow-up now
    assert questions.open() == []
    with pytest.raises(QuestionClosed):
        questions.answer(question.id, "late", "Sam", "console:sam")


def test_without_a_number_accepting_the_offer_hands_off_to_a_person(runtime: Runtime, clock: Clock) -> None:
    chat = runtime.conversations.start(channel="chat")
    runtime.conversations.post(chat.id, UNKNOWN)
    clock.now += timedelta(minutes=6)
    TeamQuestions(runtime.conversations).give_up_waiting(timedelta(minutes=5))
    runtime.conversations.post(chat.id, "ok sure")
    with runtime.db.session() as session:
        handoffs = list(session.scalars(select(Handoff)))
        assert len(handoffs) == 1 and "compostable" in handoffs[0].issue + " ".join(handoffs[0].steps_tried)
        assert {n.kind for n in session.scalars(select(TeamNotice))} == {"question", "handoff"}


def test_declining_the_offer_carries_on(runtime: Runtime, clock: Clock) -> None:
    chat = runtime.conversations.start(channel="chat")
    runtime.conversations.post(chat.id, UNKNOWN)
    clock.now += timedelta(minutes=6)
    TeamQuestions(runtime.conversations).give_up_waiting(timedelta(minutes=5))
    declined = runtime.conversations.post(chat.id, "no thanks, never mind")
    assert not any("callback" in r.lower() for r in declined.replies)
    with runtime.db.session() as session:
        assert list(session.scalars(select(Callback))) == [] and list(session.scalars(select(Handoff))) == []


def test_a_customer_who_left_gets_the_answer_on_the_ticket(runtime: Runtime, clock: Clock) -> None:
    chat = runtime.conversations.start(channel="chat")
    runtime.conversations.post(chat.id, UNKNOWN)
    runtime.conversations.end(chat.id)
    questions = TeamQuestions(runtime.conversations)
    waiting = questions.open()
    assert waiting[0].customer_still_here is False
    assert questions.answer(waiting[0].id, "Yes, home-compostable.", "Sam", "console:sam") is None
    ticket_number = runtime.conversations.ticket_number(chat.id)
    with runtime.db.session() as session:
        from helpline.store.models import Ticket

        ticket = session.scalars(select(Ticket).where(Ticket.number == ticket_number)).one()
        assert any("home-compostable" in step for step in ticket.steps_taken)


def test_out_of_hours_or_switched_off_the_agent_offers_a_person_as_before(
        demo_models: DemoModels, tmp_path: Path) -> None:
    for ask, now in ((True, CLOSED), (False, OPEN)):
        folder = tmp_path / f"{ask}-{now.hour}"
        folder.mkdir()
        runtime = build_runtime(team_pack(folder, ask=ask), db_url=f"sqlite:///{folder / 'helpline.db'}",
                                records_url=f"sqlite:///{folder / 'records.db'}", models=demo_models.models,
                                clock=lambda now=now: now)  # type: ignore[misc]
        chat = runtime.conversations.start(channel="chat")
        reply = runtime.conversations.post(chat.id, UNKNOWN).replies
        assert "colleague" in reply[-1] and "asked a colleague" not in reply[-1]
        assert TeamQuestions(runtime.conversations).open() == []
        runtime.db.dispose()
