"""Identity verification, the mechanics: gathering the details a method needs, looking the customer up,
comparing typed factors with the record, and checking a caller who is not the holder against the account's
authorised users. What to *say* at each point stays in the engine; this module decides nothing
conversational."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz

from helpline.conversation.events import OperationCalled
from helpline.conversation.ports import OperationGateway, OperationResult, SlotReader, Understanding
from helpline.pack.models import SECRET_FACTOR_TYPES, AuthorisedUsers, Factor, Verification, VerificationMethod

# "Ryan Rodriguez, 77008" / "Ryan Rodriguez 77008": the parts of a terse answer giving several details
ANSWER_PARTS = re.compile(r",|;|\band\b|(?<=[a-z])\s+(?=\d)|(?<=\d)\s+(?=[a-z])", re.I)
PREFERRED_ORDER = ("email", "postcode", "phone", "person_name")

# What understanding hands over besides the factors (keys of `Identify.details`): the caller says he is not the
# account holder ("this is her son"); its value is his words.
THIRD_PARTY = "third_party"
# A date that could be read day-first or month-first is kept as both ISO dates, the day-first reading first,
# joined by this, until the customer says which.
DATE_CHOICE_SEPARATOR = "|"
# The caller's own details, when he is not the holder, are collected under these keys.
CALLER_PREFIX = "caller:"
CALLER_NAME = CALLER_PREFIX + "name"
# Untyped reading of the factor types the entity extractor already knows.
_SLOT_TYPE = {"name": "person_name", "email": "email", "postcode": "postcode"}
# what the agent asks for, after "your" ("And your {{ missing }}?")
_DEFAULT_LABELS = {"account_number": "account number", "phone_last4": "last 4 digits of the phone number on file",
                   "card_last4": "last 4 digits of the card on file", "date_of_birth": "date of birth",
                   "postcode": "ZIP code", "pin": "PIN", "name": "full name", "email": "email address",
                   "person_name": "full name", "phone": "phone number"}
_SEAL_ROUNDS = 60_000  # a PIN waiting in the saved state is kept only as a salted hash
# Readings that are bare numbers when the agent asked: one value fills one factor of a message, no more.
_SAME_VALUE_TYPES = frozenset({"phone_last4", "card_last4", "pin"})
_NAME_MATCH = 85  # rapidfuzz token_sort_ratio at or above which two names are the same person


class Served(StrEnum):
    """Who a verified conversation serves (recorded in the audit log)."""

    HOLDER = "holder"
    AUTHORISED_USER = "authorised_user"
    REFUSED = "refused"  # a third party who is not authorised: nothing of the account is read to him


@dataclass
class Lookup:
    customer: dict[str, Any] | None
    result: OperationResult
    calls: list[OperationCalled] = field(default_factory=list)


@dataclass
class CallerCheck:
    """The outcome of checking a caller who said he is not the holder."""

    served: Served | None  # None: his own name is still needed (he gave the holder's)
    name: str = ""
    relationship: str = ""
    calls: list[OperationCalled] = field(default_factory=list)


def display_name(record: dict[str, Any]) -> str:
    """'name' may be a string or a structure like {first_name, last_name}."""
    name = record.get("name")
    if isinstance(name, dict):
        return " ".join(str(v) for v in name.values() if v)
    if name:
        return str(name)
    return " ".join(str(record[k]) for k in ("first_name", "last_name") if record.get(k))


def same_name(said: str, on_record: str) -> bool:
    return bool(said and on_record) and fuzz.token_sort_ratio(said.lower(), on_record.lower()) >= _NAME_MATCH


def name_mismatch(said: str | None, record: dict[str, Any]) -> str | None:
    """A flag for the ticket (not a refusal) when the name given differs from the record's."""
    on_record = display_name(record)
    if said and on_record and not same_name(said, on_record):
        return f"name_mismatch: said '{said}', record '{on_record}'"
    return None


# --- typed factors: how each is kept and compared -------------------------------------------------


