"""The facts of one contact, as a customer should read them: who they are, the problem in their words, what
was done for them, the plan (what, who, by when) and the reference — gathered from the ticket, the
conversation's saved state, the hand-off and the callback. Internal bookkeeping (``Started '…'``, operation
calls, policy checks, verification) never becomes a fact: only the requests' outcomes do."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.conversation.state import ConversationState
from helpline.pack.loader import BusinessPack
from helpline.pack.models import parse_duration
from helpline.store.models import Callback, Conversation, Customer, Handoff, Message, Ticket

PROBLEM_CHARS = 240
# Lines the engine keeps for staff (tickets/steps): never shown to a customer, whatever a pack resolution says.
INTERNAL_LINE = re.compile(
    r"^(Started '|Verified identity|Identity confirmed|Security code|Policy check|Pack error|Refused |"
    r"Escalated to |Callback (promised|booked)|Answered from |Could not answer|Customer (confirmed|corrected)\b)"
    r"|\b[a-z]+_[a-z_]+ (done|failed)\b"  # "cancel_order done (order_id=…)": an operation's log line
)
# A pack's resolution reads like a log ("Cancelled order BB-1 ($45.00), reason: …"): said to the customer
# as "We cancelled order BB-1 ($45.00)"; "Customer kept …" as "You kept …".
REASON_TAIL = re.compile(r",\s*reason:.*$", re.IGNORECASE)
PAST_TENSE = re.compile(r"^[A-Z][a-z]+(ed|ent|ave|ook|ade|old|ound)\b")
ORDINAL_TIME = "%A %-d %B at %-I:%M %p"
MIN_PROBLEM_WORDS = 4
MESSAGES_SEARCHED = 20
# A message that only asks for a person ("I want to speak to a manager right now") names no problem.
ASKS_FOR_PERSON = re.compile(
    r"^\W*((i\s+(want|need|would like|'d like)|let me|can i|could i)\s+(to\s+)?)?((speak|talk|chat)\s+(to|with)\s+)?"
    r"(a|an|the|some)?\s*(one|body|human|real person|person|manager|supervisor|agent|representative|someone|"
    r"somebody)(\s+(right\s+)?now|\s+please|\s+asap|\s+immediately)*\W*$",
    re.IGNORECASE)
PLAN_ROUNDING = timedelta(minutes=15)  # a promised time reads "2:15 PM", not "2:04 PM"


@dataclass(frozen=True)
class Plan:
    """What happens next, who does it and by when."""

    action: str  # "call you back", "look into this and reply to you"
    owner: str  # "our billing team"
    due: datetime | None
    due_text: str  # the due time in the business's time zone, e.g. "Tuesday 2 December at 2:00 PM CST"


@dataclass(frozen=True)
class ContactFacts:
    reference: int  # the ticket number, quoted in every message
    ticket_id: str
    conversation_id: str | None
    customer_id: str | None
    customer_name: str | None
    first_name: str | None
    email: str | None
    phone: str | None
    problem: str  # in the customer's words (redacted), or the ticket's summary when they gave none
    done: tuple[str, ...]  # what was done for them, in words for them
    status: str  # the ticket's: resolved | escalated | awaiting_callback | open
    plan: Plan | None
    channel: str
    ended_at: datetime | None
    missing: tuple[str, ...] = field(default_factory=tuple)  # facts we could not find (shown in the preview)
    language: str = ""  # the conversation's language ("" = the pack's): its template variant, when the pack has one
    csat: int | None = None  # the survey answers the ticket has already (a survey asks only what is missing)
    nps: int | None = None


def local_time(moment: datetime, pack: BusinessPack) -> str:
    """``moment`` as a customer reads it, in the business's time zone."""
    local = moment.astimezone(ZoneInfo(pack.business.timezone))
    return f"{local.strftime(ORDINAL_TIME)} {local.strftime('%Z')}".strip()


def customer_facing(line: str) -> str | None:
    """A resolution line said to the customer, or None for staff bookkeeping."""
    text = " ".join(line.split()).strip().rstrip(".")
    if not text or INTERNAL_LINE.search(text):
        return None
    text = REASON_TAIL.sub("", text)
    if text.startswith("Customer "):
        return "You " + text[len("Customer "):] + "."
    if PAST_TENSE.match(text):
        return "We " + text[0].lower() + text[1:] + "."
    return text[0].upper() + text[1:] + "."


def first_name_of(name: str | None) -> str | None:
    if not name or not name.strip():
        return None
    return name.strip().split()[0]


def _tier_owner(pack: BusinessPack, tier_name: str | None) -> str:
    """The team a hand-off went to, as a customer would name it: "Billing team (charges, …)" -> "our billing
    team"; a first word such as "Tier-2" keeps its case."""
    for tier in pack.business.escalation.tiers:
        if tier.name == tier_name and tier.description:
            short = tier.description.split(" (")[0].strip()
            first = short.split()[0]
            if first.istitle() and first.isalpha():
                short = short[0].lower() + short[1:]
            if short.endswith("support"):
                short += " team"
            return short if short.lower().startswith("our ") else f"our {short}"
    return f"the {pack.business.name} team"


