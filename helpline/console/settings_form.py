"""The settings page's forms read into business.yaml and back: opening hours per day and per team,
escalation teams and their phone/SIP/email targets, the time zone, and customer-facing texts whose template
code is shown as readable placeholders ("{business name}") instead of Jinja ("{{ business.name }}").

Pure functions (no request, no database): the router in settings.py validates the result with the pack
loader and saves it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}
TONES = ("warm", "formal", "concise")
TIER_TARGETS = ("description", "phone_extension", "sip_uri", "email", "callback_sla")
# A form always offers this many empty team rows, so a team can be added without any script.
NEW_TIER_ROWS = 1

# The names a greeting can use, as the owner reads them. Any other name already in a text keeps a label made
# from it ("order id"), so nothing the pack author wrote is lost by editing the words around it.
PLACEHOLDER_LABELS = {"business.name": "business name", "persona.name": "agent name"}
_JINJA_BLOCK = re.compile(r"\{%|\{#")
_JINJA_OUTPUT = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.S)
_CHIP = re.compile(r"\{([^{}]+)\}")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")
_SIP = re.compile(r"^sips?:[^\s@]+@[^\s@]+$|^sips?:[^\s@]+$")
_EXTENSION = re.compile(r"^\+?[0-9*#]{1,20}$")


class FormProblems(dict[str, list[str]]):
    """Errors by form field name ('' for the whole form), shown beside the field they are about."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


@dataclass(frozen=True)
class TemplateText:
    """A customer-facing text as the owner edits it, and the placeholders it may use."""

    text: str
    chips: tuple[str, ...]
    editable: bool  # False when the text uses template logic ({% if %}): the advanced editor only


def _label(expression: str) -> str:
    return PLACEHOLDER_LABELS.get(expression) or re.sub(r"[._]+", " ", expression).strip()


def to_chips(source: str | None) -> TemplateText:
    """``Hi, {{ business.name }}`` -> ``Hi, {business name}``, with the placeholders the text may use."""
    text = source or ""
    found = [_label(m.group(1)) for m in _JINJA_OUTPUT.finditer(text)]
    chips = tuple(dict.fromkeys([*PLACEHOLDER_LABELS.values(), *found]))
    if _JINJA_BLOCK.search(text) or any(not re.fullmatch(r"[\w.]+", m.group(1))
                                        for m in _JINJA_OUTPUT.finditer(text)):
        return TemplateText(text, chips, editable=False)
    return TemplateText(_JINJA_OUTPUT.sub(lambda m: "{" + _label(m.group(1)) + "}", text), chips, editable=True)


def from_chips(text: str, original: str | None) -> str:
    """The inverse of ``to_chips``: ``{business name}`` -> ``{{ business.name }}``. A placeholder that is
    neither a known one nor one the original text used is an error naming those that are."""
    known = {label: expression for expression, label in PLACEHOLDER_LABELS.items()}
    for match in _JINJA_OUTPUT.finditer(original or ""):
        known.setdefault(_label(match.group(1)), match.group(1))
    if "{{" in text or "{%" in text or "{#" in text:
        raise ValueError("write placeholders as {business name}, not as template code")

    def expression(match: re.Match[str]) -> str:
        label = " ".join(match.group(1).split()).lower()
        if label not in known:
            raise ValueError(f"unknown placeholder {{{match.group(1)}}}; use "
                             + ", ".join("{" + k + "}" for k in known))
        return "{{ " + known[label] + " }}"

    return _CHIP.sub(expression, text)


def timezones() -> list[str]:
    return sorted(available_timezones())


# --- hours ------------------------------------------------------------------------------------


def hours_rows(hours: Mapping[str, str] | None) -> list[tuple[str, str, str, str]]:
    """(day, day name, opens, closes) per day, empty for a closed day."""
    rows = []
    for day in DAYS:
        span = (hours or {}).get(day, "")
        opens, _, closes = span.partition("-")
        rows.append((day, DAY_NAMES[day], opens, closes))
    return rows


def _read_hours(form: Mapping[str, str], prefix: str, problems: FormProblems) -> dict[str, str]:
    hours = {}
    for day in DAYS:
        opens = form.get(f"{prefix}{day}_open", "").strip()
        closes = form.get(f"{prefix}{day}_close", "").strip()
        if not opens and not closes:
            continue  # closed that day
        for name, value in ((f"{prefix}{day}_open", opens), (f"{prefix}{day}_close", closes)):
            if not _TIME.match(value):
                problems.add(name, f"{DAY_NAMES[day]}: give a time like 08:00 (both empty = closed)")
        hours[day] = f"{opens.zfill(5)}-{closes.zfill(5)}"
    return hours


def _read_holidays(value: str) -> list[str]:
    return [h.strip() for h in value.replace("\n", ",").split(",") if h.strip()]


# --- escalation teams -------------------------------------------------------------------------


@dataclass
class TierRow:
    """One team as the form shows it: its row number in the form and what business.yaml holds for it."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.values.get("name") or "")

    @property
    def own_hours(self) -> bool:
        return self.values.get("opening_hours") is not None


def tier_rows(escalation: Mapping[str, Any] | None) -> list[TierRow]:
    tiers = list((escalation or {}).get("tiers") or [])
    rows = [TierRow(i, dict(t) if isinstance(t, Mapping) else {}) for i, t in enumerate(tiers)]
    return rows + [TierRow(len(rows) + i) for i in range(NEW_TIER_ROWS)]


def _target_problem(key: str, value: str) -> str:
    """Where a team is reached must be usable: the pack keeps these as free text, the phone and email don't."""
    if key == "email":
        try:
            validate_email(value, check_deliverability=False)  # no DNS: Helpline runs offline
        except EmailNotValidError as exc:
            return f"not an email address ({exc})"
    if key == "sip_uri" and not _SIP.match(value):
        return "a SIP address looks like sip:team@pbx.example.com"
    if key == "phone_extension" and not _EXTENSION.match(value):
        return "an extension or number: digits, optionally with a leading + (e.g. 201)"
    return ""


