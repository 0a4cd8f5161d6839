"""Small server-side SVG charts (no JavaScript, no CDN): stacked bars per day and horizontal bars.

Every label is XML-escaped here, so the returned markup is safe to insert into a page as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2")


def stacked_days(days: dict[date, dict[str, int]], series: Sequence[str], title: str,
                 width: int = 720, height: int = 240) -> str:
    left, bottom, top = 36, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([sum(v.values()) for v in days.values()] + [1])
    n = max(len(days), 1)
    bar = plot_w / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>']
    for tick in (0, peak // 2, peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, (day, counts) in enumerate(days.items()):
        x, y = left + i * bar, top + plot_h
        for s, name in enumerate(series):
            value = counts.get(name, 0)
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{day:%b %d} {escape(name)}: {value}</title>'
                         '</rect>')
        if n <= 16 or i % max(n // 8, 1) == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle">{day:%d %b}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span class="key"><svg width="10" height="10" aria-hidden="true"><rect width="10" '
                     f'height="10" fill="{PALETTE[s % len(PALETTE)]}"/></svg> {escape(name)}</span>'
                     for s, name in enumerate(series))
    return "".join(parts) + (f'<p class="legend">{legend}</p>' if series else "")


def horizontal_bars(items: Sequence[tuple[str, int]], title: str, width: int = 480) -> str:
    row, label_w = 24, 150
    height = max(len(items), 1) * row + 8
    peak = max([v for _, v in items] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>']
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
