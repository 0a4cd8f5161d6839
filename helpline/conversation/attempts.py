"""What a verification attempt is counted against (issue 10, finding 2): the customer record, named by the
non-secret details the caller gave, normalised so that spelling variants count as one record."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from helpline.conversation.ports import RecordKey
from helpline.pack.expressions import mask

_NOT_WORD = re.compile(r"[^\w]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def _plain(text: str) -> str:
    """Case, accents, width and punctuation do not make another record."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_identifier(field: str, value: str) -> str:
    """One spelling for every way of writing the same identifying detail."""
    text = _plain(str(value)).strip()
    if field == "email":
        return re.sub(r"\s+", "", text)
    if field == "phone":
        return re.sub(r"\D", "", text)
    if field == "person_name":
        # "Rogers, Samuel", "samuel  ROGERS." and "Sámuel Rogers" are one name: the words, sorted
        return " ".join(sorted(w for w in _NOT_WORD.split(text) if w))
    return _NOT_ALNUM.sub("", text).upper()  # an id: "bb-10166", "BB 10166" -> "BB10166"


def _masked(field: str, value: str) -> str:
    if field == "email":
        return mask(value, "email")
    if field == "phone":
        return mask(value, "phone")
    if field == "person_name":
        return " ".join(f"{word[:1].upper()}\u2026" for word in value.split())
    return f"{value[:2]}\u2026" if len(value) > 2 else "\u2026"


def record_key(method_fields: Sequence[str], collected: Mapping[str, str], secret_fields: Sequence[str]) -> RecordKey:
    """The record named by a method's identifying fields (every field that is not a secret factor; a method
    made only of secret factors is named by all of them)."""
    identifying = sorted(f for f in method_fields if f not in secret_fields) or sorted(method_fields)
    values = {f: normalise_identifier(f, collected.get(f, "")) for f in identifying}
    return RecordKey(
        fields=tuple(identifying),
        value="|".join(f"{f}={values[f]}" for f in identifying),
        label=" ".join(_masked(f, values[f]) for f in identifying),
    )
