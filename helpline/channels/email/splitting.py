"""One email, several requests: split the new text into the requests and questions it makes, each with the
sentences that give it context, so the engine answers every one and the channel joins the answers.

A request ends at a question or a sentence that asks for something; the statements before it are its context
("My order BB-10166 hasn't come. Can you check it?" is one request). Hard-wrapped lines are joined again,
the salutation and the closing thanks are dropped (the engine would take "Thanks!" for goodbye).
"""

from __future__ import annotations

import re

MAX_REQUESTS = 6  # more than this in one email: the rest goes with the last one
_SALUTATION = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|to whom it may concern)\b"
                         r"[^.?!\n]{0,40}[,!.:]?\s*$", re.I)
_CLOSING = re.compile(r"^(many |thanks|thank you|thx|cheers|regards|best|kind regards|all the best|sincerely)\b"
                      r"[^?\n]{0,40}$", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z0-9])")
_ASKS = re.compile(r"\b(please|can you|could you|would you|can i|could i|i want|i'?d like|i would like|i need"
                   r"|help me|let me know|tell me|how (do|can|should) i)\b", re.I)


def _paragraphs(text: str) -> list[str]:
    """Paragraphs with hard wraps joined; each list item is a paragraph of its own."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if not stripped or _LIST_ITEM.match(line):
            if current:
                paragraphs.append(" ".join(current))
            current = [_LIST_ITEM.sub("", line).strip()] if stripped else []
            continue
        current.append(stripped)
    if current:
        paragraphs.append(" ".join(current))
    return [p for p in paragraphs if p]


def _without_salutation_and_closing(paragraphs: list[str]) -> list[str]:
    kept = list(paragraphs)
    if len(kept) > 1 and _SALUTATION.match(kept[0]):
        kept.pop(0)
    elif kept:
        # "Hi team, my order hasn't come." - the salutation on the same line as the first sentence
        first, *rest = _SENTENCE_END.split(kept[0], maxsplit=1)
        head = re.match(r"^(hi|hello|hey|dear)\b[^,.!?]{0,30}[,!]\s*", first, re.I)
        if head and (rest or first[head.end():].strip()):
            kept[0] = " ".join([first[head.end():].strip(), *rest]).strip()
    while len(kept) > 1 and _CLOSING.match(kept[-1]):
        kept.pop()
    return kept


def _asks(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_ASKS.search(sentence))


def split_requests(text: str, limit: int = MAX_REQUESTS) -> list[str]:
    """The requests in an email's new text, in order, each a short message for the engine."""
    requests: list[str] = []
    context: list[str] = []
    for paragraph in _without_salutation_and_closing(_paragraphs(text)):
        for sentence in _SENTENCE_END.split(paragraph):
            sentence = sentence.strip()
            if not sentence:
                continue
            context.append(sentence)
            if _asks(sentence):
                requests.append(" ".join(context))
                context = []
    if context:
        # statements after the last question: a request of their own ("I want a refund." has no question mark
        # but is caught above), or context the last request needs
        requests.append(" ".join(context))
    if len(requests) > limit:
        requests = [*requests[:limit - 1], " ".join(requests[limit - 1:])]
    return requests
