"""Matching the customer's words to a slot's choices ("the black optical mouse", "the 750ml one").

A choice's label is compared with the message by *coverage*: the share of the label's words the
customer used (fuzzy, so "colour"/"color" and small typos still count). Coverage, unlike a plain
similarity score, separates variants that differ in one option: "750ml glass black" covers
"capacity 750ml glass black" fully but "1000ml glass black" only in part.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from helpline.pack.expressions import evaluate, render
from helpline.pack.models import SlotSpec

_WORD = re.compile(r"[a-z0-9][a-z0-9.'/-]*", re.I)
_STOP = {"the", "a", "an", "one", "ones", "in", "with", "and", "of", "my", "i", "it", "its", "to", "for", "please",
         "that", "this", "those", "these", "want", "like", "would", "id", "i'd", "me", "is", "are", "on", "from",
         "order", "item", "items", "also", "just", "only", "too", "some", "thing", "instead", "new", "same", "but"}
PARTS = re.compile(r",|;|\band\b|\bplus\b|\bas well as\b", re.I)
MIN_COVERAGE = 0.34


@dataclass(frozen=True)
class Choice:
    label: str
    value: Any
    synonyms: tuple[str, ...] = ()  # other ways to say it: matched like the label
    description: str = ""  # what it means: matched by meaning only (understanding's embedder)

    @property
    def names(self) -> tuple[str, ...]:
        """The label and every synonym: the wordings the customer's words are matched to."""
        return (self.label, *self.synonyms)


@dataclass
class ChoiceMatch:
    values: list[Any] = field(default_factory=list)
    ambiguous: list[Choice] = field(default_factory=list)  # equally good candidates for one part


def _words(text: str) -> list[str]:
    return [w.lower().strip(".'") for w in _WORD.findall(text) if w.lower() not in _STOP]


def _all_words(text: str) -> list[str]:
    return [w.lower().strip(".'") for w in _WORD.findall(text)]


def choices_for(slot: SlotSpec, names: Mapping[str, Any]) -> list[Choice]:
    if not slot.options_from:
        return [Choice(option.shown, option.value, tuple(option.synonyms), option.description)
                for option in slot.options]
    found = evaluate(slot.options_from, names)
    items = list(found.values()) if isinstance(found, Mapping) else list(found or [])
    choices = []
    for item in items:
        # the option's own fields, over the procedure's names (so a label may say "original payment")
        item_names = {**names, **(dict(item) if isinstance(item, Mapping) else {})}
        item_names["item"] = item
        label = render(slot.option_label or "{{ item }}", item_names)
        value = evaluate(slot.option_value, item_names) if slot.option_value else item
        choices.append(Choice(label, value))
    return choices


def coverage(text_words: Sequence[str], label: str) -> float:
    """The share of the label's words the customer used."""
    return _overlap(_words(label), text_words)


def _overlap(wanted: Sequence[str], given: Sequence[str]) -> float:
    if not wanted or not given:
        return 0.0
    hits = sum(1 for lw in wanted if any(_same(w, lw) for w in given))
    return hits / len(wanted)


def _same(word: str, other: str) -> bool:
    """Equal, or a small typo of a word without numbers: "4-piece" is never "3-piece"."""
    if word == other:
        return True
    if any(c.isdigit() for c in word + other):
        return False
    return len(word) > 3 and fuzz.ratio(word, other) >= 85


def _score(words: Sequence[str], label: str, every_word: Sequence[str] = ()) -> tuple[float, float]:
    """(coverage of the label, share of the customer's words found in it).

    A label made only of small words ("on", "off", "the other one") is compared word for word with
    everything the customer said, small words included."""
    label_words = _words(label)
    if not label_words:
        label_words, words = _all_words(label), every_word
    return _overlap(label_words, words), _overlap(words, label_words)


def _best(part: str, choices: Sequence[Choice]) -> tuple[list[Choice], float]:
    words, every_word = _words(part), _all_words(part)
    scored = []
    for choice in choices:
        # the best of the label and the synonyms ("ship it" names "Send me a box")
        covered, precise = max((_score(words, name, every_word) for name in choice.names), key=sum)
        # "the skateboard" names one label fully even though it covers little of "Skateboard maple 34 inch"
        if covered >= MIN_COVERAGE or precise >= 0.999:
            scored.append((covered + precise, choice))
    if not scored:
        return [], 0.0
    top = max(score for score, _ in scored)
    best = [c for score, c in scored if score >= top - 1e-9]
    unique: dict[str, Choice] = {}
    for choice in best:
        unique.setdefault(repr(choice.value), choice)
    return list(unique.values()), top


def _names_one(words: Sequence[str], choices: Sequence[Choice]) -> bool:
    """Whether some word of a part belongs to exactly one label (so the part can stand alone)."""
    label_words = [[w for name in choice.names for w in _words(name)] for choice in choices]
    return any(sum(1 for labels in label_words if _overlap([word], labels) > 0) == 1 for word in words)


def _segments(text: str, choices: Sequence[Choice]) -> list[str]:
    """The message cut where it names another choice.

    A comma inside one description ("the bookshelf (glass, black, 3 ft)") must not make "black" a
    request of its own, so a part with no word unique to one label stays with the part before it.
    """
    segments: list[str] = []
    for part in PARTS.split(text):
        if not part.strip():
            continue
        if segments and not _names_one(_words(part), choices):
            segments[-1] = f"{segments[-1]} {part}"
        else:
            segments.append(part)
    return segments


def match_choices(text: str, choices: Sequence[Choice], many: bool) -> ChoiceMatch:
    """The choices the message names; several (split on 'and' / commas) when `many`."""
    if not choices:
        return ChoiceMatch()
    whole, whole_score = _best(text, choices)
    if not many:
        if len(whole) == 1:
            return ChoiceMatch(values=[whole[0].value])
        return ChoiceMatch(ambiguous=whole)
    result = ChoiceMatch()
    for part in _segments(text, choices):
        best, _ = _best(part, choices)
        if len(best) == 1:
            if best[0].value not in result.values:
                result.values.append(best[0].value)
        elif best and not result.ambiguous:
            result.ambiguous = best
    if not result.values and len(whole) == 1 and whole_score > 0:
        result.values.append(whole[0].value)
    return result


NAMED_OPTION_SCORE = 85  # "three forks" or "Pinon Sprngs" for "Three Forks" / "Pinon Springs"; "Springfield" for none


def closest_option(text: str, choices: Sequence[Choice]) -> Choice | None:
    """A free-text answer naming one of the listed values (a town of the table), spelled loosely: the one it
    names, so the table's spelling is kept; None when it names none (the answer is kept as said)."""
    labels = [choice.label for choice in choices]
    if not text.strip() or not labels:
        return None
    found = process.extract(text, labels, scorer=fuzz.WRatio, processor=default_process, limit=2,
                            score_cutoff=NAMED_OPTION_SCORE)
    if not found or (len(found) > 1 and found[1][1] == found[0][1]):
        return None  # two equally close: not one named
    return choices[found[0][2]]


def choice_labels(slots: Mapping[str, SlotSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """`labels.kind` in templates: the label of the option a choice slot holds ("a repair" for "repair"; a list
    for a slot of several); any other slot, or a value no fixed option has, as stored."""
    labels: dict[str, Any] = {}
    for name, value in values.items():
        spec = slots.get(name)
        shown = {option.value: option.shown for option in spec.options} if spec is not None else {}
        if isinstance(value, list):
            labels[name] = [shown.get(v, v) if isinstance(v, str) else v for v in value]
        else:
            labels[name] = shown.get(value, value) if isinstance(value, str) else value
    return labels
