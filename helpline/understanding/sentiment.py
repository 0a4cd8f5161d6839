"""How frustrated a customer sounds, from VADER sentiment plus contact-centre cues.

VADER alone under-reads contact-centre anger: "third time I'm calling about this", "I'm fed up, it's
STILL jamming after your so-called fix" and "great, just great" are neutral or even positive to it.
So explicit cues raise the score and are reported by name for the ticket and the engine:

- ``complaint``: the words of a complaint (ridiculous, unacceptable, useless, fed up, sick of, a joke,
  waste of time, not good enough, so-called, waiting forever, nobody cares...), plain dissatisfaction
  (not happy, disappointed, losing patience; not when softened: "a bit disappointed"), exasperation
  ("for goodness' sake", "what the hell") and rhetorical questions ("why do I always have to...",
  "is anyone actually..."); each further distinct one adds a little;
- ``broken_promise``: "you promised", "was supposed to be fixed by now", "it never happened";
- ``threat``: to leave, cancel everything, post a bad review, charge back, see a lawyer;
- ``failed_fix``: still broken after a fix or repair, "the fix didn't work", "the engineer made it worse";
- ``sarcasm``: "great, just great", "thanks for nothing", "oh perfect, now it won't start", a nice word
  alone next to bad news ("Another delay? Perfect."), "Typical.";
- ``emphasis``: a word in capitals in an otherwise ordinary message ("it's STILL jamming");
- ``caps`` (most of the message in capitals), ``exclamation`` (!! or ?!), ``profanity``, ``manager``,
  ``repeat_contact`` (said, or flagged by the caller), ``negative`` (VADER compound <= -0.4).

Calibration: the engine acknowledges frustration at 0.55 (ConversationPolicy.frustrated). A plain
problem report ("my grinder is jammed", "it's still not working, what next?") stays below it, ordinary
anger reaches it, and clear fury scores 0.75 or more. Tuned on the examples in
tests/understanding/test_sentiment.py; held-out figures: `python -m bench.frustration` (docs/benchmarks.md).
On fresh held-out messages calm ones stay calm and explicit anger is caught, but frustration said
without any of these cues mostly is not: a lexicon has that limit.

So a small learned model reads the tone as well: a three-class logistic regression (calm, frustrated,
angry) over the MiniLM sentence embedding the understander already computes, trained by
``bench/frustration/train.py`` on the hand-written messages in ``frustration_examples.py``. It only ever
raises the score: when its probability of frustrated-or-angry reaches the threshold tuned on dev messages
the score is at least 0.55 (and at least 0.75 when it is sure of anger), reported as the cue ``tone``;
below that threshold it adds nothing, so the rules alone decide and a plain problem report stays calm.
Messages of one or two words are left to the rules: their embeddings say too little ("hello" and
"this again" sit close together). The weights ship in ``models/frustration.npz``, whose sha256 is pinned
below so that a swapped or retrained file fails loudly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from helpline.conversation.ports import Embedder
from helpline.understanding.embeddings import DIMENSION, ModelIntegrityError, verify_model_file

F32 = npt.NDArray[np.float32]

TONE_MODEL_PATH = Path(__file__).resolve().parent / "models" / "frustration.npz"
TONE_MODEL_SHA256 = "bf1e489e2a2e7aaf697bed313399f62b3e39a330a99959287fc5e76412514d98"
TONE_LABELS = ("calm", "frustrated", "angry")
TRIGGER, FURY = 0.55, 0.75  # the engine acknowledges at 0.55 (ConversationPolicy.frustrated); fury from 0.75
TONE_MIN_WORDS = 3  # shorter messages are left to the rules

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
    r"(?:yet\s+)?again\s+and\s+again|still\s+(?:not|hasn'?t|haven'?t|no)|how\s+many\s+times|"
    r"(?:yet|once)\s+again|over\s+and\s+over|"
    r"(?:three|four|five|six|several|multiple|many|countless|\d+)\s+(?:times|calls|emails|messages|attempts)|"
    r"keep\s+(?:calling|telling|asking|explaining|having\s+to)|still\s+waiting|"
    r"(?:broke|broken|failed|stopped\s+working|jamm(?:ed|ing)|leaking)\s+again|same\s+(?:problem|issue|fault)\s+again)\b"
)
_EXCLAIM = re.compile(r"!{2,}|\?!|!\?|\?{3,}")

# Words of a complaint. Each alternative is one cue phrase; distinct phrases add up (a little).
_COMPLAINT = re.compile(
    r"(?i)\b(?:"
    r"ridiculous|unacceptable|useless|pathetic|absurd|outrageous|disgrace(?:ful)?|shambl(?:es|ic)|"
    r"incompeten(?:t|ce)|hopeless|appalling|atrocious|abysmal|disgusting|dreadful|laughable|"
    r"unbelievable|inexcusable|unprofessional|worthless|rubbish|garbage|scam|scammers?|rip[- ]?off|clueless|"
    r"idiots?|morons?|"
    r"(?:terrible|awful|horrible|lousy|poor|bad|worst)\s+(?:customer\s+)?(?:service|support|company|experience)|"
    r"worst\s+(?:\w+\s+)?(?:ever|i'?ve\s+ever)|"
    r"fed\s+up|(?:sick|tired)\s+(?:and\s+tired\s+)?of|had\s+enough|i'?ve\s+had\s+it\s+with|enough\s+is\s+enough|"
    r"(?:what\s+a|this\s+is\s+a|it'?s\s+a|you'?re\s+a|such\s+a|(?:a\s+)?(?:complete|total|absolute|bad|sick))\s+joke|"
    r"joke\s+of\s+a|(?:is|are)\s+(?:a\s+)?(?:complete\s+|total\s+)?joke|"
    r"waste\s+of\s+(?:my\s+)?(?:time|money|space)|wasting\s+my\s+time|"
    r"not\s+good\s+enough|so[- ]called|"
    r"waiting\s+(?:for\s+)?(?:forever|ages|weeks|months|so\s+long|all\s+day|for\s+days|for\s+hours)|"
    r"(?:weeks|days|hours|ages)\s+of\s+waiting|"
    r"(?:can'?t|cannot|can\s+not)\s+believe|are\s+you\s+(?:kidding|serious|joking)|"
    r"(?:you'?ve|you\s+have)\s+got\s+to\s+be\s+kidding|seriously\s*[?!]|"
    r"how\s+(?:hard|difficult)\s+(?:can\s+it\s+be|is\s+it)|what(?:'s|\s+is)\s+wrong\s+with\s+(?:you|your|this)|"
    r"(?:nobody|no\s+one|no-one)\s+(?:ever\s+)?(?:cares|helps|listens|answers|replies|responds|"
    r"got\s+back|gets\s+back|called\s+(?:me\s+)?back|bothered)|"
    r"never\s+(?:got|had|received)\s+(?:a\s+|any\s+)?(?:reply|response|answer|call\s*back)|"
    r"i'?m\s+(?:so\s+|really\s+|very\s+|extremely\s+|absolutely\s+|beyond\s+)?"
    r"(?:angry|furious|livid|fuming|annoyed|frustrated|pissed|mad|disgusted|outraged|raging)|"
    r"(?:this\s+is\s+|so\s+|really\s+|very\s+|beyond\s+|extremely\s+|incredibly\s+)?"
    r"(?:frustrating|infuriating|maddening|exasperating)|"
    r"(?:treat(?:ed|ing)?|speak(?:ing)?\s+to)\s+(?:me\s+)?like\s+(?:an?\s+)?(?:idiot|fool|child)|"
    r"why\s+is\s+(?:this|it|everything)\s+so\s+(?:hard|difficult|complicated)|"
    r"i\s+just\s+want\s+(?:my\s+money\s+back|a\s+refund|(?:this|it)\s+(?:sorted|fixed|to\s+work))|"
    # dissatisfaction said plainly
    r"(?:not|never)\s+(?:at\s+all\s+|very\s+|remotely\s+)?(?:happy|impressed|satisfied|pleased)|"
    r"unhappy|dissatisfied|disappointed|disappointing|let\s+down|"
    r"(?:losing|lost)\s+(?:my\s+|all\s+)?patience|running\s+out\s+of\s+patience|wit'?s\s+end|"
    r"end\s+of\s+my\s+tether|beyond\s+a\s+joke|getting\s+(?:silly|ridiculous|absurd|beyond)|"
    # exasperation
    r"for\s+(?:god'?s|goodness'?|heaven'?s|pete'?s|christ'?s)\s+sake|for\s+crying\s+out\s+loud|"
    r"don'?t\s+you\s+dare|give\s+me\s+a\s+break|(?:what|how|why|where)\s+the\s+(?:hell|heck)|"
    r"wasted\s+(?:my\s+|an?\s+|the\s+)?(?:whole\s+|entire\s+)?(?:time|morning|afternoon|evening|day|hour|hours|week)|"
    r"on\s+hold\s+for\s+(?:ages|hours|an\s+hour|over\s+an\s+hour)|"
    r"still\s+(?:nothing|no\s+(?:reply|response|answer|refund|word|news|update|call\s*back|email|sign))|"
    r"should\s+have\s+(?:been\s+)?\w+\s+(?:days|weeks|months|ages)\s+ago|"
    # rhetorical questions
    r"why\s+(?:do|must|should)\s+i\s+(?:always\s+|even\s+|constantly\s+|keep\s+)?(?:have|need)\s+to|"
    r"why\s+do\s+i\s+always|why\s+(?:is|are)\s+(?:nobody|no\s+one|no-one)|"
    r"(?:is|will)\s+(?:anyone|anybody|someone)\s+(?:actually|even|ever)\b|"
    r"can\s+(?:someone|anyone|anybody|you)\s+actually|for\s+once\s*[?!]|"
    r"are\s+you\s+(?:even|actually)\s+(?:reading|listening)|does\s+anyone\s+(?:even\s+)?(?:read|care|listen)|"
    r"(?:nobody|no\s+one|no-one)\s+(?:has\s+|had\s+|have\s+|ever\s+)?(?:replied|responded|answered|called|rung|"
    r"emailed|noticed|bothered|helped|listened|got\s+back|come\s+back|fixed)|"
    r"you\s+(?:people|lot)\b"
    r")(?![\w-])"
)

_THREAT = re.compile(
    r"(?i)\b(?:"
    # leaving, said as a threat
    r"(?:i'?ll|i\s+will|i'?m\s+(?:going\s+to|gonna|about\s+to|ready\s+to)|gonna|i\s+swear\s+i'?ll)\s+"
    r"(?:just\s+|simply\s+)?(?:leave\s+(?:you|your\s+company|this\s+company)|"
    r"switch\s+(?:to\s+(?:a\s+|another\s+)?(?:competitor|other\s+(?:company|brand|supplier|shop))|brands|suppliers)|"
    r"go\s+(?:elsewhere|somewhere\s+else|to\s+a\s+competitor)|"
    r"take\s+my\s+(?:business|money|custom)|close\s+my\s+account|stop\s+(?:buying|ordering|using))|"
    r"(?:i'?ll|i\s+will|i'?m\s+(?:going\s+to|gonna)|gonna)\s+(?:just\s+)?cancel\s+"
    r"(?:everything|it\s+all|all\s+of\s+it|all\s+my|my\s+(?:whole\s+|entire\s+)?(?:account|subscription|membership))|"
    r"(?:or|otherwise|else|unless)\s+(?:i'?ll|i\s+will|i'?m\s+going\s+to)\s+(?:cancel|leave|close|report|sue)|"
    r"if\s+[^.!?]{0,80}?\b(?:i'?ll|i\s+will|i'?m\s+going\s+to)\s+(?:be\s+)?"
    r"(?:cancel\w*|leav\w*|clos\w*|report\w*|go(?:ing)?\s+to\s+(?:my\s+bank|a\s+competitor)|tak(?:e|ing)\s+my|"
    r"post\w*|writ\w*|sue|suing)|"
    r"report(?:ing)?\s+you|reviews?\s+everywhere|going\s+to\s+my\s+bank|"
    r"cancel\s+(?:everything|it\s+all|all\s+of\s+it)|"
    r"tak(?:e|ing)\s+my\s+(?:business|money|custom)\s+elsewhere|"
    r"never\s+(?:again\s+)?(?:order|ordering|buy|buying|shop|shopping|use|using)\s+(?:\w+\s+)?(?:from|with)\s+you|"
    r"(?:never|not)\s+(?:order|buy|shop)\w*\s+(?:from\s+you\s+|here\s+|with\s+you\s+)?again|"
    # reviews and public complaints
    r"(?:1|one)[- ]star|(?:bad|negative|terrible|awful|scathing|horrible)\s+reviews?|"
    r"(?:review|post|tweet|write)\s+(?:about\s+)?(?:this|you|it)\s+(?:on|everywhere|online)|"
    r"(?:tell|warn)\s+(?:everyone|everybody|all\s+my\s+friends)|"
    # money and the law
    r"charge\s?backs?|dispute\s+(?:the|this)\s+(?:charge|payment|transaction)|"
    r"(?:i'?ll|i\s+will|i'?m\s+going\s+to|gonna)\s+(?:call|contact|ring)\s+my\s+bank|"
    r"lawyers?|attorneys?|solicitors?|(?:i'?ll|i\s+will|going\s+to|gonna|to)\s+sue|suing|legal\s+action|"
    r"small\s+claims|take\s+you\s+to\s+court|trading\s+standards|ombudsman|better\s+business\s+bureau|bbb|"
    r"consumer\s+protection"
    r")\b"
)

_BROKEN_PROMISE = re.compile(
    r"(?i)\b(?:"
    r"(?:you|they|he|she|your\s+\w+)\s+promised|i\s+was\s+(?:promised|told\s+it\s+would)|"
    r"(?:was|were|is|are)\s+(?:supposed|meant)\s+to\s+(?:be\s+|have\s+)?\w+(?:\s+\w+)?\s+"
    r"(?:by\s+now|days\s+ago|weeks\s+ago|yesterday|last\s+week)|"
    r"never\s+happened|didn'?t\s+happen|"
    r"(?:you|they)\s+(?:said|told\s+me)\s+(?:you|they|it|someone)\s+(?:would|will|was\s+going\s+to)\b[^.!?]{0,40}?"
    r"\b(?:but|and)\s+(?:never|didn'?t|nobody|no\s+one|it\s+(?:isn'?t|wasn'?t|hasn'?t|didn'?t))"
    r")\b"
)

_FIX = (r"(?:so[- ]called\s+)?(?:fix(?:es)?|repair|repairs|replacement|update|reset|service|servicing|engineer|"
        r"technician|advice|instructions|tips?|descal\w*|clean\w*|troubleshooting|solution|part)")
_FAILED_FIX = re.compile(
    r"(?i)\b(?:"
    r"(?:still|again)\b[^.!?]{0,50}?\b(?:after|since|despite)\s+(?:the\s+|your\s+|that\s+|this\s+|my\s+|a\s+|"
    r"all\s+(?:the\s+|your\s+)?|two\s+|three\s+|\w+\s+)?" + _FIX + r"|"
    r"(?:the|your|that|this)\s+" + _FIX + r"\s+(?:didn'?t|did\s+not|doesn'?t|does\s+not|hasn'?t|has\s+not|never)"
    r"\s+(?:work|fix|help|last|solve)|"
    r"(?:you|they|your\s+\w+)\s+(?:said|promised|told\s+me)\s+(?:it\s+)?(?:was|would\s+be|had\s+been)\s+"
    r"(?:fixed|sorted|repaired|resolved)|"
    r"(?:made|makes|making)\s+it\s+(?:even\s+)?worse|worse\s+than\s+before|"
    r"(?:leak\w*|jamm\w*|nois\w*)\s+even\s+more|"
    r"(?:fix|repair|advice|tips?|suggestion|article|engineer|technician|troubleshooting|instructions?)\b[^.!?]{0,30}?"
    r"\b(?:did\s+nothing|made\s+no\s+difference|was\s+(?:useless|pointless))"
    r")\b"
)

_NICE = r"(?:great|perfect|wonderful|brilliant|fantastic|lovely|marvell?ous|terrific|excellent|super|awesome)"
_SARCASM = re.compile(
    r"(?i)(?:"
    r"\b" + _NICE + r"[\s,.!…]+(?:just|simply|absolutely|really|truly)\s+" + _NICE + r"\b|"
    r"\boh\s+(?:great|perfect|wonderful|brilliant|fantastic|lovely|joy|goody|good)\b[^.!?]{0,12}"
    r"\b(?:now|again|another|still|broken|not|no|nothing|won'?t|doesn'?t|didn'?t|can'?t|isn'?t|more)\b|"
    r"\bthanks?\s+(?:you\s+)?(?:a\s+lot\s+|so\s+much\s+)?for\s+(?:nothing|wasting|absolutely\s+nothing)\b|"
    r"\byeah,?\s+right\b|\bwhat\s+a\s+(?:surprise|shock)\b|\bsurprise,?\s+surprise\b|"
    r"\bwell\s+done\b[^.!?]{0,20}\b(?:broke|broken|lost|again|not|nothing|wrong)\b|"
    r"\b(?:i\s+)?(?:just\s+)?love\s+how\s+(?:you|your|it|nobody|no\s+one|i)\b|"
    r"\b(?:very|so|super|really|most)\s+helpful\b(?:\s*(?:…|\.\.\.)|,?\s+(?:not|thanks\s+for\s+nothing))|"
    r"\bgreat\s+(?:job|service|work)\b[^.!?]{0,30}\b(?:not|never|again|still|broken|nothing|wrong)\b|"
    r"🙄|(?<!\w)/s\b"
    r")"
)

# A nice word said on its own next to bad news ("Another delay? Perfect." / "Lovely. It broke on day two.")
_NICE_ALONE = re.compile(r"(?i)(?:^|[.!?]\s+)(?:oh\s+)?" + _NICE + r"(?:\s+stuff)?\s*[.!?,…]+")
_JUST_WHAT = re.compile(r"(?i)\b(?:exactly|just)\s+what\s+i\s+(?:needed|wanted)\b(?![^.!?]*\bthank)")
_TYPICAL = re.compile(r"(?i)(?:^|[.!?]\s+)typical\b")
_BAD_NEWS = re.compile(
    r"(?i)\b(?:another|again|delay\w*|broke|broken|still|never|nothing|fault\w*|wrong|late|lost|missing|"
    r"cancel\w*|charged|leak\w*|jamm\w*|crack\w*|stopped|dead|won'?t|doesn'?t|didn'?t|isn'?t|not)\b"
)
_GENUINE = re.compile(r"(?i)\b(?:thanks?|thank\s+you|cheers|worked|fixed|helped|sorted|solved)\b")


def _sarcastic(text: str) -> bool:
    if _SARCASM.search(text) or _TYPICAL.search(text):
        return True
    if (_NICE_ALONE.search(text) or _JUST_WHAT.search(text)) and _BAD_NEWS.search(text):
        return not _GENUINE.search(text)
    return False


# Words written in capitals for emphasis in an otherwise ordinary message; other capitalised words count
# from four letters, except acronyms that are simply written that way.
_EMPHATIC = frozenset(str.split(
    "STILL NOT NEVER NOW AGAIN ALWAYS NOTHING NOBODY EVERY WORST ANY NO WHY WHAT HOW ALREADY SERIOUSLY TWICE "
    "THIRD THREE FOUR FIVE DAYS WEEKS MONTHS HOURS ALL ONE SINGLE EVER DONE REFUND MONEY BROKEN USELESS "
    "CANCEL TODAY ASAP WRONG HAVE DID DIDN'T DOESN'T WON'T CAN'T ISN'T YOUR YOU"
))
_ACRONYMS = frozenset(str.split(
    "OK OKAY ID PIN USB UK US USA EU SMS URL ETA FAQ FAQS APP WIFI HTTP HTTPS HTML PDF CSV UPS DHL USPS FEDEX "
    "IBAN VAT GST TV PC LED LCD AM PM GMT UTC BST EST PST CET AI BB PS PPS RSVP TBD TBC FYI IMO IMHO BTW "
    "THX THANKS HELLO HI"
))
_CAP_WORD = re.compile(r"\b[A-Z][A-Z']*[A-Z]\b")

_CUE_WEIGHTS = {
    "profanity": 0.35,
    "caps": 0.25,
    "manager": 0.2,
    "repeat_contact": 0.25,
    "exclamation": 0.15,
    "complaint": 0.55,  # frustration enough on its own; +0.05 for each further distinct phrase, up to two more
    "threat": 0.5,
    "failed_fix": 0.4,  # +0.15 for a second sign of it ("your fix didn't work, it's jamming again")
    "sarcasm": 0.55,
    "broken_promise": 0.55,
    "emphasis": 0.15,
    "negative": 0.0,  # already counted through the VADER part
}
_EXTRA_COMPLAINT = 0.05
_EXTRA_FAILED_FIX = 0.15
# Several different signs at once (three or more cues besides "negative") add this.
_PILE_UP = 0.1
_NOT_WORDS = re.compile(r"\S*[@/\d]\S*")  # emails, links, ids: never emphasis or capitals


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


def _emphasis(text: str) -> bool:
    """A capitalised word for emphasis ("it's STILL jamming"), not an acronym or an id."""
    return any(w in _EMPHATIC or (len(w) >= 4 and w not in _ACRONYMS) for w in _CAP_WORD.findall(text))


_MITIGATED = re.compile(r"(?i)\b(?:a\s+(?:bit|little|tad)|slightly|somewhat|kind\s+of|a\s+touch)\s+$")


def _distinct(pattern: re.Pattern[str], text: str) -> int:
    """How many distinct phrases of `pattern` `text` has, not counting softened ones ("a bit disappointed")."""
    return len({re.sub(r"\W+", " ", m.group(0).lower()) for m in pattern.finditer(text)
                if not _MITIGATED.search(text[max(0, m.start() - 20):m.start()])})


@dataclass(frozen=True)
class ToneWeights:
    """Everything in ``frustration.npz``: the logistic regression and the thresholds tuned on dev data."""

    coef: F32  # (384, 3): columns calm, frustrated, angry, applied to the unit-norm MiniLM embedding
    bias: F32  # (3,)
    upset_threshold: float  # P(frustrated) + P(angry) from which the score is at least TRIGGER
    angry_threshold: float  # P(angry) from which (once upset) the score is at least FURY
    C: float  # the regularisation picked on dev data, kept for the record

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            labels=np.array(TONE_LABELS),
            coef=self.coef.astype(np.float32),
            bias=self.bias.astype(np.float32),
            upset_threshold=np.float32(self.upset_threshold),
            angry_threshold=np.float32(self.angry_threshold),
            C=np.float32(self.C),
        )

    @classmethod
    def read(cls, path: Path) -> ToneWeights:
        with np.load(path, allow_pickle=False) as data:
            if tuple(str(label) for label in data["labels"]) != TONE_LABELS:
                raise ModelIntegrityError(f"{path} has labels {list(data['labels'])}, expected {list(TONE_LABELS)}")
            weights = cls(
                coef=np.asarray(data["coef"], dtype=np.float32),
                bias=np.asarray(data["bias"], dtype=np.float32),
                upset_threshold=float(data["upset_threshold"]),
                angry_threshold=float(data["angry_threshold"]),
                C=float(data["C"]),
            )
        if weights.coef.shape != (DIMENSION, len(TONE_LABELS)) or weights.bias.shape != (len(TONE_LABELS),):
            raise ModelIntegrityError(f"{path} has inconsistent array shapes")
        return weights


class ToneModel:
    """How upset a message sounds from its MiniLM embedding, as a score on the rules' scale."""

    def __init__(self, weights: ToneWeights) -> None:
        self.weights = weights

    @classmethod
    def load(cls, path: Path = TONE_MODEL_PATH, expected_sha256: str = TONE_MODEL_SHA256) -> ToneModel:
        """The shipped model, after checking the file is byte-for-byte the one that was evaluated."""
        verify_model_file(path, expected_sha256, "frustration model",
                          "the file is corrupted or was retrained without updating TONE_MODEL_SHA256")
        return cls(ToneWeights.read(path))

    def probabilities(self, embedding: F32) -> npt.NDArray[np.float64]:
        """P(calm), P(frustrated), P(angry) for one embedding."""
        vec = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vec.shape != (DIMENSION,):
            raise ValueError(f"embedding must have {DIMENSION} values, got {vec.shape}")
        logits = (vec @ self.weights.coef + self.weights.bias).astype(np.float64)
        logits -= logits.max()
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(), dtype=np.float64)

    def score(self, embedding: F32) -> float:
        return tone_score(self.probabilities(embedding), self.weights.upset_threshold, self.weights.angry_threshold)


