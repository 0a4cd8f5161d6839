"""Hours per team and channel, and callbacks in business time (issue 15, item 3), on the fibre provider's pack
(tests/fixtures/packs/millbrook_fibre: technical 07-22 every day, phones 08-18 on weekdays; billing 08-18 on
weekdays; the business 08-20, closed on 25 December)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.conversation.callback_times import callback_at, read_requested_time
from helpline.conversation.engine import Engine, TurnContext
from helpline.conversation.events import CallbackRequested, Escalated
from helpline.conversation.hours import Schedule, business_schedule, is_open, next_opening, team_schedule
from helpline.conversation.state import ConversationState
from helpline.pack.loader import PackInvalid, load_pack
from helpline.pack.models import BusinessConfig
from helpline.runtime import build_engine, build_models

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "millbrook_fibre"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
NY = ZoneInfo("America/New_York")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


@pytest.fixture(scope="module")
def business() -> BusinessConfig:
    return load_pack(PACK).business


# --- who is open when ----------------------------------------------------------------------------------


def test_billing_and_technical_keep_different_hours(business: BusinessConfig) -> None:
    billing, technical = team_schedule(business, "billing"), team_schedule(business, "technical", "chat")
    early, late = local(2026, 12, 8, 7, 30), local(2026, 12, 8, 19, 0)  # a Tuesday
    assert not billing.is_open(early) and technical.is_open(early)
    assert not billing.is_open(late) and technical.is_open(late)
    assert billing.is_open(local(2026, 12, 8, 8, 0)) and not billing.is_open(local(2026, 12, 8, 18, 0))
    assert not billing.is_open(local(2026, 12, 12, 10)) and technical.is_open(local(2026, 12, 12, 10)), "Saturday"


def test_a_channel_can_keep_its_own_hours(business: BusinessConfig) -> None:
    saturday = local(2026, 12, 12, 10)
    assert team_schedule(business, "technical", "chat").is_open(saturday)
    assert not team_schedule(business, "technical", "phone").is_open(saturday)
    assert team_schedule(business, "technical", "phone").next_opening(saturday) == local(2026, 12, 14, 8)


def test_hours_and_holidays_fall_back_to_the_business(business: BusinessConfig) -> None:
    christmas = local(2026, 12, 25, 10)  # a Friday, the business's holiday
    assert not team_schedule(business, "billing").is_open(christmas), "billing has no holidays of its own"
    assert team_schedule(business, "technical").is_open(christmas), "technical declares it works holidays"
    assert not business_schedule(business).is_open(christmas)


def test_the_old_functions_keep_their_behaviour_without_team_hours() -> None:
    demo = load_pack(DEMO).business  # 08-18 weekdays, 09-13 Saturday, Central time
    chicago = ZoneInfo(demo.timezone)
    assert is_open(demo, datetime(2026, 11, 23, 9, 0, tzinfo=chicago))
    assert not is_open(demo, datetime(2026, 11, 22, 12, 0, tzinfo=chicago)), "Sunday"
    assert next_opening(demo, datetime(2026, 11, 22, 12, 0, tzinfo=chicago)) == datetime(2026, 11, 23, 8, 0,
                                                                                          tzinfo=chicago)
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=chicago)
    assert next_opening(demo, moment) == moment
    assert team_schedule(demo, "billing").is_open(moment), "a tier without hours keeps the business's"


def test_a_business_without_hours_is_always_open() -> None:
    always = Schedule.build("UTC", {}, ["2026-12-25"])
    christmas = datetime(2026, 12, 25, 3, tzinfo=UTC)
    assert always.is_open(christmas)
    assert always.due(christmas, timedelta(hours=4)) == christmas + timedelta(hours=4)


# --- callback promises in open hours -------------------------------------------------------------------


def test_a_4h_sla_asked_at_17_is_due_at_11_next_open_day(business: BusinessConfig) -> None:
    billing = team_schedule(business, "billing")
    assert billing.due(local(2026, 12, 8, 17), timedelta(hours=4)) == local(2026, 12, 9, 11)


def test_an_sla_asked_overnight_starts_at_opening(business: BusinessConfig) -> None:
    billing = team_schedule(business, "billing")
    assert billing.due(local(2026, 12, 9, 2, 30), timedelta(hours=4)) == local(2026, 12, 9, 12)


def test_an_sla_runs_across_the_weekend(business: BusinessConfig) -> None:
    billing = team_schedule(business, "billing")
    assert billing.due(local(2026, 12, 11, 16), timedelta(hours=4)) == local(2026, 12, 14, 10)
    technical = team_schedule(business, "technical", "chat")
    assert technical.due(local(2026, 12, 11, 21), timedelta(hours=4)) == local(2026, 12, 12, 10), "open Saturday"


def test_an_sla_skips_a_holiday(business: BusinessConfig) -> None:
    billing = team_schedule(business, "billing")
    # Thursday 24 December 16:00: two hours that day, Christmas (Friday) and the weekend skipped
    assert billing.due(local(2026, 12, 24, 16), timedelta(hours=4)) == local(2026, 12, 28, 10)


def test_an_sla_in_days_counts_open_days(business: BusinessConfig) -> None:
    billing = team_schedule(business, "billing")
    assert billing.due(local(2026, 12, 10, 15), timedelta(days=1)) == local(2026, 12, 11, 15)
    assert billing.due(local(2026, 12, 11, 15), timedelta(days=1)) == local(2026, 12, 14, 15)


def test_time_is_said_in_the_business_timezone(business: BusinessConfig) -> None:
    billing = team_schedule(business, "billing")
    now = datetime(2026, 12, 8, 22, 0, tzinfo=UTC)  # 17:00 in New York
    assert billing.describe(billing.due(now, timedelta(hours=4)), now) == "tomorrow at 11:00"


# --- the time a customer asks for ----------------------------------------------------------------------


@pytest.mark.parametrize(("said", "expected", "honoured"), [
    ("any time tomorrow morning", local(2026, 12, 9, 8), True),
    ("after 3pm please", local(2026, 12, 8, 15), True),
    ("could you ring me after 3", local(2026, 12, 8, 15), True),
    ("tomorrow at 10:30", local(2026, 12, 9, 10, 30), True),
    ("between 2 and 4 on Thursday", local(2026, 12, 10, 14), True),
    ("tomorrow at 7am", local(2026, 12, 9, 8), False),  # billing opens at 08:00
    ("saturday morning", local(2026, 12, 14, 8), False),  # billing is closed at weekends
    ("in the evening", local(2026, 12, 8, 17), True),  # billing is still open 17-18
    ("tonight after 7pm", local(2026, 12, 9, 8), False),
])
def test_a_requested_time_is_honoured_when_the_team_is_open(business: BusinessConfig, said: str,
                                                          expected: datetime, honoured: bool) -> None:
    now = local(2026, 12, 8, 11)  # Tuesday 11:00
    requested = read_requested_time(said, now, NY)
    assert requested is not None, said
    assert callback_at(team_schedule(business, "billing"), now, requested) == (expected, honoured)


@pytest.mark.parametrize("said", ["Can someone call me back on +1 802 555 0199 please?",
                                  "my router is broken", "my order BB-10001 never came", "yes"])
def test_no_requested_time_is_read_where_none_was_asked(said: str) -> None:
    assert read_requested_time(said, local(2026, 12, 8, 11), NY) is None


# --- the engine ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    pack = load_pack(PACK)
    records = tmp_path_factory.mktemp("hours") / "records.db"
    operations = PackOperations(pack.operations, SqlOperations.open(f"sqlite:///{records}", pack.root,
                                                                    pack.operations.tables))
    return build_engine(pack, build_models(pack, operations), operations)


def run(engine: Engine, now: datetime, *lines: str, channel: str = "chat") -> tuple[list[str], list[object]]:
    state = ConversationState()
    context = TurnContext(now=now, channel=channel)
    replies, events = list(engine.greet(state, context).replies), []
    for line in lines:
        result = engine.handle(state, line, context)
        replies += result.replies
        events += result.events
    return replies, events


def test_a_hand_off_uses_the_team_s_hours(engine: Engine) -> None:
    early = local(2026, 12, 8, 7, 30)
    _, events = run(engine, early, "I have a question about my bill")
    billing = [e for e in events if isinstance(e, Escalated)]
    assert billing and billing[0].tier == "billing" and billing[0].out_of_hours
    _, events = run(engine, early, "I want to talk to a person")
    technical = [e for e in events if isinstance(e, Escalated)]
    assert technical and technical[0].tier == "technical" and not technical[0].out_of_hours


def test_a_callback_is_booked_in_the_team_s_open_hours(engine: Engine) -> None:
    replies, events = run(engine, local(2026, 12, 11, 17),
                          "please have billing call me back, my number is 802 555 0123")
    booked = [e for e in events if isinstance(e, CallbackRequested)]
    assert booked and booked[0].due_at == local(2026, 12, 14, 11), "1h on Friday, 3h from Monday 08:00"
    assert any("Monday at 11:00" in r for r in replies)


def test_tomorrow_morning_is_honoured(engine: Engine) -> None:
    replies, events = run(engine, local(2026, 12, 8, 17),
                          "can the billing team ring me tomorrow morning? 802 555 0123")
    booked = [e for e in events if isinstance(e, CallbackRequested)]
    assert booked and booked[0].due_at == local(2026, 12, 9, 8)
    assert any("tomorrow at 08:00" in r and "as you asked" in r for r in replies)


def test_a_time_the_team_is_closed_is_said_back_with_the_earliest_one(engine: Engine) -> None:
    replies, events = run(engine, local(2026, 12, 8, 17),
                          "can the billing team ring me saturday morning? 802 555 0123")
    booked = [e for e in events if isinstance(e, CallbackRequested)]
    assert booked and booked[0].due_at == local(2026, 12, 14, 8)
    assert any("isn't available then" in r and "Monday at 08:00" in r for r in replies)


# --- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "error"), [
    ('      callback_sla: 4h\n', '      callback_sla: soon\n', "duration"),
    ('      holidays: []', '      holidays: ["2026-13-01"]', "holiday"),
    ('        phone: {opening_hours', '        fax: {opening_hours', "unknown channel"),
    ('mon: "07:00-22:00"', 'mon: "22:00-07:00"', "closes before it opens"),
])
def test_team_hours_are_validated(tmp_path: Path, old: str, new: str, error: str) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy)
    business = copy / "business.yaml"
    assert old in business.read_text()
    business.write_text(business.read_text().replace(old, new, 1))
    with pytest.raises(PackInvalid) as raised:
        load_pack(copy)
    assert error in str(raised.value)
