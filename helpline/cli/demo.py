"""`helpline demo seed`: a realistic month of contacts for the demo business, so the dashboard, trends and QA
pages show real shapes.

Every contact is a real conversation run through the conversation service (understanding, engine, recorder),
with a scripted customer on chat, email, SMS or phone. The service's clock is the simulation's: each contact
starts at a moment drawn from a day's shape (busy late mornings and mid-afternoons in the business's time zone,
quiet nights), and each reply comes a channel's typical think time later (seconds on the phone, hours by email),
so handle times, hours and days are what they would have been. Some customers come back a few days later about the
same order, some say it still doesn't work, some ask for a person (taken by a teammate in open hours, after a wait;
left waiting otherwise), some answer the survey the pack asks (CSAT 1-5, NPS 0-10 or both). The contacts are
scored by QA at the end.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

if TYPE_CHECKING:
    from helpline.runtime import Runtime

demo_app = typer.Typer(help="The demo business: a month of contacts to look at.", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

# Contacts by local hour (relative weights): opening at 8, a late-morning and a mid-afternoon peak, evenings.
HOUR_WEIGHTS = (1, 0, 0, 0, 0, 1, 2, 4, 7, 10, 12, 11, 8, 9, 11, 10, 8, 6, 5, 5, 4, 3, 2, 1)
CHANNEL_WEIGHTS = {"chat": 40, "phone": 25, "email": 20, "sms": 15}
# Seconds a customer takes to answer, by channel (low, high).
THINK_SECONDS = {"chat": (8, 70), "phone": (3, 12), "sms": (40, 420), "email": (900, 4 * 3600)}
TEAM_ACCEPTS = 0.7  # of hand-offs in open hours, taken by a teammate
TEAM_WAIT_SECONDS = (6, 150)  # how long until they do
SURVEY_ANSWERED = 0.35
NPS_AFTER_CSAT = 0.7  # of those who rated 1-5, answer the next question too (a pack that asks both)
# 0-10 answers (relative weights): a happy contact is mostly a promoter, an unhappy one a detractor
NPS_WEIGHTS_GOOD = (0, 0, 0, 0, 0.1, 0.2, 0.4, 1, 2.5, 3, 3)
NPS_WEIGHTS_BAD = (1, 1, 1.5, 2, 2, 1.5, 1, 0.6, 0.3, 0.1, 0.1)
REPEAT_GAP = timedelta(days=8)  # longer than the dashboard's 7-day window for repeat contacts


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    zip: str
    phone: str
    order: str  # one of theirs, in the state the scenario needs


def customers_by_order_status(data: Path) -> dict[str, tuple[Customer, ...]]:
    """The pack's own customers (data/customers.csv) with one of their orders, by the order's status
    (data/orders.csv): a scripted customer asks about an order that is really theirs, in the state the script
    expects. Empty when the pack has no such files (the scripts that need an order are then left out)."""
    try:
        with (data / "customers.csv").open(newline="") as handle:
            people = {row["id"]: row for row in csv.DictReader(handle)}
        with (data / "orders.csv").open(newline="") as handle:
            orders = list(csv.DictReader(handle))
    except (OSError, KeyError):
        return {}
    pools: dict[str, list[Customer]] = {}
    for order in orders:
        person = people.get(order.get("customer_id", ""))
        if person is None or not person.get("email"):
            continue
        pools.setdefault(order.get("status", ""), []).append(Customer(
            person.get("name", ""), person["email"], person.get("zip", ""), person.get("phone", ""), order["id"]))
    return {status: tuple(found) for status, found in pools.items()}


@dataclass(frozen=True)
class Scenario:
    """A scripted customer: what they say, in order ({name}, {email}, {zip}, {order} filled in)."""

    name: str
    lines: tuple[str, ...]
    order_status: str = ""  # the customer has an order in this state ("": an anonymous question)
    weight: int = 10
    wants_person: bool = False
    repeat_lines: tuple[str, ...] = ()  # a second contact days later about the same thing (some customers)
    satisfied: bool = True  # how a survey answer leans


MACHINE_OPENING = ("my espresso machine won't turn on", "it's the Espresso One",
                   "it's plugged straight into the wall, still nothing", "the tank is clicked in, still dead")
SCENARIOS = (
    Scenario("where is my order", ("hi, where's my order {order}?", "{email}", "ok thanks, that's all"), "shipped",
             weight=16, repeat_lines=("my order {order} still hasn't arrived", "{email}",
                                      "it's been days, still nothing", "yes please")),
    Scenario("return policy", ("what's your return policy?", "great, thank you bye"), weight=10),
    Scenario("price question", ("how much is the espresso one in red?", "thanks, that's all"), weight=8),
    Scenario("cancel", ("I need to cancel an order", "{name}", "{zip}", "{order}", "found it cheaper elsewhere",
                        "yes please", "no that's everything"), "pending", weight=6),
    Scenario("machine fixed by a reset", (*MACHINE_OPENING, "yes that worked, it's on now!", "no that's all thanks"),
             weight=6),
    # "resolved" by the agent, but the customer's last words say otherwise: not first-contact resolution
    Scenario("machine fixed for a minute", (*MACHINE_OPENING, "yes that worked, it's on now!",
                                            "oh no, it just switched off again, still not working"),
             weight=3, satisfied=False),
    Scenario("machine needs a technician", (*MACHINE_OPENING, "no", "no", "yes please", "512 555 0142",
                                            "no that's all"), weight=4,
             repeat_lines=("the espresso machine still won't turn on, nobody called me back",)),
    Scenario("wifi pairing", ("how do I connect my espresso machine to my wifi?", "great, that worked, thanks"),
             weight=6),
    Scenario("descaling", ("how often should I descale the machine?", "perfect, thanks"), weight=5),
    Scenario("manager", ("this is the third time I'm asking, I want to speak to a manager now",), weight=4,
             wants_person=True, satisfied=False),
    Scenario("a person please", ("can I talk to a real person please",), weight=4, wants_person=True),
    Scenario("gift cards", ("do you sell gift cards?", "ok cool, bye"), weight=4),
    Scenario("delivered order question", ("hi, question about order {order}", "{email}", "yes it arrived fine",
                                          "no that's all"), "delivered", weight=5),
)


@dataclass
class Clock:
    """The simulation's clock, read by the conversation service for every stored time."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Planned:
    at: datetime
    channel: str
    scenario: Scenario
    customer: Customer | None
    lines: tuple[str, ...]


