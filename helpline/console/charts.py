"""Small server-side SVG charts (no JavaScript, no CDN): stacked bars, horizontal bars and trend lines.

Every label is XML-escaped here, so the returned markup is safe to insert into a page as is. Each chart carries
a <title> and a <desc> (named by aria-labelledby) and ``data_table`` gives the same figures as a table, the text
alternative a screen reader or a printout uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from xml.sax.saxutils import escape

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2")


def _open(width: int, height: int, title: str, desc: str) -> str:
    n = hashlib.blake2s(title.encode(), digest_size=4).hexdigest()  # ids unique on a page: titles are
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} '
            f'{height}" role="img" aria-labelledby="chart-t{n} chart-d{n}" class="chart">'
            f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc or title)}</desc>')


def _legend(series: Sequence[str]) -> str:
    if not series:
        return ""
    keys = "".join(f'<span class="key"><svg width="10" height="10" aria-hidden="true"><rect width="10" '
                   f'height="10" fill="{PALETTE[s % len(PALETTE)]}"/></svg> {escape(name)}</span>'
                   for s, name in enumerate(series))
    return f'<p class="legend">{keys}</p>'


def stacked_bars(buckets: Mapping[str, Mapping[str, int]], series: Sequence[str], title: str, desc: str = "",
                 width: int = 720, height: int = 240, every: int = 0) -> str:
    """One bar per bucket (in order), stacked by series; ``every``: label one bucket in so many (0: fit)."""
    left, bottom, top = 36, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([sum(v.values()) for v in buckets.values()] + [1])
    n = max(len(buckets), 1)
    bar = plot_w / n
    step = every or (1 if n <= 16 else max(n // 8, 1))
    parts = [_open(width, height, title, desc)]
    for tick in sorted({0, peak // 2, peak}):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, (label, counts) in enumerate(buckets.items()):
        x, y = left + i * bar, top + plot_h
        for s, name in enumerate(series):
            value = counts.get(name, 0)
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)} {escape(name)}: {value}</title>'
                         '</rect>')
        if i % step == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts) + _legend(series)


def stacked_days(days: dict[date, dict[str, int]], series: Sequence[str], title: str,
                 width: int = 720, height: int = 240) -> str:
    total = sum(sum(v.values()) for v in days.values())
    return stacked_bars({f"{day:%d %b}": counts for day, counts in days.items()}, series, title,
                        f"{total} contacts over {len(days)} days, stacked by channel: {', '.join(series) or 'none'}.",
                        width, height)


def horizontal_bars(items: Sequence[tuple[str, int]], title: str, width: int = 480, desc: str = "") -> str:
    row, label_w = 24, 150
    height = max(len(items), 1) * row + 8
    peak = max([v for _, v in items] + [1])
    summary = "; ".join(f"{label}: {value}" for label, value in items) or "no data"
    parts = [_open(width, height, title, desc or summary)]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = (width - label_w - 40) * value / peak
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:24])}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{PALETTE[0]}"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{value}</text>')
    if not items:
        parts.append('<text x="8" y="20">No contacts in this period.</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend_line(points: Sequence[tuple[date, float | None]], title: str, fmt: Callable[[float], str],
               y_max: float | None = None, goal: float | None = None, width: int = 340, height: int = 176) -> str:
    """A line over days; a day with no value leaves a gap (no contacts is not a zero). ``goal``: a dashed line."""
    left, bottom, top, right = 44, 24, 28, 8
    plot_w, plot_h = width - left - right, height - bottom - top
    values = [v for _, v in points if v is not None]
    peak = y_max if y_max is not None else max([*values, goal or 0, 1e-9])
    n = max(len(points) - 1, 1)
    known = [f"{day:%d %b} {fmt(v)}" for day, v in points if v is not None]
    desc = (f"{len(known)} days with a value; first {known[0]}, last {known[-1]}; lowest {fmt(min(values))}, "
            f"highest {fmt(max(values))}." if values else "No values in this period.")
    parts = [_open(width, height, title, desc),
             f'<text x="4" y="14" class="chart-title" font-size="12" font-weight="600">{escape(title)}</text>']

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / n, top + plot_h - plot_h * min(v, peak) / peak

    for tick in (0.0, peak / 2, peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(tick))}</text>')
    if goal is not None:
        y = xy(0, goal)[1]
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALETTE[4]}" '
                     f'stroke-dasharray="4 3"><title>goal {escape(fmt(goal))}</title></line>')
    runs: list[list[tuple[float, float]]] = [[]]
    for i, (day, v) in enumerate(points):
        if v is None:
            runs.append([])
            continue
        x, y = xy(i, v)
        runs[-1].append((x, y))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[0]}"><title>{day:%d %b}: '
                     f'{escape(fmt(v))}</title></circle>')
    for run in runs:
        if len(run) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>')
    if points:
        parts.append(f'<text x="{left}" y="{height - 6}">{points[0][0]:%d %b}</text>'
                     f'<text x="{width - right}" y="{height - 6}" text-anchor="end">{points[-1][0]:%d %b}</text>')
    parts.append("</svg>")
    return "".join(parts)


def data_table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The figures behind a chart as an HTML table inside a closed <details> (the chart's text alternative)."""
    head = "".join(f'<th scope="col">{escape(str(h))}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return (f'<details class="chart-data"><summary>{escape(caption)} as a table</summary><table class="grid">'
            f"<caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>")
