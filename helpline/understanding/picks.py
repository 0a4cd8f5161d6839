"""Which of the options the agent read out a short answer picks: "the first one", "the last", "2", "BB-10142",
"the one ending 142", "the tamper one" (a word that describes one option only)."""

from __future__ import annotations

import re
from collections.abc import Mapping

_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
             "fifth": 4, "5th": 4, "last": -1, "former": 0, "latter": -1}
_NUMBER = re.compile(r"\b[A-Za-z]*[-#]?\d{3,}\b")
_WORD = re.compile(r"[a-z]{3,}")
_PICK_WORDS = 8  # a pick by a describing word is a short answer ("the one with the tamper in it")


def ordinal(text: str, count: int) -> int | None:
    """ "the first one", "2nd", "the last", "1" -> an index into the options read out."""
    words = [w.strip(".,!?") for w in text.lower().split()]
    if len(words) > 5:
        return None
    for word in words:
        for token in (word, word.replace("fisrt", "first").replace("frist", "first")):
            index = _ORDINALS.get(token)
            if index is None and token.isdigit() and len(token) == 1:
                index = int(token) - 1
            if index is not None and -count <= index < count:
                return index % count
    return None


def picked_record(text: str, choices: Mapping[str, str]) -> str | None:
    """The id of the record a message picks among `choices` (id -> how it was read out), or None: by its id or
    the id's last digits, by its place in the list, or by a word only its description has ("the kettle one",
    "the one from November", in a short answer that asks nothing). None too when a number or word fits several."""
    ids = list(choices)
    for number in _NUMBER.findall(text):
        digits = re.sub(r"\D", "", number)
        fitting = [i for i in ids if re.sub(r"\D", "", i).endswith(digits)]
        if len(fitting) == 1:
            return fitting[0]
    index = ordinal(text, len(ids))
    if index is not None:
        return ids[index]
    if len(text.split()) > _PICK_WORDS or text.rstrip().endswith("?"):
        return None  # "what are your hours on a Saturday?" asks something new, whatever a date says
    described = {i: _words(f"{i} {choices[i]}") for i in ids}
    said = _words(text)
    fitting = [i for i in ids if said & described[i] - set().union(*(described[o] for o in ids if o != i))]
    return fitting[0] if len(fitting) == 1 else None


def _words(text: str) -> set[str]:
    """Words of three letters or more, without a plural s ("beans" is "bean")."""
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in _WORD.findall(text.lower())}
