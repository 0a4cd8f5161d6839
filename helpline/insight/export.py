"""The weekly report as Markdown (to read or paste) and CSV (one row per item, a ``section`` column)."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from helpline.insight.report import Insight


def _channels(channels: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in channels.items())


def _cell(text: str) -> str:
    """A table cell: pipes and line breaks would break the Markdown table."""
    return " ".join(text.replace("|", "\\|").split())


def to_markdown(insight: Insight) -> str:
    zone = ZoneInfo(insight.timezone)
    start, end = insight.start.astimezone(zone), insight.end.astimezone(zone)
    lines = [f"# Weekly insight, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({insight.timezone})", "",
             "## Headline", ""]
    lines += [f"- **{k.label}**: {k.value}" + (f" ({k.note})" if k.note else "") for k in insight.kpis]
    lines += ["", "## Top contact reasons", ""]
    if insight.reasons:
        lines += ["| Reason | Contacts | Previous period | Trend | Channels |", "|---|---:|---:|---|---|"]
        lines += [f"| {_cell(r.label)} | {r.count} | {r.previous} | {r.trend} | {_channels(r.channels)} |"
                  for r in insight.reasons]
    else:
        lines.append("No contacts in this period.")
    lines += ["", "## Spikes", "", f"Rule: {insight.rule.describe()}.", ""]
    spikes = [(r, s) for r in insight.reasons for s in r.spikes]
    if spikes:
        lines += [f"- {s.window_end.astimezone(zone):%a %d %b %H:%M}: \"{_cell(r.label)}\", {s.count} contacts "
                  f"where {s.expected:.1f} were usual (p = {s.p_value:.1g})" for r, s in spikes]
    else:
        lines.append("No spikes.")
    lines += ["", "## Knowledge gaps", ""]
    if insight.gaps:
        for gap in insight.gaps:
            weak = f", {gap.low_confidence} answered with low confidence" if gap.low_confidence else ""
            times = "once" if gap.count == 1 else f"{gap.count} times"
            where = "1 conversation" if gap.conversations == 1 else f"{gap.conversations} conversations"
            lines.append(f"- **{_cell(gap.title)}**: asked {times} in {where}{weak}")
            lines += [f"  - {_cell(q)}" for q in gap.questions if q != gap.title]
    else:
        lines.append("No unanswered questions.")
    return "\n".join(lines) + "\n"


def to_csv(insight: Insight) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "label", "value", "previous", "detail"])
    for k in insight.kpis:
        writer.writerow(["kpi", k.label, k.value, "", k.note])
    for r in insight.reasons:
        writer.writerow(["reason", r.label, r.count, r.previous, _channels(r.channels)])
    for r in insight.reasons:
        for s in r.spikes:
            writer.writerow(["spike", r.label, s.count, f"{s.expected:.2f}",
                             f"window ending {s.window_end.isoformat()}; p={s.p_value:.2g}"])
    for gap in insight.gaps:
        writer.writerow(["knowledge_gap", gap.title, gap.count, "",
                         f"low confidence: {gap.low_confidence}; " + " | ".join(gap.questions)])
    return out.getvalue()
