"""The KPI headline: the cards the dashboard shows and the weekly insight report leads with, computed once so the
two never disagree (the report used to count email and SMS in its handle time; the headline's AHT is of the live
channels, ``kpis.LIVE_CHANNELS``, as an email or SMS contact's time runs across replies hours apart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from helpline.analytics import kpis

# Why the NPS card is empty, by what the pack's surveys ask (outbound.survey_asks in business.yaml).
NO_NPS_ANSWERS = {
    "csat": "no 0–10 answers: the surveys ask CSAT 1–5 (outbound.survey_asks in business.yaml)",
    "nps": "no 0–10 answers yet: the surveys ask NPS 0–10",
    "both": "no 0–10 answers yet: the surveys ask CSAT 1–5, then NPS 0–10",
}


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    note: str = ""


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


def headline(contacts: Sequence[kpis.Contact], *, answer_seconds: int, goal: float,
             survey_asks: str = "csat") -> list[Kpi]:
    """The headline cards of these contacts; ``answer_seconds`` and ``goal`` are the pack's call service level."""
    score = kpis.csat(contacts)
    nps, nps_answers = kpis.net_promoter_score(contacts)
    qa = kpis.qa_mean(contacts)
    reviewed = sum(1 for c in contacts if c.qa_score is not None)
    calls = sum(1 for c in contacts if c.channel in kpis.CALL_CHANNELS)
    return [
        Kpi("Contacts", str(len(contacts))),
        Kpi("Containment", pct(kpis.containment_rate(contacts)), "finished by the AI without a person, and solved"),
        Kpi("Escalation", pct(kpis.escalation_rate(contacts)), "handed to a person"),
        Kpi("First-contact resolution", pct(kpis.first_contact_resolution(contacts)),
            "resolved and solved: no repeat within 7 days, no 'still broken', no negative survey"),
        Kpi("Service level", pct(kpis.service_level(contacts, answer_seconds)),
            f"of {calls} calls answered within {answer_seconds} s (goal {goal * 100:.0f}%)"),
        Kpi("Abandonment", pct(kpis.abandonment_rate(contacts)), "left before an answer or while waiting for a person"),
        Kpi("Average handle time", minutes(kpis.average_handle_time(contacts, kpis.LIVE_CHANNELS)),
            "chat and calls only: an email or SMS contact runs across replies hours apart"),
        Kpi("CSAT", "–" if score.mean is None else f"{score.mean:.1f} / 5",
            f"{pct(score.satisfied_share)} satisfied · {score.responses} ratings"),
        Kpi("NPS", "–" if nps is None else f"{nps:+.0f}", f"{nps_answers} answer{'' if nps_answers == 1 else 's'}"
            if nps_answers else NO_NPS_ANSWERS.get(survey_asks, NO_NPS_ANSWERS["csat"])),
        Kpi("QA score", "–" if qa is None else f"{qa:.0f} / 100", f"average of {reviewed} reviewed contacts"),
    ]
