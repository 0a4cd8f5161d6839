"""Declared incidents as the engine sees them: who they concern (a scope over customer attributes), what
kind they are (an outage now, or maintenance planned for a window) and what is said, in which language.

Pure data and functions: the store declares incidents, the channel passes the active ones in the turn's
context, the engine (base.py, steps.py) decides whom to tell and how procedures change meanwhile.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the state module imports nothing of this one; only the type is needed here
    from helpline.conversation.state import ConversationState


class IncidentKind(StrEnum):
    OUTAGE = "outage"  # something is broken right now
    PLANNED_MAINTENANCE = "planned_maintenance"  # announced ahead, in effect only during its window


INCIDENT_KINDS = tuple(kind.value for kind in IncidentKind)

# Scope keys that name where a customer is. An unverified caller can say where they are ("I'm in Millbrook",
# a postcode), so only these keys are matched against what a caller says; the others (plan, product) need
# the verified customer's record.
LOCATION_ATTRIBUTES = frozenset({
    "region", "town", "city", "area", "district", "county", "state", "neighbourhood", "neighborhood",
    "postcode", "postal_code", "zip", "zip_code", "exchange",
})

POSTCODE_ATTRIBUTES = frozenset({"postcode", "postalcode", "zip", "zipcode"})  # as normalise() writes them

PREFIX_WILDCARD = "*"  # a scope value "SW1A*" matches every value starting with SW1A


def normalise(value: object) -> str:
    """Case, accents, spaces and punctuation do not matter: "Mill-brook " matches "millbrook"."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9*]", "", text.casefold())


def value_allowed(value: object, allowed: Sequence[str]) -> bool:
    """Whether one attribute value (or any item of a list value) is among the allowed ones."""
    if isinstance(value, list | tuple | set | frozenset):
        return any(value_allowed(item, allowed) for item in value)
    if value is None:
        return False
    said = normalise(value)
    if not said:
        return False
    for option in allowed:
        wanted = normalise(option)
        if wanted.endswith(PREFIX_WILDCARD):
            if said.startswith(wanted.rstrip(PREFIX_WILDCARD)):
                return True
        elif said == wanted:
            return True
    return False


def scope_matches(scope: Mapping[str, Sequence[str]], attributes: Mapping[str, object]) -> bool:
    """Whether a customer with these attributes is inside the scope.

    An empty scope is everyone. Otherwise every key of the scope must be an attribute of the customer with
    one of the allowed values (compared ignoring case, accents, spaces and punctuation; a value ending in
    ``*`` matches by prefix; a list attribute matches when any item does). A missing attribute is not a
    match: a customer we know nothing about is not told about an outage in one town.
    """
    if not scope:
        return True
    fields = {normalise(key): value for key, value in attributes.items()}
    for key, allowed in scope.items():
        value = fields.get(normalise(key))
        if value is None or not value_allowed(value, allowed):
            return False
    return True


def location_scope(scope: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]]:
    """The part of a scope a caller can speak to by saying where they are."""
    return {key: values for key, values in scope.items() if normalise(key) in {normalise(k) for k in
                                                                                LOCATION_ATTRIBUTES}}


def place_matches(scope: Mapping[str, Sequence[str]], places: Sequence[str]) -> bool | None:
    """Whether a place the caller named (a town, a postcode) is inside the scope's locations.

    None when the scope names no location (only the verified record can tell). A place counts when it is
    an allowed value of any location key: "Millbrook" for `region: [Millbrook]`, "05301" for `postcode`.
    """
    located = location_scope(scope)
    if not located:
        return None
    return any(value_allowed(place, allowed) for place in places for allowed in located.values())


def places_named(text: str, incidents: Sequence[Incident]) -> list[str]:
    """The scope locations of these incidents the text names ("no internet in Millbrook" -> Millbrook)."""
    words = f" {' '.join(normalise(w) for w in text.split())} "
    found: list[str] = []
    for incident in incidents:
        for values in location_scope(incident.scope).values():
            for value in values:
                wanted = " ".join(normalise(w) for w in str(value).split())
                if wanted and not wanted.endswith(PREFIX_WILDCARD) and f" {wanted} " in words \
                        and value not in found:
                    found.append(value)
    return found


