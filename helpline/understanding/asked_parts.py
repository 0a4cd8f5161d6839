"""The part of a message that asks, when a caller tells a story first.

Callers rarely ask bare questions: "So I bought the espresso machine for my husband for his birthday and he doesn't
really drink espresso, can I send it back?". Every word of the story that an article does not use makes the search
less sure of the article that answers, and the story's words may be ones no article uses at all. The asking part
("can I send it back?") is handed to the engine beside the whole message (`AskKnowledge.asked`); the engine answers
from it only when it finds surely the same article the whole message found first, so the story still chooses the
topic and the asking part only settles that it is the one asked about.

Clauses are split at sentence ends, and before a question word that opens a new clause after a comma or a story
("..., do you do trade pricing", "... is the house blend good for espresso"). English only.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import replace

from helpline.conversation.commands import AskKnowledge, Command
from helpline.understanding.requests import asks

_OPENS_QUESTION = (r"(?:can|could|do|does|is|are|will|would|how|what|what's|whats|where|when|why|which|who|should"
                   r"|have|has|did)")
_SUBJECT = r"(?:i|you|we|it|the|that|this|there|my|your|they|he|she)"
_SENTENCE_END = re.compile(r"(?<=[.?!;])\s+")
# where a question may open a new clause: after a comma ("..., can I still change it"), or with no punctuation at
# all, a question word and its subject ("... is the house blend good for espresso")
_COMMA_BREAK = re.compile(rf",\s+(?=(?:and |but |so |or )?{_OPENS_QUESTION}\b)", re.I)
_SPOKEN_BREAK = re.compile(rf"\s+(?=(?:and |but |so |or )?{_OPENS_QUESTION}\s+{_SUBJECT}\b)", re.I)
# ... but not inside a question or after a word that needs what follows: "do you | have the mug", "I | have the"
_NEEDS_MORE = frozenset([
    "a", "an", "and", "any", "as", "at", "but", "by", "can", "could", "did", "do", "does", "for", "from", "has", "have",
    "how", "i", "if", "in", "is", "it", "of", "on", "or", "so", "than", "that", "the", "them", "they", "this", "to",
    "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "should",
    "are", "be", "been", "my", "me",
])
_WORD = re.compile(r"[a-z']+")
_JOINING = re.compile(rf"^(?:and|but|so|or|{_OPENS_QUESTION})(?:\s+(?:and|but|so|or|{_OPENS_QUESTION}))*$", re.I)
MIN_WORDS = 3  # "can I?" alone asks nothing an article could be found by


def _breaks(sentence: str) -> list[int]:
    cuts = [m.start() for m in _COMMA_BREAK.finditer(sentence)]
    for match in _SPOKEN_BREAK.finditer(sentence):
        before = _WORD.findall(sentence[:match.start()].lower())
        if before and before[-1] not in _NEEDS_MORE:
            cuts.append(match.start())
    return sorted(set(cuts))


def clauses(text: str) -> list[str]:
    """The message cut at its clause breaks; a lone joining or question word ("so", "how") is kept with what
    follows it."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        cuts = [0, *_breaks(sentence), len(sentence)]
        pieces += [sentence[a:b] for a, b in itertools.pairwise(cuts)]
    found: list[str] = []
    carried = ""
    for piece in pieces:
        piece = piece.strip(" ,")
        if not piece:
            continue
        if _JOINING.match(piece):
            carried = f"{carried} {piece}".strip()
            continue
        found.append(f"{carried} {piece}".strip())
        carried = ""
    return [*found, carried] if carried else found


def asked_parts(text: str) -> tuple[str, ...]:
    """The clauses of a message that ask, when it also tells something else; empty for a bare question or a
    message that asks nothing."""
    parts = clauses(text)
    if len(parts) < 2:
        return ()
    asking = tuple(p for p in parts if asks(p) and len(p.split()) >= MIN_WORDS)
    return asking if len(asking) < len(parts) else ()


def with_asked_parts(commands: Sequence[Command], language: str) -> list[Command]:
    """Each question for the articles with the parts of it that ask (English messages)."""
    if language.split("-")[0] not in ("", "en"):
        return list(commands)
    return [replace(c, asked=asked_parts(c.query)) if isinstance(c, AskKnowledge) and not c.asked else c
            for c in commands]