def tone_score(probs: npt.NDArray[np.float64], upset_threshold: float, angry_threshold: float) -> float:
    """The model's probabilities on the rules' scale: 0 below ``upset_threshold`` (the model says nothing),
    then 0.55-0.70 as P(frustrated or angry) rises, and 0.75-0.95 once P(angry) reaches ``angry_threshold``."""
    upset, angry = float(probs[1] + probs[2]), float(probs[2])
    if upset < upset_threshold:
        return 0.0
    value = TRIGGER + 0.15 * (upset - upset_threshold) / max(1e-9, 1.0 - upset_threshold)
    if angry >= angry_threshold:
        value = max(value, FURY + 0.2 * (angry - angry_threshold) / max(1e-9, 1.0 - angry_threshold))
    return round(value, 3)


@lru_cache(maxsize=1)
def _shipped_tone_model() -> ToneModel:
    return ToneModel.load()


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def tone_applies(text: str) -> bool:
    """Whether the model reads ``text`` at all: one- and two-word messages are left to the rules."""
    return len(_WORD.findall(text)) >= TONE_MIN_WORDS


class FrustrationScorer:
    def __init__(
        self,
        max_chars: int = 2000,
        embedder: Embedder | None = None,
        tone: ToneModel | None = None,
        use_tone: bool = True,
    ) -> None:
        """``tone``: the learned model (default: the shipped one); ``use_tone=False`` scores by the rules
        alone. ``embedder`` embeds a message when ``score`` is not given its embedding (default: MiniLM)."""
        self._max_chars = max_chars
        self._embedder = embedder
        self._tone = tone
        self._use_tone = use_tone
        if use_tone and tone is None:
            self._tone = _shipped_tone_model()

    @property
    def reads_tone(self) -> bool:
        """Whether the learned model is used (and so an embedding of the message is wanted)."""
        return self._tone is not None

    def score(
        self, text: str, repeat_contact: bool = False, embedding: F32 | None = None
    ) -> tuple[float, tuple[str, ...]]:
        """Return (frustration in [0, 1], cues found), e.g. (0.8, ("caps", "profanity")).

        ``embedding``: the message's MiniLM vector, if the caller has already computed it (the
        understander has), so the model costs a 384x3 product instead of another forward pass."""
        text = text[: self._max_chars]
        value, cues = self.rules(text, repeat_contact)
        if self._tone is None or not tone_applies(text):
            return value, cues
        tone = self._tone.score(self._embed(text) if embedding is None else embedding)
        if tone > value and tone >= TRIGGER:
            return tone, (*cues, "tone")
        return value, cues

    def _embed(self, text: str) -> F32:
        if self._embedder is None:
            from helpline.understanding.embeddings import MiniLMEmbedder

            self._embedder = MiniLMEmbedder()
        return np.asarray(self._embedder.encode([text])[0], dtype=np.float32)

    def rules(self, text: str, repeat_contact: bool = False) -> tuple[float, tuple[str, ...]]:
        """The score and cues from VADER and the cue patterns alone."""
        text = text[: self._max_chars].replace("’", "'")
        cues: list[str] = []
        compound = float(_vader().polarity_scores(text)["compound"]) if text.strip() else 0.0
        words_only = _NOT_WORDS.sub(" ", text)
        if _mostly_caps(words_only):
            cues.append("caps")
        elif _emphasis(words_only):
            cues.append("emphasis")
        if _PROFANITY.search(text):
            cues.append("profanity")
        if _MANAGER.search(text):
            cues.append("manager")
        if _EXCLAIM.search(text):
            cues.append("exclamation")
        if repeat_contact or _REPEAT.search(text):
            cues.append("repeat_contact")
        complaints = _distinct(_COMPLAINT, text)
        if complaints:
            cues.append("complaint")
        if _THREAT.search(text):
            cues.append("threat")
        failed_fixes = _distinct(_FAILED_FIX, text)
        if failed_fixes:
            cues.append("failed_fix")
        if _BROKEN_PROMISE.search(text):
            cues.append("broken_promise")
        if _sarcastic(text):
            cues.append("sarcasm")
        if compound <= -0.4:
            cues.append("negative")
        # Only negative sentiment adds frustration; a cheerful message is simply calm (and a sarcastic
        # one's "great" is not counted as cheer).
        base = max(0.0, -compound) * 0.6
        if complaints:
            base /= 2  # VADER already reacts to the complaint's own words ("useless", "ridiculous")
        total = base + sum(_CUE_WEIGHTS[c] for c in cues)
        total += _EXTRA_COMPLAINT * (min(complaints, 3) - 1) if complaints else 0.0
        total += _EXTRA_FAILED_FIX if failed_fixes > 1 else 0.0
        total += _PILE_UP if sum(1 for c in cues if c != "negative") >= 3 else 0.0
        return round(min(1.0, total), 3), tuple(cues)
