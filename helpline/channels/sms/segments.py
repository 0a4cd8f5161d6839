"""How many SMS segments a text costs: GSM-7 (3GPP TS 23.038) when every character is in its alphabet, else
UCS-2 (UTF-16 code units).

One segment holds 160 GSM-7 septets or 70 UTF-16 units; a longer message is split into parts of 153 septets or
67 units (the rest is the concatenation header). An extension-table character (€, [, ], {, }, ...) costs two
septets and is never split across parts, nor is a surrogate pair (an emoji).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7, PART_GSM7 = 160, 153
SINGLE_UCS2, PART_UCS2 = 70, 67

# What providers' "smart encoding" substitutes: typographic characters that would force a whole message into
# UCS-2 (less than half the room) for no visible gain. Applied to what Helpline writes, never to what it reads.
SMART_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": "-",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
    "\t": " ",
}


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def smart_encode(text: str) -> str:
    return "".join(SMART_REPLACEMENTS.get(char, char) for char in text)


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _costs(text: str, encoding: Encoding) -> list[int]:
    """Each character's cost in its encoding's units."""
    if encoding is Encoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _parts(costs: list[int], part: int) -> int:
    """Parts of `part` units each, never splitting one character's units."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def count_segments(text: str) -> SegmentCount:
    encoding = Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
    costs = _costs(text, encoding)
    units = sum(costs)
    single, part = (SINGLE_GSM7, PART_GSM7) if encoding is Encoding.GSM7 else (SINGLE_UCS2, PART_UCS2)
    if units == 0:
        return SegmentCount(encoding, 1, 0)
    segments = 1 if units <= single else _parts(costs, part)
    return SegmentCount(encoding, segments, units)
