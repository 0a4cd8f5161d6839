"""The carriers' SMS keywords (CTIA; Twilio's defaults): opt-out, opt-in and help.

A keyword counts only as the whole message ("STOP", "stop.", " Unsubscribe "), never inside a sentence
("please stop the order" is a request for the agent). CANCEL, END and QUIT are opt-outs on every US carrier
whatever the conversation: the provider would block later messages anyway. YES opts in only a number that
opted out; otherwise it is an answer for the agent ("Shall I cancel it?" "Yes").
"""

from __future__ import annotations

import re
from enum import StrEnum


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
OPT_IN_ONLY_WHEN_OPTED_OUT = frozenset({"YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})

_EDGE_PUNCTUATION = re.compile(r"^[\s\W_]+|[\s\W_]+$")

STOP_CONFIRMATION = ("You have successfully been unsubscribed. You will not receive any more messages from this "
                     "number. Reply START to resubscribe.")
START_CONFIRMATION = ("You have successfully been re-subscribed to messages from this number. Reply HELP for help. "
                      "Reply STOP to unsubscribe. Msg&Data Rates May Apply.")


def help_reply(business: str) -> str:
    return (f"{business}: text your question and our assistant answers; ask for a person any time. "
            "Reply STOP to unsubscribe. Msg&Data Rates May Apply.")


def keyword_of(body: str, opted_out: bool) -> tuple[Keyword, str] | None:
    """The keyword this whole message is, with the word as typed (upper-cased), or None."""
    word = _EDGE_PUNCTUATION.sub("", body).upper()
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT, word
    if word in OPT_IN_WORDS and (opted_out or word not in OPT_IN_ONLY_WHEN_OPTED_OUT):
        return Keyword.OPT_IN, word
    if word in HELP_WORDS:
        return Keyword.HELP, word
    return None
