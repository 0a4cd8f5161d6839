"""Which customer lines say something worth counting, and how they are shown without personal data.

Transcripts are stored with secrets already redacted (card numbers, passwords) but with the customer's name,
email, phone and order ids as written. Insight never shows those: a contact reason's label is masked, and a
knowledge-gap question carrying any of them is left out altogether (a gap list is copied into articles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpline.conversation.ports import IDENTITY_TYPES
from helpline.understanding.entities import EntityExtractor

# What the engine understood, stored on the customer's line as ``meta.intent`` (conversation/engine.py _summary):
# these are conversation, not a reason or a question.
SOCIAL_INTENTS = frozenset({"chit_chat", "affirm", "deny", "nothing_else", "repeat", "problem_status"})
# identity details and answers to the agent's questions: not why the customer got in touch
NOT_REASON_INTENTS = frozenset({"identify", "set_slot", "rule_out"})
# Words that make up greetings, thanks, goodbyes and acknowledgements; a line made only of these says nothing.
_SOCIAL_TEXT = """
hi hello hey hiya heya yo howdy hallo greetings there good morning afternoon evening day night anyone anybody
is are you how it going hope well thanks thank thx ty cheers ta much many lot so very really million appreciate
appreciated it great perfect awesome brilliant lovely nice cool excellent wonderful fine helpful help your for
that was all the bye goodbye see ya later soon take care have a ok okay k kk yes yeah yep yup no nope nah sure
alright right got gotcha understood will do done sorted please and to too again oh ah um hmm wow haha lol
"""
_SOCIAL_WORDS = frozenset(_SOCIAL_TEXT.split())
_WORD = re.compile(r"[a-z0-9']+")
# Secrets the transcript already replaced, and erased contacts: nothing left to learn from those lines.
_REDACTED = re.compile(r"\[(?:card ending [0-9]{4}|redacted[^\]]*|erased)\]", re.I)
MASKS = {"email": "[email]", "phone": "[phone]", "person_name": "[name]", "postcode": "[postcode]",
         "card_number": "[card]"}


def normalised(text: str) -> str:
    """The form two lines are "the same question" in: lower case, single spaces, no trailing punctuation."""
    return " ".join(text.lower().split()).strip(" .!?,;")


def is_social(text: str, intent: str | None = None) -> bool:
    """A greeting, thanks, goodbye or bare acknowledgement ("hi there", "ok thanks bye", "yes please")."""
    words = _WORD.findall(text.lower())
    if not words:
        return True
    if all(w in _SOCIAL_WORDS for w in words):
        return True
    # the intent model's reading counts only for short lines: "hi, my grinder is jammed" is a reason
    return intent in SOCIAL_INTENTS and len(words) <= 4


@dataclass(frozen=True)
class PersonalData:
    """Finds the customer's personal details in a line with the engine's own entity extractor: emails, phones,
    introduced names, postcodes and the pack's record ids (an order id points at one customer)."""

    extractor: EntityExtractor
    id_types: tuple[str, ...]

    @classmethod
    def for_pack(cls, id_formats: dict[str, str], phone_region: str = "US") -> PersonalData:
        return cls(EntityExtractor(id_formats=id_formats, default_region=phone_region), tuple(id_formats))

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        personal = {*IDENTITY_TYPES, "card_number", *self.id_types}
        return [(e.start, e.end, MASKS.get(e.type, f"[{e.type.replace('_', ' ')}]"))
                for e in self.extractor.extract(text) if e.type in personal]

    def contains(self, text: str) -> bool:
        return bool(_REDACTED.search(text)) or bool(self._spans(text))

    def mask(self, text: str) -> str:
        """The line with each personal detail replaced by its kind: "where is [order id]? I'm [name]"."""
        for start, end, mask in sorted(self._spans(text), reverse=True):
            text = text[:start] + mask + text[end:]
        return _REDACTED.sub("[redacted]", text)


def is_erased(text: str) -> bool:
    return "[erased]" in text
