"""A fault with something the caller has: a leak, no heat, a lid that won't shut, a burning smell.

Callers report faults in their own words ("there's water coming out from underneath", "the steam wand doesn't get hot
anymore"), which the product's articles seldom use: the search finds the product, not the fault, and answers from
the product's description or not at all. What the business does about a fault is its repair policy, so a question
for the articles that reports one carries a second query for it (`AskKnowledge.repair`); the engine answers from
it only when the caller's own words found no sure answer nor a procedure to start, and the policy's article is
found surely.

The fault must be one that no troubleshooting procedure is for: "won't turn on" is the power procedure's, an error
code the app procedure's, arrival damage the return's (`delivery_problem`). English only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from helpline.conversation.commands import AskKnowledge, Command
from helpline.pack.models import Procedure
from helpline.understanding.builtin_intents import OUT_OF_SCOPE
from helpline.understanding.request_fit import ASKS_PRICE, delivery_problem, never_says_no_power

# The business's repair policy, as a caller would ask for it.
REPAIR_QUESTION = "is a faulty product repaired or replaced under warranty"

_NOT = r"(?:won'?t|wont|doesn'?t|does not|will not|isn'?t|is not|not|never|no longer|can'?t|cannot)"
_FAULT = re.compile(
    rf"\bleak(?:s|ing|ed|y)?\b|\bdripp?(?:s|ing)\b|\bwater (?:coming|pouring|going) (?:out|everywhere)\b"
    rf"|\b{_NOT} (?:even )?(?:(?:get|gets|getting) (?:hot|warm)|heat|heats|heating|warm|warms|boil|boils|boiling)"
    rf"(?: up)?\b"
    rf"|\bno (?:heat|steam|pressure|hot water)\b|\b(?:stays?|stayed|goes|went|is) (?:stone )?cold\b"
    rf"|\b{_NOT} (?:click|clicks|close|closes|shut|shuts|lock|locks|latch|latches|stay shut|stay closed|seal|seals)\b"
    rf"|\b(?:broken|broke|faulty|defective|cracked|snapped|came off|came loose|fell off|falling apart)\b"
    rf"|\bburning smell\b|\bsmells? (?:of )?burning\b|\bsmok(?:e|ing)\b|\bsparks?\b|\btrip(?:s|ped|ping) the\b"
    rf"|\bruste?d?y?\b",
    re.I)


# ... with something the business never sold: "a machine that's not one of yours", "I got it from another shop"
_NOT_OURS = re.compile(
    r"\bnot (?:one of |from )?(?:yours|you|ours)\b|\bdifferent (?:shop|store|brand|company|retailer|website)\b"
    r"|\b(?:from|at|in) (?:another|some other|a different) (?:shop|store|retailer|website|company|place)\b"
    r"|\bbought (?:it |them )?(?:elsewhere|somewhere else)\b", re.I)


def reports_fault(text: str) -> bool:
    """The message tells of a fault with something the caller has from the business (not damage in the post)."""
    return bool(_FAULT.search(text)) and delivery_problem(text) is None and not _NOT_OURS.search(text)


def for_another_fault(text: str, procedure: Procedure) -> bool:
    """A fault is told that the procedure is not for: "the steam wand doesn't get hot" is no machine that won't power
    on, nor a price to look up (most triggers of the procedure ask a price)."""
    if not reports_fault(text):
        return False
    asks_prices = sum(bool(ASKS_PRICE.search(t)) for t in procedure.triggers) * 2 > len(procedure.triggers)
    return asks_prices or never_says_no_power(text, procedure)


def with_repair_question(commands: Sequence[Command], language: str, requests: Sequence[str]) -> list[Command]:
    """Each question for the articles that reports a fault, with the repair policy's query (English messages).
    Not when the classifier ranks out-of-scope above every procedure (`requests`: the procedures and out-of-scope,
    best first; "my boiler's packed in, is this the gas board?" is a fault too, someone else's)."""
    if language.split("-")[0] not in ("", "en") or (requests and requests[0] == OUT_OF_SCOPE):
        return list(commands)
    return [replace(c, repair=REPAIR_QUESTION) if isinstance(c, AskKnowledge) and reports_fault(c.query) else c
            for c in commands]