@dataclass
class SeedReport:
    contacts: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    taken_by_person: int = 0
    surveys: int = 0
    nps_answers: int = 0
    repeats: int = 0
    failed: int = 0


def plan_month(rng: random.Random, first: date, days: int, per_day: int, zone: ZoneInfo, until: datetime,
               pools: dict[str, tuple[Customer, ...]]) -> list[Planned]:
    """The contacts to run, in time order: about ``per_day`` a day (fewer on Sundays), shaped by the hour."""
    planned: list[Planned] = []
    channels, channel_weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    scenarios = [s for s in SCENARIOS if not s.order_status or pools.get(s.order_status)]
    cancelled: set[str] = set()  # a pending order is cancelled once
    # The pack has few customers: one is not picked again within a week of their last contact, so the only
    # repeat contacts are the scripted ones (a customer coming back about the same order).
    last_seen: dict[str, datetime] = {}
    for offset in range(days):
        day = first + timedelta(days=offset)
        count = max(1, round(rng.gauss(per_day * (0.5 if day.weekday() == 6 else 1.0), per_day / 5)))
        for _ in range(count):
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            at = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), zone).astimezone(UTC)
            scenario = rng.choices(scenarios, weights=[s.weight for s in scenarios])[0]
            customer = None
            if scenario.order_status:
                free = [c for c in pools[scenario.order_status] if c.order not in cancelled
                        and (c.email not in last_seen or abs(at - last_seen[c.email]) > REPEAT_GAP)]
                if not free:
                    continue
                customer = rng.choice(free)
                last_seen[customer.email] = at
                if scenario.order_status == "pending":
                    cancelled.add(customer.order)
            channel = rng.choices(channels, weights=channel_weights)[0]
            planned.append(Planned(at, channel, scenario, customer, scenario.lines))
            if scenario.repeat_lines and rng.random() < 0.3:
                again = at + timedelta(days=rng.uniform(1, 5), hours=rng.uniform(-3, 3))
                if customer is not None:
                    last_seen[customer.email] = again
                planned.append(Planned(again, rng.choices(channels, weights=channel_weights)[0], scenario,
                                       customer, scenario.repeat_lines))
    return sorted((p for p in planned if p.at < until), key=lambda p: p.at)


def _fill(line: str, customer: Customer | None) -> str:
    if customer is None:
        return line
    return line.format(name=customer.name, email=customer.email, zip=customer.zip, order=customer.order)


def _contact(channel: str, customer: Customer | None) -> dict[str, str]:
    """What the channel itself knows of the customer: the email's sender, the text's or call's number."""
    if customer is None:
        return {}
    if channel == "email":
        return {"email": customer.email}
    if channel in ("sms", "phone"):
        return {"phone": customer.phone}
    return {}