def _seal_digest(value: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", value.encode(), bytes.fromhex(salt), _SEAL_ROUNDS).hex()


def seal(value: str) -> str:
    """A secret factor as kept between turns: salt and hash, never the value."""
    salt = secrets.token_hex(16)
    return f"sealed:{salt}:{_seal_digest(value, salt)}"


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    text = str(value or "").strip()[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def date_choices(value: str) -> list[str]:
    return [v for v in value.split(DATE_CHOICE_SEPARATOR) if v]


def factor_matches(factor: Factor, given: str, on_record: Any) -> bool:
    """What the caller said against the record's field, by the factor's type. Secrets in constant time."""
    if on_record is None or on_record == "" or not given:
        return False
    kind = factor.type
    if kind in ("phone_last4", "card_last4"):
        return hmac.compare_digest(_digits(given)[-4:].encode(), _digits(on_record)[-4:].encode()) \
            and len(_digits(on_record)) >= 4
    if kind == "pin":
        if given.startswith("sealed:"):
            _, salt, digest = given.split(":", 2)
            return hmac.compare_digest(_seal_digest(str(on_record).strip(), salt), digest)
        return hmac.compare_digest(given.strip().encode(), str(on_record).strip().encode())
    if kind == "date_of_birth":
        said, held = _as_date(given), _as_date(on_record)
        return said is not None and said == held
    if kind == "name":
        return same_name(given, str(on_record))
    if kind == "email":
        return given.strip().casefold() == str(on_record).strip().casefold()
    if kind == "postcode":
        said_code, held_code = re.sub(r"[^0-9A-Z]", "", given.upper()), re.sub(r"[^0-9A-Z]", "", str(on_record).upper())
        return bool(said_code) and (said_code == held_code or (len(said_code) == 5 and held_code[:5] == said_code))
    return re.sub(r"[^0-9A-Z]", "", given.upper()) == re.sub(r"[^0-9A-Z]", "", str(on_record).upper())


class IdentityCheck:
    def __init__(self, config: Verification, operations: OperationGateway, slot_reader: SlotReader):
        self.config = config
        self.operations = operations
        self.slot_reader = slot_reader
        self.fields: list[str] = []
        for method in config.methods:
            self.fields += [f for f in method.fields if f not in self.fields]
        authorised = config.authorised_users
        self.caller_fields: list[str] = [CALLER_NAME] + (
            [CALLER_PREFIX + name for name in authorised.factors] if authorised else [])

    # --- what a field is -----------------------------------------------------------------------

    def factor(self, name: str) -> Factor | None:
        """The typed factor behind a collected key (a method field or a caller's own detail)."""
        if name == CALLER_NAME:
            return Factor(type="name")
        if name.startswith(CALLER_PREFIX):
            authorised = self.config.authorised_users
            return authorised.factors.get(name.removeprefix(CALLER_PREFIX)) if authorised else None
        return self.config.factor(name)

    def reads_as(self, name: str) -> str:
        """The type understanding reads for this key: the factor's type, or the entity type itself."""
        factor = self.factor(name)
        return factor.type if factor is not None else name

    def label(self, name: str) -> str:
        factor = self.factor(name)
        if factor is not None and factor.label:
            return factor.label
        return _DEFAULT_LABELS.get(self.reads_as(name), name.removeprefix(CALLER_PREFIX).replace("_", " "))

    def describe(self, names: Sequence[str]) -> str:
        """"account number and own full name and date of birth": the caller's details marked as his own."""
        parts = [self.label(n) for n in names]
        first_own = next((i for i, n in enumerate(names) if n.startswith(CALLER_PREFIX)), None)
        if first_own is not None:
            parts[first_own] = "own " + parts[first_own]
        return " and ".join(parts)

    def is_secret(self, name: str) -> bool:
        factor = self.factor(name)
        return factor is not None and factor.type in SECRET_FACTOR_TYPES

    # --- gathering -----------------------------------------------------------------------------

    def wanted(self, collected: Mapping[str, str], third_party: bool) -> list[str]:
        """The keys still open, in the order a bare answer fills them: the started method's, else every
        method's; then the caller's own details when he is not the holder."""
        missing = self.still_missing(collected) or [f for f in self.fields if f not in collected]
        pending = [k for k, v in collected.items() if DATE_CHOICE_SEPARATOR in v]
        caller = [f for f in self.caller_fields if f not in collected] if third_party else []
        return list(dict.fromkeys([*pending, *missing, *caller]))

    def gather(self, collected: dict[str, str], u: Understanding, details: Mapping[str, str] | None = None,
               third_party: bool = False) -> None:
        """Add the details this message gives: what understanding read (`details`, keyed by type), recognised
        entities, or (for untyped fields in terse answers) each part of the message read on its own."""
        details = details or {}
        taken_values: set[str] = set()
        wanted = self.wanted(collected, third_party)
        if third_party:
            # a name given by someone calling for another is his own, and the last one he gave ("I'm Tom")
            wanted = [CALLER_NAME, *(w for w in wanted if w != CALLER_NAME)]
        for name in wanted:
            kind = self.reads_as(name)
            entity_type = _SLOT_TYPE.get(kind, kind)
            value = details.get(kind) or details.get(entity_type) or details.get(name)
            found = u.entities_of(name) or u.entities_of(entity_type)
            if not value and found:
                value = found[0].value
            if not value or (kind in _SAME_VALUE_TYPES and value in taken_values):
                continue
            replaces_name = name == CALLER_NAME and len(value.split()) >= 2  # "I'm Tom Brennan" after another
            if name in collected and DATE_CHOICE_SEPARATOR not in collected[name] and not replaces_name:
                continue
            if name in collected and DATE_CHOICE_SEPARATOR in collected[name] and \
                    value not in date_choices(collected[name]):
                continue  # the answer to "which date?" must be one of the two
            taken_values.add(value)
            collected[name] = seal(value) if kind == "pin" else value
        self._gather_terse(collected, u)

    def _gather_terse(self, collected: dict[str, str], u: Understanding) -> None:
        """Terse parts ("Olivia Ito, zip code 80218"): read each part not already recognised as a detail."""
        untyped = [f for f in self.fields if self.factor(f) is None]
        recognised = [e.text.lower() for e in u.entities if e.text and e.type in self.fields]
        started = [f for m in self.config.methods if any(x in collected for x in m.fields) for f in m.fields]
        order = [f for f in dict.fromkeys([*started, *PREFERRED_ORDER, *untyped]) if f in untyped]
        for part in ANSWER_PARTS.split(u.text):
            part = part.strip()
            if not part or any(r in part.lower() or part.lower() in r for r in recognised):
                continue
            for field_name in order:
                if field_name in collected:
                    continue
                value = self.slot_reader.read(part, field_name)
                if value:
                    collected[field_name] = value
                    break

    def complete_method(self, collected: dict[str, str]) -> VerificationMethod | None:
        return next((m for m in self.config.methods if all(self._settled(collected, f) for f in m.fields)), None)

    @staticmethod
    def _settled(collected: Mapping[str, str], name: str) -> bool:
        return name in collected and DATE_CHOICE_SEPARATOR not in collected[name]

    def still_missing(self, collected: Mapping[str, str]) -> list[str]:
        """What the method the customer has started still needs."""
        started = [m for m in self.config.methods if any(f in collected for f in m.fields)]
        return [f for f in started[0].fields if f not in collected] if started else []

    def caller_missing(self, collected: Mapping[str, str]) -> list[str]:
        return [f for f in self.caller_fields if not self._settled(collected, f)]

    def date_to_settle(self, collected: Mapping[str, str], day_first: bool) -> tuple[str, list[str]] | None:
        """A date given as "03/04/1988": its key and the two readings, the locale's own first."""
        for name, value in collected.items():
            if DATE_CHOICE_SEPARATOR in value:
                factor = self.factor(name)
                first = factor.day_first if factor is not None and factor.day_first is not None else day_first
                choices = date_choices(value)  # understanding gives the day-first reading first
                return name, choices if first else choices[::-1]
        return None

    # --- looking up and comparing --------------------------------------------------------------

    def look_up(self, method: VerificationMethod, collected: dict[str, str]) -> Lookup:
        """The lookup may return the record, or only an id that the profile operation expands. Factors with a
        record `field` are not sent: they are compared with the record found, and a mismatch is a failure like
        an unknown account (the same words, so nothing tells which detail was wrong)."""
        operation = self.config.operation_for(method)
        compared = {f: self.factor(f) for f in method.fields}
        args = {f: collected[f] for f, factor in compared.items() if factor is None or factor.field is None}
        result = self.operations.call(operation, args)
        calls = [OperationCalled(operation, args, result.ok, False, None, result.error)]
        if not result.ok:
            return Lookup(None, result, calls)
        data = result.data
        customer_id = data.get("id") if isinstance(data, dict) else data
        if customer_id is None or isinstance(customer_id, dict | list) or not str(customer_id).strip():
            return Lookup(None, OperationResult(ok=False, error="no customer id in the lookup result"), calls)
        if self.config.profile_operation is None:
            record = {**data, "id": customer_id} if isinstance(data, dict) else {"id": customer_id}
        else:
            profile = self.operations.call(self.config.profile_operation, {"id": customer_id})
            calls.append(OperationCalled(self.config.profile_operation, {"id": customer_id}, profile.ok, False,
                                         str(customer_id), profile.error))
            if not profile.ok or not isinstance(profile.data, dict):
                return Lookup(None, profile, calls)
            record = {**profile.data, "id": str(customer_id)}
        for name, factor in compared.items():
            if factor is not None and factor.field is not None and \
                    not factor_matches(factor, collected[name], record.get(factor.field)):
                return Lookup(None, OperationResult(ok=False, error="the details given do not match"), calls)
        return Lookup(record, result, calls)

    def check_caller(self, record: dict[str, Any], collected: Mapping[str, str], relationship: str) -> CallerCheck:
        """A caller who said he is not the holder: served only as one of the account's authorised users, by his
        own name and factors. He is never served as the holder, even with the holder's name."""
        said = collected.get(CALLER_NAME, "")
        if same_name(said, display_name(record)):
            return CallerCheck(None, relationship=relationship)  # he named the holder: ask for his own name
        authorised = self.config.authorised_users
        if authorised is None:
            return CallerCheck(Served.REFUSED, said, relationship)
        people, calls = self._authorised_people(authorised, record)
        for person in people:
            if not same_name(said, str(person.get(authorised.name_field) or "")):
                continue
            if all(factor_matches(factor, collected.get(CALLER_PREFIX + name, ""), person.get(factor.field or ""))
                   for name, factor in authorised.factors.items()):
                return CallerCheck(Served.AUTHORISED_USER, str(person.get(authorised.name_field)),
                                   str(person.get(authorised.relationship_field) or relationship), calls)
        return CallerCheck(Served.REFUSED, said, relationship, calls)

    def _authorised_people(self, authorised: AuthorisedUsers,
                           record: dict[str, Any]) -> tuple[list[dict[str, Any]], list[OperationCalled]]:
        if authorised.field is not None:
            listed: Any = record.get(authorised.field)
            calls: list[OperationCalled] = []
        else:
            assert authorised.operation is not None
            args = {"id": record.get("id")}
            result = self.operations.call(authorised.operation, args)
            calls = [OperationCalled(authorised.operation, args, result.ok, False, str(record.get("id")),
                                     result.error)]
            listed = result.data if result.ok else []
        if isinstance(listed, dict):
            listed = [listed]
        return [p for p in listed if isinstance(p, dict)] if isinstance(listed, list) else [], calls
