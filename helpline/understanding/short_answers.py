"""Short conversational answers in English: yes, no, done, still broken, fixed, a bot challenge...

These are the understanding side's deterministic floor: wording people use constantly in a support
chat that a sentence model trained on a few phrasings misreads ("ok tried that, still nothing" is not
"ok"). The dialogue-act classifier (`acts.py`) adds coverage for everything else; the engine never
sees these patterns, only the commands they become.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Answer(StrEnum):
    AFFIRM = "affirm"
    DENY = "deny"
    NOTHING_ELSE = "nothing_else"
    STILL_BROKEN = "still_broken"
    FIXED = "fixed"
    THANKS = "thanks"
    BYE = "bye"
    BOT_CHALLENGE = "bot_challenge"
    REPEAT = "repeat"
    NOT_UNDERSTOOD = "not_understood"
    CANCEL = "cancel"


_FLAGS = re.I
_STILL_BROKEN = re.compile(
    r"\b(still (nothing|not|no(?!\s+(problem|worries))|doesn'?t|does not|won'?t|will not|isn'?t|is not|can'?t|the same"
    r"|broken|dead|jamm|leak|off|blank|stuck|happening|there)"
    r"|no (luck|joy|change|difference|dice|good)|nothing (happens|happened|changed|yet)|same (thing|problem|issue"
    r"|as before)"
    r"|(didn'?t|did not|doesn'?t|does not|hasn'?t|has not) (work|help|fix|change|do anything|make a difference|come on"
    r"|turn on|bring it back)|not working|isn'?t working|still isn'?t|won'?t (turn|switch|power|come) on"
    r"|(it'?s|is) still|nope,? (still|nothing)|not fixed|not yet|still|nothing"
    r"|(went|goes|turned|switched|cut) off again"
    r"|stuck (at|on|again)|never (came|arrived|showed up|turned up|got it)|(didn'?t|did not) (come|arrive|get it))\b",
    _FLAGS,
)
_FIXED = re.compile(
    r"\b((it'?s|it is|that'?s|thats|all|everything'?s?) (working|fixed|sorted|good|fine|ok|okay|back)( now| again)?"
    r"|(works|working|worked) (now|again|fine)|(that|it) (did it|worked|fixed it|sorted it|helped)|fixed it"
    r"|(it'?s |it )?back (on|up)( now)?|(came|come|comes|coming) (back )?on( now)?|(it'?s |it )?on now|all good"
    r"|problem solved|sorted( now)?|good to go|up and running|did the trick|(went|gone|got) through"
    r"|(it )?(paired|connected|updated|finished|logged in|signed in|back online|came back)( now| this time| fine)?"
    r"|(i'?m|i am) (in|back in|logged in)( now)?)\b",
    _FLAGS,
)
_YES = re.compile(
    # an interjection may come first: "ah ok, yes", "oh ok yes"
    r"^\W*((ah+|oh+|aha|ahh+|hmm+|um+|well|i see|got it|right)[\s.,!]+)*"
    r"(y|ya|yes|yess+|yeah|yea|yep|yup|ye|sure|ok|okay|k|kk|correct|right|go ahead|go for it|please do|do it"
    r"|proceed"
    r"|confirm(ed)?|that'?s (right|correct|fine|it|the one)|thats (right|correct|fine|it)|absolutely|definitely"
    r"|looks (good|right|fine|correct|great)|sounds (good|right|great|fine)|all correct|spot on|yes,? that'?s"
    r"|of course|sounds good|perfect|great|fine|alright|all right|yes please|please do|affirmative|exactly|makes sense"
    r"|sí|si)\b",
    _FLAGS,
)
_NO = re.compile(
    r"^\W*((actually|hmm+|um+|wait|sorry|oh|ah|well|on second thought|not sure( any ?more)?)[\s.,!]+)*"
    r"(n|no|nope|nah|naw|leave it|don'?t (do|change|cancel|go ahead|bother)|hold off|not (right )?now|no thanks"
    r"|don'?t|do not|not really|negative|wrong|incorrect|cancel that|never|not now"
    r"|i'?d rather not|rather not|not that|that'?s wrong|thats wrong|not quite|no way)\b",
    _FLAGS,
)
_NOTHING_ELSE = re.compile(
    r"\b(that'?s (all|it|everything|about it|all for (now|today))|thats (all|it|everything)|that is (all|it|everything)"
    r"|nothing (else|more)|no(thing)? more|i'?m (all )?(done|good|set|sorted)|im (done|good|set)|all (done|set|good)"
    r"|we'?re (done|good)|no,? (that'?s|thats|i'?m|im) (all|it|fine|good|everything|done)|that (will|would) be all"
    r"|no,? (thanks|thank you|thx|ty)|(ok|okay|k) whatever|whatever,? (thx|thanks)|no other|(nope|no),? all good"
    r"|that covers it|not today|i think that'?s (it|all))\b",
    _FLAGS,
)
_THANKS = re.compile(
    r"\b(thanks?|thank you|thx|ty|tysm|cheers|appreciate( it)?|much appreciated|gracias|merci|danke)\b", _FLAGS
)
_BYE = re.compile(r"\b(bye|goodbye|good bye|bye bye|see (you|ya)|cya|take care|have a (good|nice|great) (one|day|night)"
                  r"|later|adi[oó]s|ciao|au revoir)\b", _FLAGS)
_BOT = re.compile(
    r"\b((are|r) (you|u) (a |an )?(real|human|person|bot|robot|machine|ai|computer|live)"
    r"|(is this|am i|are we) (talking|chatting|speaking|texting) (to|with) (a |an )?(bot|robot|real person|human"
    r"|machine|ai|computer|person)|(is this|talking to|chatting with) (a |an )?(bot|robot|machine|ai|computer)"
    r"|you'?re (a |an )?(bot|robot|ai)|is (this|that) (an? )?(automated|automatic)|are you automated)\b",
    _FLAGS,
)
_REPEAT = re.compile(
    r"^\W*(what\??|sorry\??|pardon( me)?\??|come again|huh\??|say (that|it) again|repeat( that| please)?|can you repeat"
    r"|could you repeat|(sorry,? )?what did you (say|mean|need|want|ask)( from me| for)?"
    r"|i (didn'?t|did not) (catch|get|hear) that)\W*$",
    _FLAGS,
)
_NOT_UNDERSTOOD = re.compile(
    r"\b(i don'?t (understand|get it)|i do not understand|what do you mean|no entiendo|no comprendo|je ne comprends pas"
    r"|ich verstehe (das )?nicht|confused)\b",
    _FLAGS,
)
_CANCEL = re.compile(
    r"^\W*((ok|okay|oh|well|fine|hmm|um|actually|then)[\s,.!]+)*"
    r"((stop|cancel( that| this| it)?|scratch that|don'?t bother|leave it|not anymore)\W*($|[.!,;]\s)"
    r"|never ?mind|nvm|forget (it|that|about it)|i changed my mind|changed my mind"
    r"|i don'?t want (it|that|to) any ?more)",
    _FLAGS,
)


def short_answers(text: str) -> set[Answer]:
    """The conversational answers a message carries; several at once ("yes makes sense, thanks!")."""
    found: set[Answer] = set()
    stripped = text.strip()
    if not stripped:
        return found
    words = len(stripped.split())
    if _STILL_BROKEN.search(stripped) and not _FIXED.search(stripped):
        found.add(Answer.STILL_BROKEN)
    elif _FIXED.search(stripped) and not re.search(r"\b(not|n'?t|never)\b", stripped, _FLAGS):
        found.add(Answer.FIXED)
    if _NOTHING_ELSE.search(stripped):
        found.add(Answer.NOTHING_ELSE)
    if _NO.match(stripped) and Answer.FIXED not in found:
        found.add(Answer.DENY)
    elif _YES.match(stripped) and Answer.STILL_BROKEN not in found:
        found.add(Answer.AFFIRM)
    if _THANKS.search(stripped):
        found.add(Answer.THANKS)
    if _BYE.search(stripped) and words <= 8:
        found.add(Answer.BYE)
    if _BOT.search(stripped):
        found.add(Answer.BOT_CHALLENGE)
    if _REPEAT.match(stripped):
        found.add(Answer.REPEAT)
    if _NOT_UNDERSTOOD.search(stripped):
        found.add(Answer.NOT_UNDERSTOOD)
        found.discard(Answer.DENY)  # "no entiendo" is not "no"
    if _CANCEL.match(stripped):
        found.add(Answer.CANCEL)
        found.discard(Answer.AFFIRM)  # "ok, never mind" drops the request; the "ok" agrees to nothing
    return found

