"""What may leave the process when a language model is asked.

Secrets (card numbers, passwords, codes) are redacted before any reader sees a message, model or not. With
`share_customer_data: false` (the default) the customer's personal details are replaced too, by placeholders
such as `<EMAIL_1>`, in everything sent: the message, the agent's last reply, record fields. The model answers
with the placeholders and `restore` puts the real values back before the engine sees them, so commands and
replies carry the customer's own details although the model never saw them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from helpline.conversation.ports import IDENTITY_TYPES, Entity

# Record fields whose values are personal, by name (the verified customer's record, a record answer).
PERSONAL_FIELD = re.compile(r"(^|_)(name|first|last|email|phone|mobile|address|street|city|zip|postcode|"
                            r"postal|dob|birth)(_|$)", re.I)
_PLACEHOLDER = re.compile(r"<(?:EMAIL|PHONE|NAME|POSTCODE|ADDRESS|PERSONAL)_\d+>")


@dataclass
class PersonalDataMask:
    """One turn's placeholders: value -> placeholder, and back."""

    enabled: bool = True
    _by_value: dict[str, str] = field(default_factory=dict)
    _by_placeholder: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, value: str) -> None:
        value = value.strip()
        if not self.enabled or len(value) < 3 or value in self._by_value:
            return
        label = {"email": "EMAIL", "phone": "PHONE", "person_name": "NAME", "postcode": "POSTCODE",
                 "address": "ADDRESS"}.get(kind, "PERSONAL")
        placeholder = f"<{label}_{len(self._by_value) + 1}>"
        self._by_value[value] = placeholder
        self._by_placeholder[placeholder] = value

    def add_entities(self, entities: Iterable[Entity]) -> None:
        """The identifying entities of a message; other entities (products, dates, amounts, order ids) are not
        personal on their own and the model needs them to understand the request."""
        for entity in entities:
            if entity.type in IDENTITY_TYPES:
                self.add(entity.type, entity.text)
                if entity.value != entity.text:
                    self.add(entity.type, entity.value)

    def add_known(self, known: Mapping[str, str]) -> None:
        """What the customer said earlier in the conversation (`ConversationState.known`), where it identifies."""
        for kind, value in known.items():
            if kind in IDENTITY_TYPES:
                self.add(kind, value)

    def add_record(self, record: Mapping[str, Any] | None) -> None:
        """Personal fields of a record, nested dictionaries included (an address object)."""
        for key, value in (record or {}).items():
            if isinstance(value, Mapping):
                if PERSONAL_FIELD.search(str(key)):
                    for inner in value.values():
                        if isinstance(inner, str):
                            self.add("address", inner)
                self.add_record(value)
            elif isinstance(value, str) and PERSONAL_FIELD.search(str(key)):
                self.add("email" if "@" in value else "person_name" if "name" in str(key).lower() else "address",
                         value)

    def hide(self, text: str) -> str:
        if not self.enabled or not self._by_value:
            return text
        # longest first, so "Julia Campbell" is replaced before "Julia"
        for value in sorted(self._by_value, key=len, reverse=True):
            text = re.sub(re.escape(value), self._by_value[value], text, flags=re.I)
        return text

    def restore(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    def hides_anything(self) -> bool:
        return bool(self._by_value)