def _open_hours(runtime: Runtime, moment: datetime) -> bool:
    from helpline.conversation.hours import is_open

    return is_open(runtime.pack.business, moment)


def _person_takes(runtime: Runtime, clock: Clock, rng: random.Random, conversation_id: str) -> bool:
    """A teammate takes the hand-off from the inbox after a wait, answers and resolves, as in the console."""
    from sqlalchemy import select

    from helpline.store.models import Handoff
    from helpline.store.repositories import HandoffRepository, TicketRepository

    with runtime.db.session() as session:
        handoff_id = session.scalar(select(Handoff.id).where(Handoff.conversation_id == conversation_id,
                                                            Handoff.accepted_at.is_(None)))
    if handoff_id is None:
        return False
    clock.advance(rng.uniform(*TEAM_WAIT_SECONDS))
    actor, email = "console:dana@brightbean.example", "dana@brightbean.example"
    with runtime.db.session() as session:
        HandoffRepository(session).accept(handoff_id, actor=actor, accepted_by=email, now=clock())
    service = runtime.conversations
    service.take_over(conversation_id, email, "Dana", actor)
    clock.advance(rng.uniform(20, 90))
    service.human_reply(conversation_id, email, "Dana", "Hi, Dana here from the team. I've read the notes and "
                        "I've sorted it out for you; you'll have an email confirming it shortly.", actor)
    clock.advance(rng.uniform(30, 240))
    service.end(conversation_id, actor=actor, reason="resolved")
    with runtime.db.session() as session:
        repo = TicketRepository(session)
        for ticket in repo.list(actor=actor, conversation_id=conversation_id, limit=1):
            repo.update(ticket.id, actor=actor, status="resolved", resolution="Resolved by Dana",
                        steps_taken=[*ticket.steps_taken, "Resolved by Dana"], now=clock())
    return True


def run_one(runtime: Runtime, clock: Clock, rng: random.Random, planned: Planned, report: SeedReport) -> None:
    from helpline.conversation.ports import ClientIdentity, ClientKind

    service = runtime.conversations
    clock.now = planned.at
    contact = _contact(planned.channel, planned.customer)
    clients = (ClientIdentity(ClientKind.LOCAL, f"demo:{rng.randrange(10**6)}"),)
    view = service.start(planned.channel, actor="demo", contact=contact, clients=clients)
    low, high = THINK_SECONDS[planned.channel]
    ended = False
    for line in planned.lines:
        clock.advance(rng.uniform(low, high))
        turn = service.post(view.id, _fill(line, planned.customer), actor="demo")
        if turn.ended:
            ended = True
            break
    escalated = _handed_off(runtime, view.id)
    if escalated:
        report.escalated += 1
        if _open_hours(runtime, clock()) and rng.random() < TEAM_ACCEPTS and _person_takes(runtime, clock, rng,
                                                                                           view.id):
            report.taken_by_person += 1
            ended = True
    if not ended:
        clock.advance(rng.uniform(low, high))
        service.end(view.id, actor="demo")
    if not escalated and rng.random() < SURVEY_ANSWERED:
        _answer_survey(runtime, clock, rng, view.id, planned, report)
    report.contacts += 1
    report.by_channel[planned.channel] = report.by_channel.get(planned.channel, 0) + 1
    report.repeats += planned.lines != planned.scenario.lines


def _answer_survey(runtime: Runtime, clock: Clock, rng: random.Random, conversation_id: str, planned: Planned,
                   report: SeedReport) -> None:
    """The customer answers what the pack's survey asks: CSAT 1-5, NPS 0-10, or CSAT and (mostly) NPS."""
    asks = runtime.pack.business.outbound.survey_asks
    good = planned.scenario.satisfied and planned.lines == planned.scenario.lines
    if asks != "nps":
        score = rng.choices((5, 4, 3, 2, 1), weights=(6, 3, 1, 0.3, 0.2) if good else (0.5, 1, 2, 3, 3))[0]
        runtime.conversations.rate(conversation_id, score, actor="demo")
        report.surveys += 1
    if asks == "nps" or (asks == "both" and rng.random() < NPS_AFTER_CSAT):
        answer = rng.choices(range(11), weights=NPS_WEIGHTS_GOOD if good else NPS_WEIGHTS_BAD)[0]
        if _answer_nps(runtime, conversation_id, answer, clock()):
            report.nps_answers += 1