class FactsReader:
    """Reads a ticket's facts in the caller's session (reads only: no audit entries of its own; the
    caller's listing of tickets is audited where it happens)."""

    def __init__(self, session: Session, pack: BusinessPack) -> None:
        self.session = session
        self.pack = pack

    def for_ticket(self, ticket: Ticket) -> ContactFacts:
        conversation = self.session.get(Conversation, ticket.conversation_id) if ticket.conversation_id else None
        state = ConversationState.from_json(conversation.state) if conversation is not None else ConversationState()
        customer = self.session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        record = state.customer or {}
        callback = self._callback(ticket)
        name = (customer.name if customer else None) or _record_name(record)
        # on file first; else what the customer gave us to be reached in this contact (a callback's details, an
        # address or number they wrote): a reply about their own words goes back to whoever wrote them
        said = state.known
        email = (customer.email if customer else None) or _text(record.get("email")) or (
            callback.email if callback else None) or _text(said.get("email"))
        phone = (customer.phone if customer else None) or _text(record.get("phone")) or (
            callback.phone if callback else None) or _text(said.get("phone"))
        missing: list[str] = []
        if not name:
            missing.append("the customer's name")
        if not email and not phone:
            missing.append("an email address or phone number")
        return ContactFacts(
            reference=ticket.number, ticket_id=ticket.id, conversation_id=ticket.conversation_id,
            customer_id=ticket.customer_id, customer_name=name, first_name=first_name_of(name), email=email,
            phone=phone, problem=self._problem(state, conversation, ticket), done=self._done(state, ticket),
            status=ticket.status, plan=self._plan(ticket, callback, conversation), channel=ticket.channel,
            ended_at=conversation.ended_at if conversation else ticket.closed_at, missing=tuple(missing),
            language=state.language, csat=ticket.csat, nps=ticket.nps,
        )

    def _problem(self, state: ConversationState, conversation: Conversation | None, ticket: Ticket) -> str:
        """The first thing the customer wrote that describes a problem: the engine's note of it, else their
        first message of a few words; "let me speak to a manager" is a wish, not the problem."""
        said: list[str] = [state.problem] if state.problem.strip() else []
        if conversation is not None:
            said += list(self.session.scalars(select(Message.text).where(
                Message.conversation_id == conversation.id, Message.role == "customer").order_by(Message.seq)
                .limit(MESSAGES_SEARCHED)))
        for text in said:
            if len(text.split()) >= MIN_PROBLEM_WORDS and not ASKS_FOR_PERSON.search(text):
                return _clip(text)
        titles = [r.title for r in state.requests if r.procedure_id != "knowledge"]
        return _clip("; ".join(dict.fromkeys(titles)) or ticket.summary or "your recent request")

    def _done(self, state: ConversationState, ticket: Ticket) -> tuple[str, ...]:
        lines: list[str] = []
        for request in state.requests:
            if request.outcome == "withdrawn":
                continue
            said = customer_facing(request.resolution) if request.resolution else None
            if said:
                lines.append(said)
        # A person who resolved it in the console wrote the ticket's resolution themselves.
        if not lines and ticket.resolution:
            lines += [s for part in ticket.resolution.split(";") if (s := customer_facing(part))]
        return tuple(dict.fromkeys(lines))

    def _callback(self, ticket: Ticket) -> Callback | None:
        return self.session.scalar(select(Callback).where(
            Callback.ticket_id == ticket.id, Callback.status.in_(("scheduled", "missed"))).order_by(Callback.due_at)
            .limit(1))

    def _plan(self, ticket: Ticket, callback: Callback | None, conversation: Conversation | None) -> Plan | None:
        if ticket.status == "resolved":
            return None
        handoff = self.session.scalar(select(Handoff).where(Handoff.ticket_id == ticket.id)
                                      .order_by(Handoff.created_at.desc()).limit(1))
        owner = _tier_owner(self.pack, handoff.tier if handoff else None)
        if callback is not None:
            return Plan("call you back", owner, callback.due_at, local_time(callback.due_at, self.pack))
        sla = parse_duration(self.pack.business.callback_sla)
        # from when the contact ended (the service's clock), else the ticket's last change
        start = (conversation.ended_at or conversation.last_activity_at) if conversation else ticket.updated_at
        due = _round_up(start + sla) if start else None
        action = "look into this and reply to you" if ticket.status == "escalated" else \
            "review your request and get back to you"
        return Plan(action, owner, due, local_time(due, self.pack) if due else "as soon as we can")


def _round_up(moment: datetime) -> datetime:
    step = PLAN_ROUNDING.total_seconds()
    seconds = moment.timestamp()
    return datetime.fromtimestamp(-(-seconds // step) * step, tz=moment.tzinfo)


def _record_name(record: dict[str, object]) -> str | None:
    name = _text(record.get("name")) or " ".join(
        part for part in (_text(record.get("first_name")), _text(record.get("last_name"))) if part)
    return name or None


def _text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PROBLEM_CHARS else text[:PROBLEM_CHARS].rsplit(" ", 1)[0] + "…"
