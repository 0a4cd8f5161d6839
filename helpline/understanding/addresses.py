"""Typed address parts: a street line, a city, a region (state), a postal code.

A free-text slot stores anything; the field reports showed "for the ORDER BB-10171 not my account"
saved as a street address and "stop. i want to change..." as a city. These readers accept only what
looks like the part asked for, so anything else is interpreted afresh as a new message.
"""

from __future__ import annotations

import re

US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID",
    "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN", "texas": "TX",
    "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA", "west virginia": "WV",
    "wisconsin": "WI", "wyoming": "WY", "district of columbia": "DC", "puerto rico": "PR",
}
_STATE_CODES = set(US_STATES.values())
# Words that show a message is a request or a remark, not a place or a street.
_NOT_A_PLACE = re.compile(
    r"(?i)\b(i|i'?m|i'?d|my|me|you|your|want|need|please|order|account|stop|cancel|change|not|no|yes|why|what"
    r"|how|wait|help|instead|wrong|mistake|never ?mind|forget|actually|person|human|agent|refund|return)\b"
)
_STREET = re.compile(
    r"(?i)^\s*(\d+[a-z]?(-\d+)?\s+([\w.'-]+\s*){1,6}"
    r"(,?\s*(apt|apartment|unit|suite|ste|#|floor|fl)\.?\s*[\w-]+)?)\s*[.,]?\s*$"
)
_STREET_WORDS = re.compile(
    r"(?i)\b(st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|way|ct|court|pl|place|ter|terrace"
    r"|pkwy|parkway|hwy|highway|cir|circle|sq|square|trl|trail|loop|row|walk|close|crescent|plaza|pike|run)\b\.?"
)
_POSTAL = re.compile(r"^\s*(\d{5})(-\d{4})?\s*\.?\s*$")
_ANSWER_LEAD = re.compile(r"(?i)^\s*(it'?s|its|it is|that'?s|that is|the (new )?(address|city|state|zip)( code)?"
                          r"( is)?|in|(please )?(send|ship|deliver|change|move) (it|them|the order)?\s*to|to)\s+")


def _answer(text: str) -> str:
    return _ANSWER_LEAD.sub("", text.strip()).strip(" .!")


def read_street_address(text: str) -> str | None:
    """"12 Oak Street, apt 4" -> the line; "for the ORDER BB-10171 not my account" -> None."""
    answer = _answer(text)
    if len(answer) > 120 or not _STREET.match(answer):
        return None
    without_number = re.sub(r"^\d+[a-z]?(-\d+)?\s+", "", answer)
    if _NOT_A_PLACE.search(without_number) and not _STREET_WORDS.search(answer):
        return None
    if re.search(r"[A-Z]{2}-\d{3,}", answer):  # an order or account id
        return None
    if answer == answer.lower():  # typed all in lower case: written as an address is ("953 Park Avenue")
        answer = " ".join(w[:1].upper() + w[1:] for w in answer.split(" "))
    return answer


def read_city(text: str) -> str | None:
    """"Austin" / "it's San Antonio" -> the city; "stop. i want to change..." -> None."""
    answer = _answer(text).split(",")[0].strip()
    words = answer.split()
    if not 1 <= len(words) <= 4 or _NOT_A_PLACE.search(answer):
        return None
    if not all(re.fullmatch(r"[A-Za-z][A-Za-z.'-]*", w) for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def read_region(text: str) -> str | None:
    """A US state by code or name ("tx", "Texas") -> "TX"."""
    answer = _answer(text).lower()
    if answer.upper() in _STATE_CODES and len(answer) == 2:
        return answer.upper()
    return US_STATES.get(answer)


def read_postal_code(text: str) -> str | None:
    answer = _answer(text)
    if re.fullmatch(r"(\d\s+){4}\d", answer.strip()):  # spoken or spaced out: "7 8 7 0 1"
        answer = answer.replace(" ", "")
    match = _POSTAL.match(answer)
    return match.group(1) + (match.group(2) or "") if match else None


def read_postal_address(text: str) -> str | None:
    """A whole address on one line: "12 Oak St, Austin, TX 78701"."""
    found = split_postal_address(text)
    if found:
        return found["postal_address"]
    answer = _answer(text)
    parts = [p.strip() for p in answer.split(",") if p.strip()]
    if not parts or len(answer) > 200 or read_street_address(parts[0]) is None:
        return None
    rest = ", ".join(parts[1:])
    if rest and _NOT_A_PLACE.search(rest):
        return None
    return answer


def split_postal_address(text: str) -> dict[str, str]:
    """A one-line address found in a message, by part: {"street_address", "city", "region",
    "postal_code", "postal_address"} ("change it to 410 W 6th St, Austin, TX 78701")."""
    match = _ADDRESS_IN_TEXT.search(text)
    if match is None:
        return {}
    street, city, region, postal = (match.group(g) for g in ("street", "city", "region", "postal"))
    parts = {"street_address": street.strip(), "city": read_city(city) or city.strip(),
             "postal_address": match.group(0).strip()}
    if region and read_region(region):
        parts["region"] = read_region(region) or region
    if postal:
        parts["postal_code"] = postal
    return parts


_STREET_IN_TEXT = (
    r"(?P<street>\b\d+[a-z]?\s+(?:[\w.'-]+\s+){0,4}?[\w.'-]*\b(?:st|street|ave|avenue|rd|road|blvd|boulevard|ln"
    r"|lane|dr|drive|way|ct|court|pl|place|ter|terrace|pkwy|parkway|hwy|highway|cir|circle|trl|trail|loop)\b\.?"
    r"(?:,?\s*(?:apt|apartment|unit|suite|ste|#)\.?\s*[\w-]+)?)"
)
_ADDRESS_IN_TEXT = re.compile(
    _STREET_IN_TEXT + r"\s*,?\s*(?P<city>[A-Za-z][A-Za-z .'-]*?)\s*,?\s+"
    r"(?P<region>" + "|".join(sorted([*US_STATES, *(v.lower() for v in US_STATES.values())], key=len, reverse=True))
    + r")\s*,?\s*(?P<postal>\d{5}(?:-\d{4})?)\b",
    re.I,
)
