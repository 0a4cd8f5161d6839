"""SlotReader adapter: reads one expected value from a terse answer with the entity extractor."""

from __future__ import annotations

from collections.abc import Sequence

from helpline.understanding.addresses import (
    read_city,
    read_postal_address,
    read_postal_code,
    read_region,
    read_street_address,
)
from helpline.understanding.entities import EntityExtractor

# Free text that is really a refusal or filler is not a value.
_NOT_AN_ANSWER = {"", "no", "yes", "ok", "okay", "hmm", "what", "why", "idk", "dunno", "?"}


_ADDRESS_READERS = {"street_address": read_street_address, "city": read_city, "region": read_region,
                    "postal_code": read_postal_code, "postal_address": read_postal_address}


class ExtractorSlotReader:
    def __init__(self, extractor: EntityExtractor):
        self.extractor = extractor

    def read(self, text: str, slot_type: str, options: Sequence[str] = ()) -> str | None:
        if slot_type == "text":
            answer = text.strip()
            return None if answer.lower().strip(".!? ") in _NOT_AN_ANSWER else answer[:2000]
        address_reader = _ADDRESS_READERS.get(slot_type)
        if address_reader is not None:
            return address_reader(text)
        entity = self.extractor.extract_as(text, slot_type)
        return entity.value if entity is not None else None
