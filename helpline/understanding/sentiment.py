"""How frustrated a customer sounds, from VADER sentiment plus contact-centre cues.

VADER alone under-reads contact-centre anger ("third time I'm calling about this" is neutral to
it), so explicit cues raise the score and are reported by name for the ticket and the engine.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_PROFANITY = re.compile(
    r"(?i)\b(?:f+u+c+k+\w*|f[*#@$!]{2,}k?\w*|f[*#@$!]+ck\w*|sh[i1!*]+t\w*|s[*#]{2,}t|"
    r"bull\s?sh[i*]t|crap(?:py)?|damn(?:ed|it)?|goddamn\w*|wtf|ffs|bastards?|bloody|"
    r"ass(?:hole)?s?|a[*]{2,}|bitch\w*|b[*]{3,}h|piss(?:ed)?|screw(?:ed)?\s+(?:you|up|over))\b"
)
_MANAGER = re.compile(r"(?i)\b(?:manager|supervisor|someone\s+in\s+charge|your\s+boss)\b")
_REPEAT = re.compile(
    r"(?i)\b(?:(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+time|"
    r"i(?:'ve|\s+have)?\s+already\s+(?:told|explained|said|called|asked|given)|"
    r"(?:called|rang|contacted|emailed|written)\s+(?:you\s+)?(?:\w+\s+)?(?:times|again)|"
    r"(?:yet\s+)?again\s+and\s+again|still\s+(?:not|hasn'?t|haven'?t|no)|how\s+many\s+times)\b"
)
_EXCLAIM = re.compile(r"!{3,}|[!?]{4,}")

_CUE_WEIGHTS = {
    "profanity": 0.35,
    "caps": 0.25,
    "manager": 0.2,
    "repeat_contact": 0.25,
    "exclamation": 0.15,
    "negative": 0.0,  # already counted through the VADER part
}


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _mostly_caps(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z]{2,}", text)]
    if len(words) < 3:
        return False
    upper = sum(1 for w in words if w.isupper())
    return upper / len(words) >= 0.6


class FrustrationScorer:
    def __init__(self, max_chars: int = 2000) -> None:
        self._max_chars = max_chars

    def score(self, text: str, repeat_contact: bool = False) -> tuple[float, tuple[str, ...]]:
        """Return (frustration in [0, 1], cues found), e.g. (0.8, ("caps", "profanity"))."""
        text = text[: self._max_chars]
        cues: list[str] = []
        compound = float(_vader().polarity_scores(text)["compound"]) if text.strip() else 0.0
        if _mostly_caps(text):
            cues.append("caps")
        if _PROFANITY.search(text):
            cues.append("profanity")
        if _MANAGER.search(text):
            cues.append("manager")
        if _EXCLAIM.search(text):
            cues.append("exclamation")
        if repeat_contact or _REPEAT.search(text):
            cues.append("repeat_contact")
        if compound <= -0.4:
            cues.append("negative")
        # Only negative sentiment adds frustration; a cheerful message is simply calm.
        base = max(0.0, -compound) * 0.6
        total = base + sum(_CUE_WEIGHTS[c] for c in cues)
        return round(min(1.0, total), 3), tuple(cues)
