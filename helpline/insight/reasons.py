"""Recurring contact reasons: why each contact came in, grouped by meaning, counted per day and channel.

A contact's reason is the first thing the customer wrote that was not a greeting or an acknowledgement (their
own words show a new problem no procedure matches yet); a contact without such a line falls back to its ticket's
summary (a procedure's title). Groups are labelled with their most typical line, masked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.conversation.ports import Embedder
from helpline.insight.clusters import MAX_DISTINCT, group_texts
from helpline.insight.spikes import Spike, SpikeRule, spike_at, spikes_between
from helpline.insight.texts import NOT_REASON_INTENTS, PersonalData, is_erased, is_social, normalised
from helpline.store.models import Message, Ticket

REASON_CHARS = 300  # MiniLM reads 128 tokens; the opening of a long email says why it was sent
FIRST_LINES = 4  # customer lines read per contact to find the reason
_NO_REASON = {"", "new contact", "contact with no request", "[erased]"}
_CHUNK = 500  # conversation ids per IN (...) query


@dataclass(frozen=True)
class ContactReason:
    ticket_id: str
    created_at: datetime
    channel: str
    text: str  # the customer's words (secrets already redacted), or the ticket summary


@dataclass
class ReasonCluster:
    label: str  # the most typical reason, masked
    contacts: list[ContactReason]
    examples: list[str] = field(default_factory=list)  # other distinct phrasings, masked
    spike: Spike | None = None  # a spike in the window ending now (or at the end of the period)
    spikes: list[Spike] = field(default_factory=list)  # every spike window in the period

    def count(self, start: datetime, end: datetime) -> int:
        return sum(1 for c in self.contacts if start <= c.created_at < end)

    def per_day(self, days: Sequence[date], zone: tzinfo, start: datetime, end: datetime) -> list[int]:
        counts = Counter(c.created_at.astimezone(zone).date() for c in self.contacts if start <= c.created_at < end)
        return [counts.get(day, 0) for day in days]

    def channels(self, start: datetime, end: datetime) -> dict[str, int]:
        return dict(Counter(c.channel for c in self.contacts if start <= c.created_at < end).most_common())


def _reason_line(lines: Sequence[tuple[str, str | None]]) -> str:
    for text, intent in lines:
        if not is_erased(text) and not is_social(text, intent) and intent not in NOT_REASON_INTENTS:
            return text[:REASON_CHARS]
    return ""


def load_reasons(session: Session, since: datetime, until: datetime) -> list[ContactReason]:
    """Every contact (ticket, duplicates merged away) created in [since, until) with its reason, oldest first."""
    tickets = list(session.execute(
        select(Ticket.id, Ticket.conversation_id, Ticket.created_at, Ticket.channel, Ticket.summary)
        .where(Ticket.created_at >= since, Ticket.created_at < until, Ticket.merged_into_id.is_(None))
        .order_by(Ticket.created_at)))
    lines: dict[str, list[tuple[str, str | None]]] = {}
    ids = [t.conversation_id for t in tickets if t.conversation_id]
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(select(Message.conversation_id, Message.text, Message.meta)
                               .where(Message.conversation_id.in_(ids[start:start + _CHUNK]),
                                      Message.role == "customer")
                               .order_by(Message.conversation_id, Message.seq))
        for conversation_id, text, meta in rows:
            first = lines.setdefault(conversation_id, [])
            if len(first) < FIRST_LINES:
                first.append((text, (meta or {}).get("intent")))
    reasons = []
    for t in tickets:
        text = _reason_line(lines.get(t.conversation_id or "", []))
        if not text and t.summary.strip().lower() not in _NO_REASON:
            text = t.summary[:REASON_CHARS]
        if text:
            reasons.append(ContactReason(t.id, t.created_at, t.channel, text))
    return reasons


def cluster_reasons(reasons: Sequence[ContactReason], embedder: Embedder, personal: PersonalData,
                    threshold: float | None = None) -> list[ReasonCluster]:
    """Reasons grouped by meaning, the most contacts first. Identical lines are embedded once; beyond
    ``MAX_DISTINCT`` distinct lines the rarest are left out (they would be groups of one)."""
    by_line: dict[str, list[ContactReason]] = {}
    for reason in reasons:
        by_line.setdefault(normalised(reason.text), []).append(reason)
    keys = sorted(by_line, key=lambda k: -len(by_line[k]))[:MAX_DISTINCT]
    weights = [len(by_line[k]) for k in keys]
    grouping = group_texts(embedder, [by_line[k][0].text for k in keys], weights, threshold=threshold)
    clusters = []
    for group in range(grouping.groups):
        members = grouping.members(group)
        typical = grouping.typical(group, weights)
        contacts = sorted((c for i in members for c in by_line[keys[i]]), key=lambda c: c.created_at)
        label = personal.mask(grouping.texts[typical])
        # other phrasings, as shown (masked): two lines that differ only by an order id are one phrasing
        shown = dict.fromkeys(personal.mask(grouping.texts[i])
                              for i in sorted(members, key=lambda i: -weights[i]) if i != typical)
        examples = [text for text in shown if normalised(text) != normalised(label)][:3]
        clusters.append(ReasonCluster(label=label, contacts=contacts, examples=examples))
    return clusters


def mark_spikes(clusters: Sequence[ReasonCluster], start: datetime, end: datetime,
                rule: SpikeRule = SpikeRule()) -> None:
    """Set each cluster's spike now (the window ending at ``end``) and its spikes over [start, end)."""
    for cluster in clusters:
        times = [c.created_at for c in cluster.contacts]
        cluster.spike = spike_at(times, end, rule)
        cluster.spikes = spikes_between(times, start, end, rule)
