"""Contact-center KPIs as plain functions over contacts (one per ticket), so they are easy to test.

The rules that keep the figures honest (the dashboard's help text says the same, from ``RULES``):

- A contact is **solved** only when its ticket is resolved AND nothing says the problem stayed: the same customer
  did not contact us again about the same kind of issue (same category) within ``REPEAT_WINDOW``, the contact is
  not itself a repeat (such a contact came within the window before it, or an earlier contact was folded into it),
  the customer's last message did not say it still doesn't work, and a survey did not come back negative (CSAT
  1-2 of 5, or 0-4 of 10 when asked).
- **First-contact resolution (FCR)**: solved contacts / contacts that ended resolved (a "resolved" ticket that was
  not solved counts against FCR).
- **Containment**: contacts the AI finished without a person AND solved / all contacts that ended.
- **Service level** (calls): calls answered within the pack's ``service_level.answer_seconds``; answered = the
  agent's first line (for a call: its first audio); a call handed to a person with no callback booked is answered in
  time only when a person also took it within the target.
- **Abandonment**: contacts the customer left before an answer: they wrote or spoke and got no reply, or they were
  waiting for a person who never took the contact and no callback was booked.
- **AHT**: mean handle time (start to end) of contacts with a recorded time; the dashboard's headline AHT is of
  the live channels (chat, calls), as an email or SMS contact's time runs across replies hours apart;
- **NPS**: % promoters (9-10) minus % detractors (0-6) of 0-10 answers, where such answers exist (the surveys
  ask CSAT 1-5 today).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

REPEAT_WINDOW = timedelta(days=7)
NEGATIVE_CSAT = 2  # and below, of 5
NEGATIVE_NPS = 4  # and below, of 10
CALL_CHANNELS = frozenset({"phone", "voice"})
# Where handle time is time spent with the customer; an email or SMS contact's time runs across replies hours apart
LIVE_CHANNELS = frozenset({"chat", "phone", "voice", "api"})
# The customer's own words that a problem is not solved, read on their last message of the contact.
STILL_BROKEN = re.compile(
    r"\b(still (?:not|doesn'?t|does not|isn'?t|won'?t|can'?t|no|broken|nothing|the same)|"
    r"(?:didn'?t|did not|doesn'?t|does not) (?:work|help|fix)|not (?:fixed|solved|resolved|working)|"
    r"same (?:problem|issue) again|no change)\b", re.IGNORECASE)

RULES = (
    "A resolved ticket counts as solved only if the same customer did not contact us again about the same kind of "
    "issue within 7 days, it was not itself a repeat of an earlier contact (within 7 days, or joined to it), the "
    "customer's last message did not say it still doesn't work, and the survey (if answered) was not negative "
    "(1–2 of 5).",
    "First-contact resolution: solved / contacts that ended resolved. Containment: finished by the AI without a "
    "person and solved / all contacts that ended.",
    "Service level: calls whose first agent audio came within the target; a call waiting for a person (no callback "
    "booked) counts only if a person took it within the target too.",
    "Abandonment: the customer wrote or spoke and got no reply, or waited for a person who never took the contact "
    "and no callback was booked.",
    "A person taking a contact is read from the hand-off: accepted in the console, or a phone transfer the "
    "teammate answered.",
)


@dataclass(frozen=True)
class Contact:
    created_at: datetime
    channel: str
    category: str
    status: str
    escalated: bool
    handle_time_seconds: int = 0
    csat: int | None = None
    customer_id: str | None = None
    ended: bool = True
    # seconds from the contact's start (a call) or the customer's first message (text) to the first reply;
    # None: no reply came
    answer_wait_seconds: float | None = None
    customer_spoke: bool = True  # the customer wrote or said something
    person_wait_seconds: float | None = None  # hand-off to a person taking it; None: nobody took it
    callback_booked: bool = False
    last_customer_text: str = ""
    joined_earlier: bool = False  # an earlier contact on the same issue was folded into this one
    nps: int | None = None
    qa_score: float | None = None
    ticket_number: int | None = None
    # a repeat contact seen outside the list given (the loader looks a week either side of the period)
    repeat_elsewhere: bool = False


@dataclass(frozen=True)
class Csat:
    mean: float | None
    satisfied_share: float | None
    responses: int


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    contacts: int
    aht_seconds: float | None
    fcr: float | None
    containment: float | None
    abandonment: float | None
    service_level: float | None


@dataclass(frozen=True)
class DayRow:
    day: date
    contacts: int
    fcr: float | None
    csat: float | None
    service_level: float | None
    aht_seconds: float | None
    qa_score: float | None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def contacts_per_day(contacts: Sequence[Contact], start: date, end: date) -> dict[date, dict[str, int]]:
    """Every day from ``start`` to ``end`` inclusive (empty days too), counts by channel."""
    days: dict[date, dict[str, int]] = {}
    day = start
    while day <= end:
        days[day] = {}
        day += timedelta(days=1)
    for contact in contacts:
        bucket = days.get(contact.created_at.date())
        if bucket is not None:
            bucket[contact.channel] = bucket.get(contact.channel, 0) + 1
    return days


def contacts_per_hour(contacts: Sequence[Contact], hour_of: Callable[[datetime], int]) -> dict[int, dict[str, int]]:
    """Hours 0-23 (in the business's time zone: ``hour_of``), counts by channel."""
    hours: dict[int, dict[str, int]] = {h: {} for h in range(24)}
    for contact in contacts:
        bucket = hours[hour_of(contact.created_at)]
        bucket[contact.channel] = bucket.get(contact.channel, 0) + 1
    return hours


def escalation_rate(contacts: Sequence[Contact]) -> float | None:
    return _share(sum(1 for c in contacts if c.escalated), len(contacts))


def still_broken(contact: Contact) -> bool:
    return bool(STILL_BROKEN.search(contact.last_customer_text))


def negative_survey(contact: Contact) -> bool:
    return (contact.csat is not None and contact.csat <= NEGATIVE_CSAT) or \
        (contact.nps is not None and contact.nps <= NEGATIVE_NPS)


def repeated(contacts: Sequence[Contact], window: timedelta = REPEAT_WINDOW) -> set[int]:
    """Indexes of the contacts with another from the same customer about the same kind of issue (same category)
    within ``window`` before or after: the earlier one was not solved, the later one is not a first contact."""
    by_customer: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for i, c in enumerate(contacts):
        if c.customer_id:
            by_customer[(c.customer_id, c.category)].append((c.created_at, i))
    return {i for i, c in enumerate(contacts) if c.customer_id and any(
        j != i and abs(t - c.created_at) <= window for t, j in by_customer[(c.customer_id, c.category)])}


def solved_flags(contacts: Sequence[Contact], window: timedelta = REPEAT_WINDOW) -> list[bool]:
    """For each contact: resolved, and nothing says the problem stayed (see the module's rules)."""
    again = repeated(contacts, window)
    return [c.status == "resolved" and i not in again and not c.repeat_elsewhere and not c.joined_earlier
            and not still_broken(c) and not negative_survey(c) for i, c in enumerate(contacts)]


def first_contact_resolution(contacts: Sequence[Contact], window: timedelta = REPEAT_WINDOW) -> float | None:
    solved = solved_flags(contacts, window)
    resolved = [i for i, c in enumerate(contacts) if c.status == "resolved"]
    return _share(sum(1 for i in resolved if solved[i]), len(resolved))


def containment_rate(contacts: Sequence[Contact], window: timedelta = REPEAT_WINDOW) -> float | None:
    solved = solved_flags(contacts, window)
    ended = [i for i, c in enumerate(contacts) if c.ended]
    return _share(sum(1 for i in ended if solved[i] and not contacts[i].escalated), len(ended))


def abandoned(contact: Contact) -> bool:
    if not contact.ended:
        return False  # still going: nobody has left yet
    no_reply = contact.customer_spoke and contact.answer_wait_seconds is None
    left_waiting = contact.escalated and contact.person_wait_seconds is None and not contact.callback_booked
    return no_reply or left_waiting


def abandonment_rate(contacts: Sequence[Contact]) -> float | None:
    ended = [c for c in contacts if c.ended]
    return _share(sum(1 for c in ended if abandoned(c)), len(ended))


def answered_in_time(contact: Contact, target_seconds: float) -> bool:
    if contact.answer_wait_seconds is None or contact.answer_wait_seconds > target_seconds:
        return False
    if contact.escalated and not contact.callback_booked:
        return contact.person_wait_seconds is not None and contact.person_wait_seconds <= target_seconds
    return True


def service_level(contacts: Sequence[Contact], target_seconds: float) -> float | None:
    """Share of calls answered within ``target_seconds`` (text channels have no service level here)."""
    calls = [c for c in contacts if c.channel in CALL_CHANNELS and c.ended]
    return _share(sum(1 for c in calls if answered_in_time(c, target_seconds)), len(calls))


def average_handle_time(contacts: Sequence[Contact], channels: frozenset[str] | None = None) -> float | None:
    """Mean handle time of the contacts with one (of ``channels`` only, when given)."""
    return _mean(c.handle_time_seconds for c in contacts
                 if c.handle_time_seconds > 0 and (channels is None or c.channel in channels))


def csat(contacts: Sequence[Contact]) -> Csat:
    ratings = [c.csat for c in contacts if c.csat is not None]
    if not ratings:
        return Csat(None, None, 0)
    return Csat(sum(ratings) / len(ratings), sum(1 for r in ratings if r >= 4) / len(ratings), len(ratings))


def net_promoter_score(contacts: Sequence[Contact]) -> tuple[float | None, int]:
    """NPS from -100 to 100 and how many answered (None when nobody answered a 0-10 question)."""
    answers = [c.nps for c in contacts if c.nps is not None]
    if not answers:
        return None, 0
    promoters = sum(1 for a in answers if a >= 9)
    detractors = sum(1 for a in answers if a <= 6)
    return 100 * (promoters - detractors) / len(answers), len(answers)


def qa_mean(contacts: Sequence[Contact]) -> float | None:
    return _mean(c.qa_score for c in contacts if c.qa_score is not None)


def qa_distribution(contacts: Sequence[Contact], width: int = 10) -> list[tuple[str, int]]:
    """QA scores in bands of ``width`` points: ('0-9', n) ... ('90-100', n)."""
    bands = [(lo, min(lo + width - 1, 100) if lo + width < 100 else 100) for lo in range(0, 100, width)]
    counts = Counter(min(int(c.qa_score // width), len(bands) - 1) for c in contacts if c.qa_score is not None)
    return [(f"{lo}–{hi}", counts.get(i, 0)) for i, (lo, hi) in enumerate(bands)]


def by_channel(contacts: Sequence[Contact], target_seconds: float,
               window: timedelta = REPEAT_WINDOW) -> list[ChannelRow]:
    """AHT, FCR, containment, abandonment and (calls) service level per channel. Repeat contacts are found across
    all channels first: a chat followed by a call about the same thing is not FCR on either."""
    solved = solved_flags(contacts, window)
    rows = []
    for channel in sorted({c.channel for c in contacts}):
        mine = [i for i, c in enumerate(contacts) if c.channel == channel]
        group = [contacts[i] for i in mine]
        resolved = [i for i in mine if contacts[i].status == "resolved"]
        ended = [i for i in mine if contacts[i].ended]
        rows.append(ChannelRow(
            channel, len(group), average_handle_time(group),
            _share(sum(1 for i in resolved if solved[i]), len(resolved)),
            _share(sum(1 for i in ended if solved[i] and not contacts[i].escalated), len(ended)),
            abandonment_rate(group), service_level(group, target_seconds)))
    return rows


def by_day(contacts: Sequence[Contact], start: date, end: date, target_seconds: float,
           day_of: Callable[[datetime], date] = lambda moment: moment.date(),
           window: timedelta = REPEAT_WINDOW) -> list[DayRow]:
    """The trend lines, one row a day from ``start`` to ``end`` (empty days too)."""
    solved = solved_flags(contacts, window)
    indexes: dict[date, list[int]] = defaultdict(list)
    for i, c in enumerate(contacts):
        indexes[day_of(c.created_at)].append(i)
    rows = []
    day = start
    while day <= end:
        mine = indexes.get(day, [])
        group = [contacts[i] for i in mine]
        resolved = [i for i in mine if contacts[i].status == "resolved"]
        rows.append(DayRow(day, len(group), _share(sum(1 for i in resolved if solved[i]), len(resolved)),
                           csat(group).mean, service_level(group, target_seconds),
                           average_handle_time(group, LIVE_CHANNELS),
                           qa_mean(group)))
        day += timedelta(days=1)
    return rows


def top_reasons(contacts: Sequence[Contact], n: int = 8) -> list[tuple[str, int]]:
    """Most frequent contact categories, most first (ties by name, for a stable chart)."""
    counts = Counter(c.category for c in contacts)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
