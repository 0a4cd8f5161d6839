"""One period's insight (a week by default): KPIs headline, top contact reasons and their trend, spikes, knowledge
gaps. The console page and ``helpline insight report`` both show this."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from helpline.analytics.contacts import load_contacts
from helpline.analytics.headline import Kpi, headline
from helpline.conversation.ports import Embedder
from helpline.insight.gaps import GapCluster, Scorer, cluster_gaps, load_gap_questions
from helpline.insight.reasons import ReasonCluster, cluster_reasons, load_reasons, mark_spikes
from helpline.insight.spikes import Spike, SpikeRule
from helpline.insight.texts import PersonalData
from helpline.pack.loader import BusinessPack
from helpline.store.db import Database
from helpline.store.repositories import AuditLog

TOP_REASONS = 10


@dataclass(frozen=True)
class ReasonRow:
    label: str
    count: int  # in the period
    previous: int  # in the period before, as long
    per_day: list[int]  # in the period, one per day of ``Insight.days``
    channels: dict[str, int]
    examples: list[str]
    spike: Spike | None  # spiking at the end of the period (now, on the console)
    spikes: list[Spike] = field(default_factory=list)

    @property
    def trend(self) -> str:
        if not self.previous:
            return "new" if self.count else "–"
        change = (self.count - self.previous) / self.previous
        return f"{change:+.0%}"


@dataclass(frozen=True)
class Insight:
    start: datetime
    end: datetime
    timezone: str
    days: list[date]
    rule: SpikeRule
    kpis: list[Kpi]
    reasons: list[ReasonRow]
    gaps: list[GapCluster]
    contacts: int

    @property
    def spiking(self) -> list[ReasonRow]:
        return [r for r in self.reasons if r.spike is not None]

    def earlier_spikes(self, row: ReasonRow) -> list[Spike]:
        """The row's spikes in windows that ended before the current one."""
        return [s for s in row.spikes if s.window_end <= self.end - self.rule.window]

    @property
    def spiked(self) -> list[ReasonRow]:
        """Reasons that spiked earlier in the period (not only now)."""
        return [r for r in self.reasons if self.earlier_spikes(r)]


def period_headline(session: Session, start: datetime, end: datetime, pack: BusinessPack) -> tuple[list[Kpi], int]:
    """The KPI headline of the contacts created in the period: the dashboard's cards (analytics/headline.py)."""
    zone = ZoneInfo(pack.business.timezone)
    days = load_contacts(session, start.astimezone(zone).date(), end.astimezone(zone).date(), zone)
    contacts = [c for c in days if start <= c.created_at < end]
    level = pack.business.service_level
    return headline(contacts, answer_seconds=level.answer_seconds, goal=level.goal,
                    survey_asks=pack.business.outbound.survey_asks), len(contacts)


def _rows(clusters: list[ReasonCluster], start: datetime, end: datetime, days: list[date],
          zone: ZoneInfo, top: int) -> list[ReasonRow]:
    length = end - start
    rows = [ReasonRow(label=c.label, count=c.count(start, end), previous=c.count(start - length, start),
                      per_day=c.per_day(days, zone, start, end), channels=c.channels(start, end), examples=c.examples,
                      spike=c.spike, spikes=c.spikes) for c in clusters]
    rows = sorted((r for r in rows if r.count), key=lambda r: -r.count)
    # the top reasons, and any reason that spiked even if it is not among them
    return rows[:top] + [r for r in rows[top:] if r.spikes]


def build_insight(db: Database, pack: BusinessPack, embedder: Embedder, end: datetime, days: int = 7,
                  actor: str = "insight", rule: SpikeRule = SpikeRule(), top: int = TOP_REASONS,
                  scorer: Scorer | None = None) -> Insight:
    """Insight over the ``days`` ending at ``end``; reasons are grouped over the period, the one before (for the
    trend) and the spike rule's baseline, so a group means the same thing in all three. ``scorer`` (the knowledge
    base's confidence for a question) adds the questions answered with low confidence to the gaps."""
    start = end - timedelta(days=days)
    zone = ZoneInfo(pack.business.timezone)
    first_day = start.astimezone(zone).date()
    day_list = [first_day + timedelta(days=i) for i in range((end.astimezone(zone).date() - first_day).days + 1)]
    personal = PersonalData.for_pack(dict(pack.business.id_formats), pack.business.phone_region)
    history = min(start - (end - start), start - rule.baseline - rule.window)
    with db.session() as session:
        reasons = load_reasons(session, history, end)
        questions = load_gap_questions(session, start, end, scorer)
        kpi_cards, contacts = period_headline(session, start, end, pack)
        # Aggregates, but read from customers' words: say who looked.
        AuditLog(session).record(actor, "read", "message", "*", None,
                                 {"report": "insight", "from": start.isoformat(), "to": end.isoformat()})
    clusters = cluster_reasons(reasons, embedder, personal)
    mark_spikes(clusters, start, end, rule)
    return Insight(start=start, end=end, timezone=pack.business.timezone, days=day_list, rule=rule, kpis=kpi_cards,
                   reasons=_rows(clusters, start, end, day_list, zone, top),
                   gaps=cluster_gaps(questions, embedder, personal), contacts=contacts)