@dataclass(frozen=True)
class Caller:
    """What the conversation knows about who is on the other end, for matching scopes."""

    record: Mapping[str, Any] | None = None  # the verified customer's record
    places: tuple[str, ...] = ()  # towns and postcodes the caller named


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    message: str
    affected: tuple[str, ...] = ()  # tags, procedure ids, categories; empty = any topic
    expected_fix: str | None = None
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # attribute -> values; empty = everyone
    kind: IncidentKind = IncidentKind.OUTAGE
    window_start: datetime | None = None  # planned maintenance: when it starts and ends
    window_end: datetime | None = None
    messages: Mapping[str, str] = field(default_factory=dict)  # language -> message; the first is the default

    def affects(self, tags: Sequence[str]) -> bool:
        return not self.affected or bool(set(self.affected) & set(tags))

    @property
    def scoped(self) -> bool:
        return bool(self.scope)

    @property
    def needs_place(self) -> bool:
        """Whether a caller can be placed in or out of the scope by saying where they are."""
        return bool(location_scope(self.scope))

    def applies_to(self, caller: Caller) -> bool | None:
        """True / False when we can tell whether the caller is inside the scope; None when we cannot yet."""
        if not self.scope:
            return True
        if caller.record is not None:
            fields = {normalise(key) for key in caller.record}
            if any(normalise(key) in fields for key in self.scope):
                return scope_matches(self.scope, caller.record)
            # the record says nothing the scope asks about: where the caller said they are still counts
        if not caller.places:
            return None
        located = place_matches(self.scope, caller.places)
        if located is None:
            return None  # a scope of plans or products: only the verified record can tell
        return located

    @property
    def area(self) -> str:
        """Where it is, as said to a customer: the towns and regions of the scope, else its postcodes."""
        located = location_scope(self.scope)
        names = [str(v) for key, values in located.items() if normalise(key) not in POSTCODE_ATTRIBUTES
                 for v in values]
        codes = [str(v) for key, values in located.items() if normalise(key) in POSTCODE_ATTRIBUTES
                 for v in values if not str(v).endswith(PREFIX_WILDCARD)]
        return ", ".join(names or codes)

    def in_effect(self, now: datetime) -> bool:
        """Whether it changes what the agent does now: an outage while declared, maintenance in its window."""
        if self.kind is IncidentKind.OUTAGE:
            return True
        if self.window_start is None or self.window_end is None:
            return False
        return self.window_start <= now < self.window_end

    def message_in(self, language: str) -> str:
        """The message in the customer's language, else the first one written, else `message`."""
        if language in self.messages:
            return self.messages[language]
        base = language.split("-")[0]
        if base in self.messages:
            return self.messages[base]
        return next(iter(self.messages.values()), self.message) if self.messages else self.message

    def has_message_in(self, language: str) -> bool:
        return language in self.messages or language.split("-")[0] in self.messages

    def facts(self, language: str, timezone: str, now: datetime) -> dict[str, Any]:
        """What reply templates see as `incident`: its fields, the message in `language`, the area it
        concerns and the maintenance window in the business's time ("Tuesday", "01:00", "04:00")."""
        zone = ZoneInfo(timezone)
        area = self.area
        facts: dict[str, Any] = {
            "id": self.id, "title": self.title, "message": self.message_in(language),
            "expected_fix": self.expected_fix, "affected": list(self.affected), "kind": self.kind.value,
            "planned": self.kind is IncidentKind.PLANNED_MAINTENANCE, "area": area,
            "scope": {k: list(v) for k, v in self.scope.items()}, "active": self.in_effect(now),
        }
        if self.window_start is not None and self.window_end is not None:
            start, end = self.window_start.astimezone(zone), self.window_end.astimezone(zone)
            facts.update(
                window_day=_day_name(start, now.astimezone(zone), language),
                window_when=_on_day(start, now.astimezone(zone), language), window_from=f"{start:%H:%M}",
                window_to=(f"{end:%H:%M}" if end.date() == start.date()
                           else f"{_day_name(end, start, language)} {end:%H:%M}"),
                window_start=start.isoformat(), window_end=end.isoformat(),
            )
        return facts


# Day and month names for the maintenance window, in the languages notices are most often written in;
# any other language gets English names inside its own wording.
_DAY_WORDS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "en": ("today", "tomorrow", ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
           ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December")),
    "es": ("hoy", "mañana", ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
           ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
            "noviembre", "diciembre")),
}


def _day_name(moment: datetime, reference: datetime, language: str = "en") -> str:
    """"today", "tomorrow", the weekday within a week, else "Tuesday 14 April" (English or Spanish)."""
    today, tomorrow, weekdays, months = _DAY_WORDS.get(language.split("-")[0], _DAY_WORDS["en"])
    days = (moment.date() - reference.date()).days
    if days == 0:
        return today
    if days == 1:
        return tomorrow
    weekday = weekdays[moment.weekday()]
    if 1 < days < 7:
        return weekday
    return f"{weekday} {moment.day} {months[moment.month - 1]}"


def _on_day(moment: datetime, reference: datetime, language: str = "en") -> str:
    """The day as said after "maintenance": "today", "tomorrow", "on Tuesday" ("hoy", "mañana", "el martes")."""
    name = _day_name(moment, reference, language)
    base = language.split("-")[0]
    words = _DAY_WORDS.get(base, _DAY_WORDS["en"])
    if name in words[:2]:
        return name
    return f"el {name}" if base == "es" else f"on {name}"


def applicable(incidents: Sequence[Incident], caller: Caller) -> list[Incident]:
    """The incidents this caller is known to be inside the scope of."""
    return [incident for incident in incidents if incident.applies_to(caller) is True]


def in_effect_for(incidents: Sequence[Incident], caller: Caller, now: datetime,
                  tags: Sequence[str] | None = None) -> list[Incident]:
    """Incidents in effect now that apply to the caller (and, with `tags`, affect that topic)."""
    return [incident for incident in applicable(incidents, caller)
            if incident.in_effect(now) and (tags is None or incident.affects(tags))]


def caller_from(state: ConversationState) -> Caller:
    """The caller as scopes see them: the verified record, and the places they named (a postcode too)."""
    places = list(state.places)
    postcode = state.known.get("postcode")
    if postcode and postcode not in places:
        places.append(postcode)
    return Caller(record=state.customer, places=tuple(places))