def _read_tiers(raw: Mapping[str, Any], form: Mapping[str, str],
                problems: FormProblems) -> tuple[dict[str, Any], list[int]]:
    """The escalation section from the form, and the form row of each tier kept (pack errors name tiers by
    their place in the saved list; this maps them back to the row shown)."""
    escalation = dict(raw.get("escalation") or {})
    before = {row.row: row.values for row in tier_rows(escalation)}
    tiers: list[dict[str, Any]] = []
    rows: list[int] = []
    count = int(form.get("tier_count", "0") or 0) if form.get("tier_count", "").isdigit() else 0
    for row in range(min(count, 100)):
        name = form.get(f"tier_{row}_name", "").strip()
        if not name or form.get(f"tier_{row}_remove"):
            continue  # an empty new row, or a team removed
        tier = dict(before.get(row) or {})  # keeps what the form does not show (per-channel hours)
        tier["name"] = name
        for key in TIER_TARGETS:
            value = form.get(f"tier_{row}_{key}", "").strip()
            if value:
                # only what is typed here is checked: a pack's existing value keeps loading as before
                problem = _target_problem(key, value) if value != tier.get(key) else ""
                if problem:
                    problems.add(f"tier_{row}_{key}", problem)
                tier[key] = value
            else:
                tier.pop(key, None)
        if form.get(f"tier_{row}_own_hours"):
            tier["opening_hours"] = _read_hours(form, f"tier_{row}_hours_", problems)
        else:
            tier.pop("opening_hours", None)
        tiers.append(tier)
        rows.append(row)
    if not tiers:
        problems.add("tier_0_name", "keep at least one team to hand customers to")
    escalation["tiers"] = tiers
    for key in ("default_tier", "manager_tier"):
        value = form.get(key, "").strip()
        if value:
            escalation[key] = value
        else:
            escalation.pop(key, None)
    return escalation, rows


# --- the whole form ---------------------------------------------------------------------------


@dataclass
class FormResult:
    business: dict[str, Any]
    problems: FormProblems
    tier_rows: list[int]


def read_form(raw: Mapping[str, Any], form: Mapping[str, str], default_announcement: str = "") -> FormResult:
    """business.yaml's content with the form applied; everything the form does not show is kept."""
    problems = FormProblems()
    business = dict(raw)
    business["timezone"] = form.get("timezone", "").strip() or business.get("timezone", "UTC")
    business["opening_hours"] = _read_hours(form, "hours_", problems)
    business["holidays"] = _read_holidays(form.get("holidays", ""))
    business["callback_sla"] = form.get("callback_sla", "").strip()
    persona = dict(business.get("persona") or {})
    persona["name"] = form.get("persona_name", "").strip()
    persona["tone"] = form.get("persona_tone", "warm")
    if "persona_greeting" in form:  # absent when the greeting uses template logic (advanced editor only)
        try:
            greeting = from_chips(form["persona_greeting"].strip(), persona.get("greeting"))
        except ValueError as exc:
            problems.add("persona_greeting", str(exc))
            greeting = persona.get("greeting") or ""
        persona["greeting"] = greeting or None
    business["persona"] = persona
    recording = dict(business.get("call_recording") or {})
    announcement = form.get("announcement", "").strip()
    if "announcement" in recording or announcement != default_announcement:
        recording["announcement"] = announcement
        business["call_recording"] = recording
    business["escalation"], rows = _read_tiers(raw, form, problems)
    return FormResult(business, problems, rows)


# Where a pack error about business.yaml is shown: its dotted location -> the form field.
_FIELD_OF = {"timezone": "timezone", "opening_hours": "hours", "holidays": "holidays",
             "callback_sla": "callback_sla", "persona.name": "persona_name", "persona.tone": "persona_tone",
             "persona.greeting": "persona_greeting", "call_recording.announcement": "announcement",
             "escalation.default_tier": "default_tier", "escalation.manager_tier": "manager_tier",
             "escalation.tiers": "tier_0_name", "escalation": "default_tier"}
_ERROR = re.compile(r"^business\.yaml:\d+: ([\w.\[\]-]+): (.*)$", re.S)


def place_errors(errors: Sequence[str], rows: Sequence[int], problems: FormProblems) -> None:
    """Put each pack error beside the field it is about (else at the top of the form)."""
    for error in errors:
        match = _ERROR.match(error)
        where = match.group(1) if match else ""
        message = match.group(2) if match else error
        tier = re.match(r"^escalation\.tiers\.(\d+)\.?(\w*)", where)
        if tier and int(tier.group(1)) < len(rows):
            key = tier.group(2) if tier.group(2) in (*TIER_TARGETS, "name") else "name"
            if tier.group(2) == "opening_hours":
                key = "own_hours"
            problems.add(f"tier_{rows[int(tier.group(1))]}_{key}", message)
            continue
        if where in ("greeting", "persona.greeting"):  # the pack's template check calls it "greeting"
            problems.add("persona_greeting", message)
            continue
        name = next((f for loc, f in sorted(_FIELD_OF.items(), key=lambda i: -len(i[0]))
                     if where == loc or where.startswith(loc + ".")), "")
        problems.add(name, message if name else error)