def _answer_nps(runtime: Runtime, conversation_id: str, answer: int, now: datetime) -> bool:
    from sqlalchemy import select

    from helpline.outbound.surveys import record_nps_answer
    from helpline.store.models import Ticket

    with runtime.db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.conversation_id == conversation_id).limit(1))
        return ticket is not None and record_nps_answer(session, ticket, answer, actor="demo", now=now)


def _handed_off(runtime: Runtime, conversation_id: str) -> bool:
    from sqlalchemy import select

    from helpline.store.models import Handoff

    with runtime.db.session() as session:
        return session.scalar(select(Handoff.id).where(Handoff.conversation_id == conversation_id)) is not None


def _order_statuses(runtime: Runtime) -> dict[str, str]:
    """Each order's status in the business's tables now ({} when the pack keeps no ``orders`` table there)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if runtime.operations.sql is None:
        return {}
    try:
        with runtime.operations.sql.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, status FROM orders"))
            return {str(order): str(status) for order, status in rows}
    except SQLAlchemyError:
        return {}


def seed_demo(runtime: Runtime, clock: Clock, days: int, per_day: int, seed: int, end: date,
              progress: Callable[[int, int], None] | None = None) -> SeedReport:
    """Run about ``per_day`` conversations a day for ``days`` days ending on ``end`` (the business's days)."""
    rng = random.Random(seed)
    zone = ZoneInfo(runtime.pack.business.timezone)
    first = end - timedelta(days=days - 1)
    until = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    pools = customers_by_order_status(runtime.pack.root / "data")
    now = _order_statuses(runtime)  # a month seeded before cancelled some orders: script only what still fits
    pools = {status: tuple(c for c in found if now.get(c.order, status) == status) for status, found in pools.items()}
    plan = plan_month(rng, first, days, per_day, zone, until, pools)
    report = SeedReport()
    for index, planned in enumerate(plan):
        run_one(runtime, clock, rng, planned, report)
        if progress is not None:
            progress(index + 1, len(plan))
    return report


def _print(report: SeedReport, seconds: float, scored: int) -> None:
    channels = ", ".join(f"{n} {c}" for c, n in sorted(report.by_channel.items()))
    console.print(f"Seeded {report.contacts} contacts ({channels}) in {seconds:.0f} s: {report.escalated} handed to "
                  f"a person ({report.taken_by_person} taken by a teammate), {report.repeats} repeat contacts, "
                  f"{report.surveys} CSAT and {report.nps_answers} NPS survey answers; {scored} scored by QA.")


@demo_app.command("seed")
def seed_command(
    pack: Annotated[Path, typer.Option("--pack", help="Business pack folder.")] = Path("examples/demo"),
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite in ./var).")] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="How many days of contacts.")] = 30,
    per_day: Annotated[int, typer.Option("--per-day", min=1, max=200, help="About how many contacts a day.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="The random seed (the same seed, the same month).")] = 7,
    end: Annotated[str | None, typer.Option("--end", help="The last day (YYYY-MM-DD; default: yesterday).")] = None,
) -> None:
    """Fill the demo business with a month of real conversations (chat, email, SMS, phone), then score them."""
    import logging
    import time as clock_time

    from helpline.pack.loader import PackInvalid
    from helpline.qa.review import QaReviewer
    from helpline.runtime import build_runtime
    from helpline.store.db import SQLITE_SYNCHRONOUS_ENV

    logging.basicConfig(level="WARNING")
    # A demo month can be seeded again: not worth an fsync per turn on SQLite (WAL stays consistent either way).
    os.environ.setdefault(SQLITE_SYNCHRONOUS_ENV, "normal")
    try:
        last = date.fromisoformat(end) if end else datetime.now(UTC).date() - timedelta(days=1)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {end!r} (use YYYY-MM-DD)", param_hint="--end") from exc
    clock = Clock()
    started = clock_time.perf_counter()
    try:
        with console.status("Loading the business pack and models…"):
            runtime = build_runtime(pack, db, clock=clock)
    except (PackInvalid, FileNotFoundError) as exc:
        err_console.print(f"[red]Cannot load the pack {pack}: {exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        with console.status("Running conversations…") as status:
            report = seed_demo(runtime, clock, days, per_day, seed, last,
                               lambda done, total: status.update(f"Running conversations… {done}/{total}"))
        reviewer = QaReviewer.for_pack(runtime.db, runtime.pack, node="demo")
        scored = 0
        while (batch := reviewer.run_once()).scored or batch.skipped:
            scored += batch.scored
    finally:
        runtime.db.dispose()
    _print(report, clock_time.perf_counter() - started, scored)

