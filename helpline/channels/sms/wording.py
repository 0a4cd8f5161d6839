"""Replies worded for SMS: plain text in at most `max_segments` segments (two by default).

The engine writes for chat. A reply that does not fit is shortened by rules, in this order, stopping as soon as
it fits: Markdown and smart punctuation become plain GSM-7 text; courtesy sentences and openers that carry no
information ("Thanks for waiting.", "Sure, ", "I hope this helps.") are dropped; then whole sentences are kept
from the start for as long as they fit, always keeping a closing question (the customer must see what they are
being asked). Only a single sentence longer than the whole budget is cut, at a word, with "...". Nothing
promises more text later: there is no "reply MORE".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from helpline.channels.sms.segments import Encoding, SegmentCount, count_segments, smart_encode

DEFAULT_MAX_SEGMENTS = 2
ELLIPSIS = "..."

_MARKDOWN = [
    (re.compile(r"\[([^\]]+)\]\((\S+?)\)"), r"\1 (\2)"),  # [text](url) -> text (url)
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # italics
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),  # headings
    (re.compile(r"^\s*[-*+]\s+", re.MULTILINE), "- "),  # bullets
]
_SPACES = re.compile(r"[ ]{2,}")
_BLANK_LINES = re.compile(r"\s*\n\s*")
# A sentence ends at . ! or ? (perhaps closed by a quote or bracket) followed by a space, or at a line end:
# "$12.50" and "BB-10001." stay whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')])\s+|\n")

# Sentences that only carry courtesy: dropped first when a reply is too long.
_COURTESY = re.compile(
    r"^(?:thanks?(?: you)?(?: so much| very much)?(?: for [^.!?]*)?|"
    r"(?:i'?m|i am|we'?re|we are) (?:so |very |really )?sorry(?: to hear| for| about| that)[^.!?]*|"
    r"(?:my |our )?apologies[^.!?]*|sorry(?: about that| for [^.!?]*)?|"
    r"i (?:completely |totally )?understand(?: how| that| your)[^.!?]*|"
    r"i hope (?:this|that) helps[^.!?]*|happy to help[^.!?]*|glad (?:i could|to) help[^.!?]*|"
    r"great question|good question|no problem(?: at all)?|"
    r"(?:please )?(?:let me know|feel free)[^.!?]*(?:questions|help|else)[^.!?]*|"
    r"have a (?:great|nice|good|lovely) (?:day|evening|weekend|one)[^.!?]*)[.!]*$",
    re.IGNORECASE)
# Openers that add nothing before the sentence's content: "Sure, the refund ..." -> "The refund ...".
_OPENER = re.compile(r"^(?:sure|of course|certainly|absolutely|great|okay|ok|alright|no problem|"
                     r"thanks(?: for [^,]{1,40})?|thank you(?: for [^,]{1,40})?)[,!]\s+(?=\w)", re.IGNORECASE)


@dataclass(frozen=True)
class SmsText:
    text: str
    encoding: Encoding
    segments: int
    shortened: bool


def plain_text(text: str) -> str:
    """Markdown to plain text, typographic characters to GSM-7, whitespace tidied (newlines kept, single)."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    text = smart_encode(text)
    text = _BLANK_LINES.sub("\n", text.strip())
    return _SPACES.sub(" ", text)


def _sentences(text: str) -> list[str]:
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]


def _join(sentences: Sequence[str]) -> str:
    return " ".join(sentences)


def _fits(text: str, max_segments: int) -> bool:
    return count_segments(text).segments <= max_segments


def _without_opener(sentence: str) -> str:
    stripped = _OPENER.sub("", sentence, count=1)
    return stripped[:1].upper() + stripped[1:] if stripped != sentence else sentence


def _cut_at_word(sentence: str, max_segments: int, room_after: str = "") -> str:
    """The longest start of `sentence`, ended at a word, that fits with "..." (and `room_after`)."""
    words = sentence.split(" ")
    low, high = 0, len(words)
    while low < high:  # the most words that fit: fitting is monotone in the number of words
        middle = (low + high + 1) // 2
        candidate = _join([" ".join(words[:middle]).rstrip(",;:") + ELLIPSIS, room_after]).strip()
        if _fits(candidate, max_segments):
            low = middle
        else:
            high = middle - 1
    if low == 0:  # one enormous word: cut by characters
        text = sentence
        while text and not _fits(_join([text + ELLIPSIS, room_after]).strip(), max_segments):
            text = text[:-1]
        return text + ELLIPSIS if text else ""
    return " ".join(words[:low]).rstrip(",;:") + ELLIPSIS


def fit_reply(replies: Sequence[str] | str, max_segments: int = DEFAULT_MAX_SEGMENTS) -> SmsText:
    """The engine's replies (one turn) as one SMS of at most `max_segments` segments."""
    raw = replies if isinstance(replies, str) else " ".join(r.strip() for r in replies if r.strip())
    text = plain_text(raw)
    if _fits(text, max_segments):
        return _result(text, shortened=False)
    sentences = _sentences(text)
    informative = [_without_opener(s) for s in sentences if not _COURTESY.match(s)] or sentences
    text = _join(informative)
    if _fits(text, max_segments):
        return _result(text, shortened=True)
    question = informative[-1] if len(informative) > 1 and informative[-1].endswith("?") else ""
    body = informative[:-1] if question else informative
    if question and not _fits(question, max_segments):
        question = ""  # a question longer than the whole budget: the body is more useful
        body = informative
    kept: list[str] = []
    for sentence in body:
        if _fits(_join([*kept, sentence, question]), max_segments):
            kept.append(sentence)
        else:
            break
    if not kept and body:  # the first sentence alone is too long: cut it at a word
        cut = _cut_at_word(body[0], max_segments, question)
        kept = [cut] if cut else []
    return _result(_join([*kept, question]).strip(), shortened=True)


def _result(text: str, shortened: bool) -> SmsText:
    count: SegmentCount = count_segments(text)
    return SmsText(text, count.encoding, count.segments, shortened)
