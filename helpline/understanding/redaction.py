"""Redaction: secrets leave every message before anything else (models, logs, tickets, the database) sees it.

One component decides what is secret, so every path that stores or shows text (the engine's
understander, the conversation service, staff replies and whispers) redacts the same way.

How a message is read (`Redactor.redact`):
1. *Normalise*, keeping the length, so that every match maps back to the same characters of the
   original: digits of any script and compatibility forms (full-width ``４``, ``①``) become ASCII
   digits, spelled-out digits ("four", "oh", "zero", "double four") become digits padded with NULs,
   curly apostrophes and Unicode dashes become ASCII, invisible format characters become padding,
   and case is folded.
2. Digit *groups* separated by spaces, tabs, newlines, dots, commas, slashes, underscores or dashes
   form *runs*; letters end a run, so ``visa-4917...`` and ``card:4917...`` are read like the rest.
3. In this order, each claiming its characters: the redaction placeholders already in the text (so
   redacting twice changes nothing), IBANs (country length and mod-97), card numbers (a window of
   whole groups of 13-19 digits, Luhn-valid, in a known IIN range of the right length) with the
   expiry and code typed right after them, SSNs/ITINs, then labelled secrets (passwords, PINs, CVVs).
4. The claimed spans are replaced in the original text; everything else is left as typed.

What is kept on purpose: order ids (``BB-10166``), phone numbers, ZIP codes, prices, dates and
Luhn-invalid numbers such as parcel tracking numbers are things the agent needs to read; a
9-digit number without dashes is an SSN only when the message says so ("ssn", "social security").

A card number split over consecutive messages ("4111 1111" then "1111 1111") is caught with a
`RedactionCarry`: the digit groups that ended the previous customer messages. It is built from the
*stored* (already redacted) text of those messages, so it holds nothing the database does not
already hold, and is never stored itself. When the new message completes a card, `Redacted`
says how many trailing digits of each previous message to mask (`mask_previous`, applied with
`mask_trailing_digits`) and which digit fragments to scrub from copies made of them since
(`fragments`, applied with `scrub_text` / `scrub_json`); `ConversationService` does both in the
turn's transaction.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

CARD = "card_number"
EXPIRY = "card_expiry"
CVV = "cvv"
SSN = "ssn"
IBAN = "iban"
PASSWORD = "password"
PIN = "pin"
KIND_ORDER = (CARD, EXPIRY, CVV, SSN, IBAN, PASSWORD, PIN)

PLACEHOLDERS = {
    EXPIRY: "[redacted expiry]",
    CVV: "[redacted cvv]",
    SSN: "[redacted ssn]",
    IBAN: "[redacted iban]",
    PASSWORD: "[redacted password]",
    PIN: "[redacted pin]",
}
CARD_PART = "[redacted card digits]"  # the start of a card number whose end came in a later message
REDACTED = "[redacted]"  # generic placeholder, still recognised (older transcripts)

# Every placeholder this module writes; found first so that redacting twice changes nothing and
# "[card ending 1111]" never feeds its four digits to a card or a carry.
_PLACEHOLDER = re.compile(r"\[(?:card ending [0-9]{4}|redacted(?: [a-z]+)*)\]")

_PAD = "\x00"  # fills the rest of a spelled-out digit ("four" -> "4\0\0\0") so lengths never change
_SEP_CHARS = " \t\n\r\f\v.,/_-" + _PAD
_MAX_GAP = 4  # separator characters (padding not counted) allowed between two groups of one run

# --- normalisation ------------------------------------------------------------------------------

_DIGIT_WORDS = {"zero": "0", "oh": "0", "nought": "0", "naught": "0", "nil": "0", "one": "1", "two": "2",
                "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_SPELLED = re.compile(r"(?<![a-z0-9'])(?:(?P<times>double|triple)[ \t\n,-]+)?(?P<word>" + "|".join(_DIGIT_WORDS)
                      + r")(?![a-z0-9'])")
_APOSTROPHES = frozenset("\u2018\u2019\u201b\u2032\u00b4\u0060\uff07")


@functools.lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    """One character of the normalised text, always exactly one character."""
    if ch.isdecimal():
        return str(unicodedata.decimal(ch))
    if ch in _APOSTROPHES:
        return "'"
    if ch.isspace():
        return " "
    category = unicodedata.category(ch)
    if category == "Pd" or ch == "\u2212":
        return "-"
    if category == "Cf":  # zero-width spaces and joiners typed (or pasted) between digits
        return _PAD
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) != 1:
        folded = ch
    folded = folded.lower()
    return folded if len(folded) == 1 else ch


def _spell(m: re.Match[str]) -> str:
    digit = _DIGIT_WORDS[m.group("word")]
    word = digit + _PAD * (len(m.group("word")) - 1)
    if not m.group("times"):
        return word
    # "double four" is "4 4": the extra copies go in the place of "double", a separator stays between.
    extra = 1 if m.group("times") == "double" else 2
    lead_len = m.start("word") - m.start()
    times = len(m.group("times"))
    lead = digit * extra + _PAD * (times - extra) + m.group(0)[times:lead_len]
    return lead + word


def normalise(text: str) -> str:
    """The text as the detectors read it: same length, so positions map one to one."""
    norm = text.lower() if text.isascii() else "".join(_fold(ch) for ch in text)
    return _SPELLED.sub(_spell, norm) if _has_word(norm) else norm


_WORD_HINT = re.compile(r"zero|oh|nought|naught|nil|one|two|three|four|five|six|seven|eight|nine")


def _has_word(norm: str) -> bool:
    return _WORD_HINT.search(norm) is not None


# --- validators ---------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer identification ranges (prefix ranges as equal-length strings) and the lengths each issues.
# UATP (prefix 1) is left out on purpose: lists of 5-digit order numbers would look like it.
_IIN: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[int]], ...] = (
    ("visa", (("4", "4"),), frozenset({13, 16, 19})),
    ("mastercard", (("51", "55"), ("2221", "2720")), frozenset({16})),
    ("amex", (("34", "34"), ("37", "37")), frozenset({15})),
    ("discover", (("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")), frozenset(range(16, 20))),
    ("diners", (("300", "305"), ("3095", "3095"), ("36", "36"), ("38", "39")), frozenset(range(14, 20))),
    ("jcb", (("3528", "3589"),), frozenset(range(16, 20))),
    ("unionpay", (("62", "62"), ("81", "81")), frozenset(range(16, 20))),
    ("maestro", (("50", "50"), ("56", "69")), frozenset(range(13, 20))),
    ("mir", (("2200", "2204"),), frozenset(range(16, 20))),
    ("rupay", (("60", "60"), ("65", "65"), ("81", "82"), ("508", "508"), ("353", "353"), ("356", "356")),
     frozenset({16})),
    ("verve", (("506099", "506198"), ("650002", "650027")), frozenset({16, 18, 19})),
    ("troy", (("9792", "9792"),), frozenset({16})),
    ("interpayment", (("636", "636"),), frozenset(range(16, 20))),
)


def card_brand(digits: str) -> str | None:
    """The card network whose IIN range and length fit these digits (no Luhn check), if any."""
    n = len(digits)
    for brand, ranges, lengths in _IIN:
        if n in lengths and any(lo <= digits[: len(lo)] <= hi for lo, hi in ranges):
            return brand
    return None


def is_card_number(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and card_brand(digits) is not None and luhn_valid(digits)


def ssn_valid(digits: str) -> bool:
    """A US Social Security number or an ITIN as the SSA and IRS issue them (9 digits)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if group == "00" or serial == "0000" or area in ("000", "666"):
        return False
    if area[0] == "9":  # ITIN: 9XX-{50-65, 70-88, 90-92, 94-99}-XXXX
        g = int(group)
        return 50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99
    return True


_IBAN_LENGTHS = {
    "ad": 24, "ae": 23, "al": 28, "at": 20, "az": 28, "ba": 20, "be": 16, "bg": 22, "bh": 22, "br": 29, "by": 28,
    "ch": 21, "cr": 22, "cy": 28, "cz": 24, "de": 22, "dk": 18, "do": 28, "ee": 20, "eg": 29, "es": 24, "fi": 18,
    "fo": 18, "fr": 27, "gb": 22, "ge": 22, "gi": 23, "gl": 18, "gr": 27, "gt": 28, "hr": 21, "hu": 28, "ie": 22,
    "il": 23, "iq": 23, "is": 26, "it": 27, "jo": 30, "kw": 30, "kz": 20, "lb": 28, "lc": 32, "li": 21, "lt": 20,
    "lu": 20, "lv": 21, "mc": 27, "md": 24, "me": 22, "mk": 19, "mr": 27, "mt": 31, "mu": 30, "nl": 18, "no": 15,
    "pk": 24, "pl": 28, "ps": 29, "pt": 25, "qa": 29, "ro": 24, "rs": 22, "sa": 24, "sc": 31, "se": 24, "si": 19,
    "sk": 24, "sm": 27, "st": 25, "sv": 28, "tl": 23, "tn": 24, "tr": 26, "ua": 29, "va": 22, "vg": 24, "xk": 20,
}


def iban_valid(iban: str) -> bool:
    """Country length and the ISO 13616 mod-97 check (letters and digits, no separators)."""
    iban = iban.lower()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


# --- the parts of a message ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    digits: str
    start: int
    end: int


_DIGIT_GROUP = re.compile(r"[0-9]+")


def _gap_joins(gap: str) -> bool:
    return bool(gap) and all(ch in _SEP_CHARS for ch in gap) and len(gap.replace(_PAD, "")) <= _MAX_GAP


def _runs(norm: str) -> list[list[_Group]]:
    runs: list[list[_Group]] = []
    for m in _DIGIT_GROUP.finditer(norm):
        end = m.end()
        while end < len(norm) and norm[end] == _PAD:  # the rest of a spelled-out digit belongs to it
            end += 1
        group = _Group(m.group(), m.start(), end)
        if runs and _gap_joins(norm[runs[-1][-1].end:group.start]):
            runs[-1].append(group)
        else:
            runs.append([group])
    return runs


class _Claims:
    """Spans of the normalised text already taken by a finding (or a placeholder)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.spans)

    def take(self, start: int, end: int) -> None:
        self.spans.append((start, end))


@dataclass(frozen=True)
class _Finding:
    start: int
    end: int
    kind: str
    replacement: str


# --- the carry between messages -----------------------------------------------------------------

_CARRY_DIGITS = 18  # a card has at most 19 digits: the new message gives at least one
_CARRY_MESSAGES = 4


@dataclass(frozen=True)
class RedactionCarry:
    """What redacting a message needs to know about the conversation's previous customer messages.

    ``tails`` are the digit groups that ended each previous message, oldest message first (a message
    made only of digits continues the one before it). They come from the stored, already redacted
    text, so they are digits no single message showed to be secret; the carry lives in memory for
    one turn and is never stored or logged (its ``repr`` hides them). ``after_card`` says the last
    message ended with a card number, so a bare "code 654" or "12/28" that follows is its code or expiry.
    """

    tails: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    after_card: bool = False

    @classmethod
    def from_stored(cls, texts: Sequence[str]) -> RedactionCarry:
        """The carry after these stored customer messages (oldest first, already redacted)."""
        carry = cls()
        for text in texts[-_CARRY_MESSAGES:]:
            carry = _next_carry(carry, text, normalise(text))
        return carry

    @property
    def digits(self) -> int:
        return sum(len(g) for tail in self.tails for g in tail)


_AFTER_CARD_END = re.compile(r"(?:\[card ending [0-9]{4}\]|\[redacted (?:expiry|cvv)\])[\W_" + _PAD + r"]*\Z")
_NO_WORDS = re.compile(r"[\W_" + _PAD + r"]*\Z")


def _next_carry(previous: RedactionCarry, text: str, norm: str) -> RedactionCarry:
    """The carry for the message after one whose redacted text (and its normalised form) is given."""
    after_card = _AFTER_CARD_END.search(norm) is not None
    claims = _Claims()
    for m in _PLACEHOLDER.finditer(norm):
        claims.take(m.start(), m.end())
    runs = [run for run in _runs(norm) if claims.free(run[0].start, run[-1].end)]
    if not runs or not _NO_WORDS.match(norm, runs[-1][-1].end):
        return RedactionCarry(after_card=after_card)
    tail = tuple(g.digits for g in runs[-1])
    whole = _NO_WORDS.fullmatch(norm[: runs[-1][0].start]) is not None
    tails = (*previous.tails, tail) if whole else (tail,)
    # Keep only what could still be the start of one card number: the last _CARRY_DIGITS digits.
    kept: list[tuple[str, ...]] = []
    budget = _CARRY_DIGITS
    for groups in reversed(tails[-_CARRY_MESSAGES:]):
        take: list[str] = []
        for g in reversed(groups):
            if len(g) > budget:
                budget = 0
                break
            take.insert(0, g)
            budget -= len(g)
        if take:
            kept.insert(0, tuple(take))
        if budget == 0 or len(take) < len(groups):
            break
    return RedactionCarry(tails=tuple(kept), after_card=after_card)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redacted:
    """A redacted message.

    ``mask_previous`` (aligned with the *incoming* carry's ``tails``, oldest first) gives how many
    trailing digits of each previous customer message belong to a card number completed by this
    one: the caller masks them in the stored text with `mask_trailing_digits`. ``fragments`` are
    those digits, for `scrub_text` / `scrub_json` to remove from any copy made since (the saved
    state, the agent's replies); hidden from ``repr`` so a logged result shows no digits.
    """

    text: str
    kinds: tuple[str, ...]
    carry: RedactionCarry = field(default_factory=RedactionCarry)
    mask_previous: tuple[int, ...] = ()
    fragments: tuple[str, ...] = field(default=(), repr=False)

    @property
    def masks_previous(self) -> bool:
        return any(self.mask_previous)


# --- detectors ----------------------------------------------------------------------------------

_SSN_LABEL = re.compile(r"(?<![a-z])(?:ssn|ss#|social\s+security|social|soc\.?\s+sec|tax\s*(?:payer\s*)?id|itin|tin)"
                        r"(?![a-z])")

_EXPIRY_AFTER = re.compile(
    r"[\s,;:._/\-" + _PAD + r"]*(?:(?:and|with)\s+)?(?:(?:the|exp)\s+)?"
    r"(?:(?:exp(?:iry|iration|ires)?|valid\s+(?:thru|through|until|to)|good\s+thru|expiring)\.?\s*(?:date\s*)?"
    r"(?:is\s+|on\s+)?[:.]?\s*)?"
    r"(?P<value>(?:0?[1-9]|1[0-2])[\s" + _PAD + r"]*[/-][\s" + _PAD + r"]*(?:20)?[0-9]{2})(?![0-9])"
)
_CODE_AFTER = re.compile(
    r"[\s,;:._/\-" + _PAD + r"]*(?:(?:and|with)\s+)?(?:(?:the|my)\s+)?"
    r"(?P<label>(?:cvv2?|cvc2?|csc|cid|security\s+code|sec\s+code|verification\s+code|code)\s*(?:is\s+|:|#|=)?\s*)?"
    r"(?P<value>[0-9](?:[\s" + _PAD + r"]{0,6}[0-9]){2,3})(?![0-9])"
)

_QUALIFIERS = (r"(?:(?:login|log-in|sign-in|account|online|banking|bank|email|e-mail|mail|wifi|wi-fi|app|portal|"
               r"website|site|user|new|old|current|temporary|temp|admin|master|computer|laptop|router|windows|"
               r"netflix|amazon|apple|google|gmail|icloud|paypal|helpline)\s+)")
_TEXT_LABEL = r"(?:pass[\s-]?word|passwd|pass[\s-]?code|pwd|pass|pw)"
_NUM_LABEL = (r"(?:pin(?:\s+(?:number|code|no\.?|#))?|cvv2?|cvc2?|csc|cid|security\s+code|"
              r"card\s+verification(?:\s+(?:code|value|number))?|pass[\s-]?code)")
_SECRET_TEXT = re.compile(
    r"(?<![a-z0-9])(?P<det>(?:my|the|your|our|his|her|their)\s+)?(?P<qual>" + _QUALIFIERS + r"{0,2})"
    r"(?P<word>" + _TEXT_LABEL + "|" + _NUM_LABEL + r")(?![a-z0-9])"
    r"(?:\s+(?:for|to|on|of|at|with)\s+(?:(?:my|the|your|our|this|that)\s+)?[a-z0-9.\-]+(?:\s+[a-z0-9.\-]+)?)?"
    r"(?P<link>\s*'s\b|\s*[:=]|\s+(?:is|was|will\s+be|should\s+be|would\s+be|-)(?![a-z0-9]))\s*(?::\s*)?"
    r"(?:(?:now|still|currently|actually|just|probably|literally|simply)\s+)?"
    r"(?P<secret>\"[^\"\n]{1,100}\"|'[^'\n]{1,100}'|[^\s\"']\S{0,99})"
)
_SECRET_NUMBER = re.compile(
    r"(?<![a-z0-9])(?:(?:my|the|your)\s+)?(?:(?:card|debit|credit|atm|bank|account|phone|sim)\s+)?"
    r"(?P<word>" + _NUM_LABEL + r")(?![a-z0-9])"
    r"(?:\s+(?:on|at)\s+the\s+(?:back|card))?"
    r"(?:\s*'s\b|\s*[:=#]|\s+(?:is|was|number\s+is|-)(?![a-z0-9]))?\s*"
    r"(?P<secret>[0-9](?:[\s.,\-" + _PAD + r"]{0,6}[0-9]){2,11})(?![0-9])"
)
# Words that follow "password is" in talk about a password rather than in giving one.
_NOT_SECRETS = frozenset({
    "not", "wrong", "incorrect", "correct", "right", "invalid", "expired", "expiring", "locked", "blocked", "broken",
    "working", "being", "been", "reset", "changed", "forgotten", "lost", "missing", "needed", "required", "weak",
    "strong", "long", "short", "case", "what", "it", "that", "this", "in", "on", "for", "to", "no", "and", "or",
    "but", "so", "now", "never", "always", "empty", "blank", "saved", "stored", "the", "a", "an", "my", "your",
    "same", "different", "too", "very", "still", "fine", "ok", "okay", "good", "bad", "old", "new", "valid",
    "accepted", "rejected", "sent", "there", "here", "supposed", "also", "just", "only", "probably", "definitely",
    "simple", "easy", "hard", "strange", "weird", "like", "something", "somewhere", "mine", "yours", "shown",
    "displayed", "asking", "requested", "incorrectly", "wrongly", "changing", "updated", "compromised", "hacked",
    "stolen", "leaked", "case-sensitive", "unknown", "unchanged", "gone", "off", "set", "denied", "declined",
    "refused", "disabled", "deactivated", "frozen", "suspended", "temporary", "useless",
})
_TRAILING_PUNCT = ",;.)"
_TALK_ENDING = re.compile(r"(?:ed|ing|ly)$")


def _secret_span(m: re.Match[str], original: str) -> tuple[int, int] | None:
    """The characters of a labelled textual secret to hide, or None if the words are just talk."""
    start, end = m.span("secret")
    value = m.group("secret")
    if value[0] in "\"'":
        return start, end
    if value.startswith("[card ending") or value.startswith("[redacted"):
        return None
    while end > start + 1 and value[-1] in _TRAILING_PUNCT:
        value = value[:-1]
        end -= 1
    word = value.strip(".,;:!?").replace(_PAD, "")
    if not word or word in _NOT_SECRETS or value.rstrip("!?") in _NOT_SECRETS:
        return None
    typed = original[start:end].strip(".,;:!?")  # as typed: the match is on the case-folded text
    if typed.isalpha() and typed.islower() and _TALK_ENDING.search(typed):
        return None  # "my passcode was denied", "my password is expiring": talk about it, not the secret
    short_label = m.group("word") in ("pass", "pw")
    if short_label and not (m.group("det") or m.group("qual")) and _words_before(m):
        return None  # "bus pass is blue": a bare "pass" after another word is not a password
    return start, end


_LAST_WORD = re.compile(r"([a-z]+)\W*\Z")


def _words_before(m: re.Match[str]) -> bool:
    before = m.string[max(0, m.start() - 30):m.start()]
    found = _LAST_WORD.search(before)
    return found is not None and found.group(1) not in ("and", "or", "is", "my", "the")


def _text_kind(word: str) -> str:
    if word.startswith("pin"):
        return PIN
    if word.startswith(("cvv", "cvc", "csc", "cid", "security", "card")):
        return CVV
    return PASSWORD


# --- the component ------------------------------------------------------------------------------

# Card lengths by how common they are: when two windows of the same digits both pass, the common
# length is the card and the rest (an expiry typed without a separator, say) is something else.
_LENGTH_RANK = {16: 0, 15: 1, 19: 2, 14: 3, 13: 4, 17: 5, 18: 6}
_LEAD = re.compile(r"[\W_" + _PAD + r"]*(?:(?:and|then|the\s+rest(?:\s+is)?|rest(?:\s+is)?|continued|cont|next|"
                   r"more|also|plus)\b[\W_" + _PAD + r"]*)?\Z")


class Redactor:
    """Finds and replaces secrets in one message; stateless, safe to share between threads.

    ``ssn_needs_label``: a 9-digit number written without the 3-2-4 grouping is an SSN only when the
    message names it (an order or account number can have 9 digits too).
    """

    def __init__(self, ssn_needs_label: bool = True) -> None:
        self.ssn_needs_label = ssn_needs_label

    def redact(self, text: str, carry: RedactionCarry | None = None) -> Redacted:
        carry = carry or RedactionCarry()
        norm = normalise(text)
        claims = _Claims()
        findings: list[_Finding] = []
        for m in _PLACEHOLDER.finditer(norm):
            claims.take(m.start(), m.end())
        self._ibans(norm, claims, findings)
        runs = _runs(norm)
        # A card begun in the previous messages first: when the opening digits are a card alone and
        # also the end of one begun before, the longer reading hides more.
        mask_previous, fragments = self._split_card(norm, runs, carry, claims, findings)
        self._cards(norm, runs, claims, findings)
        if carry.after_card:
            self._after_card(norm, 0, claims, findings, anchored=True)
        self._ssns(norm, runs, claims, findings)
        self._labelled(text, norm, claims, findings)
        clean = _apply(text, findings)
        kinds = tuple(k for k in KIND_ORDER if any(f.kind == k for f in findings))
        next_carry = _next_carry(carry, clean, normalise(clean) if findings else norm)
        return Redacted(clean, kinds, next_carry, mask_previous, fragments)

    # IBANs first: their digits would otherwise be read as a card number.
    def _ibans(self, norm: str, claims: _Claims, findings: list[_Finding]) -> None:
        for m in _IBAN_START.finditer(norm):
            length = _IBAN_LENGTHS.get(m.group("cc"))
            if length is None or not claims.free(m.start(), m.end()):
                continue
            chars = [m.group("cc"), m.group("check")]
            count, pos = 4, m.end()
            while count < length and pos < len(norm):
                ch = norm[pos]
                if ch.isascii() and ch.isalnum():
                    chars.append(ch)
                    count += 1
                    pos += 1
                elif ch in " -." + _PAD and pos + 1 < len(norm) and norm[pos + 1].isascii() and norm[pos + 1].isalnum():
                    pos += 1
                else:
                    break
            iban = "".join(chars)
            bban = iban[4:]
            digits = sum(ch.isdigit() for ch in bban)
            if (count == length and not (pos < len(norm) and norm[pos].isascii() and norm[pos].isalnum())
                    and digits >= 8 and digits * 2 >= len(bban) and iban_valid(iban) and claims.free(m.start(), pos)):
                claims.take(m.start(), pos)
                findings.append(_Finding(m.start(), pos, IBAN, PLACEHOLDERS[IBAN]))

    def _cards(self, norm: str, runs: list[list[_Group]], claims: _Claims, findings: list[_Finding]) -> None:
        for run in runs:
            i = 0
            while i < len(run):
                best: tuple[int, int] | None = None  # (rank, j)
                total = 0
                digits = ""
                for j in range(i, len(run)):
                    total += len(run[j].digits)
                    if total > 19:
                        break
                    digits += run[j].digits
                    if total >= 13 and is_card_number(digits) and claims.free(run[i].start, run[j].end):
                        rank = _LENGTH_RANK[total]
                        if best is None or rank < best[0]:
                            best = (rank, j)
                if best is None:
                    i += 1
                    continue
                j = best[1]
                card = "".join(g.digits for g in run[i:j + 1])
                start, end = run[i].start, run[j].end
                claims.take(start, end)
                findings.append(_Finding(start, end, CARD, f"[card ending {card[-4:]}]"))
                self._after_card(norm, end, claims, findings, anchored=False, rest=run[j + 1:],
                                 budget=19 - len(card))
                i = j + 1

    def _after_card(self, norm: str, pos: int, claims: _Claims, findings: list[_Finding], anchored: bool,
                    rest: Sequence[_Group] = (), budget: int = 0) -> None:
        """What is typed right after a card number: an expiry, a code, or (``rest`` of its run, at most
        ``budget`` digits) the end of a longer card read as a shorter one ("...5678 000" of 19 digits).
        ``anchored``: at the start of the message after the card's."""
        for _ in range(5):  # "-12/28 code 654", "000 12/28", ...
            for pattern, kind in ((_EXPIRY_AFTER, EXPIRY), (_CODE_AFTER, CVV)):
                m = pattern.match(norm, pos)
                if m is None or not claims.free(*m.span("value")):
                    continue
                if anchored and kind == CVV and not m.group("label") and not _NO_WORDS.fullmatch(norm, m.end()):
                    continue  # in the next message a bare number is the code only when it is all it says
                claims.take(*m.span("value"))
                findings.append(_Finding(m.start("value"), m.end("value"), kind, PLACEHOLDERS[kind]))
                pos = m.end()
                break
            else:
                taken: list[_Group] = []
                for g in rest:
                    if g.end <= pos:
                        continue
                    if (not claims.free(g.start, g.end) or len(g.digits) > budget
                            or not (taken or g.start == pos or _gap_joins(norm[pos:g.start]))):
                        break
                    taken.append(g)
                    budget -= len(g.digits)
                if not taken:
                    return
                claims.take(taken[0].start, taken[-1].end)
                findings.append(_Finding(taken[0].start, taken[-1].end, CARD, CARD_PART))
                pos = taken[-1].end

    def _split_card(self, norm: str, runs: list[list[_Group]], carry: RedactionCarry, claims: _Claims,
                    findings: list[_Finding]) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """A card number begun in the previous messages and completed by the digits this one opens with."""
        if not carry.tails or not runs or not _LEAD.fullmatch(norm[: runs[0][0].start]):
            return (), ()
        lead: list[_Group] = []
        for g in runs[0]:
            if not claims.free(g.start, g.end):
                break
            lead.append(g)
        if not lead:
            return (), ()
        flat = [(index, d) for index, tail in enumerate(carry.tails) for d in tail]
        best: tuple[int, int, int] | None = None  # (rank, start in flat, groups of this message)
        for s in range(len(flat)):
            before = "".join(d for _, d in flat[s:])
            if len(before) >= 19:
                continue
            digits = before
            for n, group in enumerate(lead, start=1):
                digits += group.digits
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and is_card_number(digits):
                    rank = _LENGTH_RANK[len(digits)]
                    if best is None or (rank, -n) < (best[0], -best[2]):
                        best = (rank, s, n)
        if best is None:
            return (), ()
        _, s, n = best
        card = "".join(d for _, d in flat[s:]) + "".join(g.digits for g in lead[:n])
        start, end = lead[0].start, lead[n - 1].end
        claims.take(start, end)
        findings.append(_Finding(start, end, CARD, f"[card ending {card[-4:]}]"))
        self._after_card(norm, end, claims, findings, anchored=False, rest=runs[0][n:], budget=19 - len(card))
        masks = [0] * len(carry.tails)
        parts = [""] * len(carry.tails)
        for index, digits in flat[s:]:
            masks[index] += len(digits)
            parts[index] += digits
        return tuple(masks), tuple(p for p in parts if p)

    def _ssns(self, norm: str, runs: list[list[_Group]], claims: _Claims, findings: list[_Finding]) -> None:
        labelled: bool | None = None
        for run in runs:
            digits = "".join(g.digits for g in run)
            if len(digits) != 9 or not claims.free(run[0].start, run[-1].end):
                continue
            dashed = [len(g.digits) for g in run] == [3, 2, 4]
            if dashed and ssn_valid(digits):
                found = True
            else:
                if labelled is None:
                    labelled = _SSN_LABEL.search(norm) is not None
                found = labelled or (not self.ssn_needs_label and ssn_valid(digits))
            if found:
                claims.take(run[0].start, run[-1].end)
                findings.append(_Finding(run[0].start, run[-1].end, SSN, PLACEHOLDERS[SSN]))

    def _labelled(self, text: str, norm: str, claims: _Claims, findings: list[_Finding]) -> None:
        if not _LABEL_HINT.search(norm):
            return
        for m in _SECRET_NUMBER.finditer(norm):
            start, end = m.span("secret")
            if claims.free(start, end):
                kind = _text_kind(m.group("word"))
                claims.take(start, end)
                findings.append(_Finding(start, end, kind, PLACEHOLDERS[kind]))
        for m in _SECRET_TEXT.finditer(norm):
            span = _secret_span(m, text)
            if span is None or not claims.free(*span):
                continue
            kind = _text_kind(m.group("word"))
            if kind != PASSWORD and not re.fullmatch(r"[0-9\s.\-" + _PAD + "]+", norm[span[0]:span[1]]):
                continue  # a PIN or a CVV is digits: "my pin is wrong" gives none
            claims.take(*span)
            findings.append(_Finding(span[0], span[1], kind, PLACEHOLDERS[kind]))


_IBAN_START = re.compile(r"(?<![a-z0-9])(?P<cc>[a-z]{2})[\s" + _PAD + r"]?(?P<check>[0-9]{2})")
_LABEL_HINT = re.compile(r"pass|pw|pin|cvv|cvc|csc|cid|code|verification")


def _apply(text: str, findings: list[_Finding]) -> str:
    if not findings:
        return text
    out: list[str] = []
    pos = 0
    for f in sorted(findings, key=lambda f: f.start):
        out.append(text[pos:f.start])
        out.append(f.replacement)
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


# --- applying a carry's verdict to stored text --------------------------------------------------


def mask_trailing_digits(text: str, count: int) -> str:
    """Replace the last ``count`` digits of a stored message (whole groups, as `Redacted.mask_previous`
    counts them) by a placeholder: the start of a card number that a later message completed."""
    if count <= 0:
        return text
    norm = normalise(text)
    claims = _Claims()
    for m in _PLACEHOLDER.finditer(norm):
        claims.take(m.start(), m.end())
    groups = [g for run in _runs(norm) for g in run if claims.free(g.start, g.end)]
    if not groups:
        return text
    taken = 0
    first = len(groups)
    while first > 0 and taken < count:
        first -= 1
        taken += len(groups[first].digits)
    return text[:groups[first].start] + CARD_PART + text[groups[-1].end:]


def _fragment_pattern(fragment: str) -> re.Pattern[str]:
    gap = r"[\s.,/_\-" + _PAD + r"]{0,8}"
    return re.compile(r"(?<![0-9])" + gap.join(fragment) + r"(?![0-9])")


MIN_SCRUB_DIGITS = 4  # shorter fragments would mask unrelated numbers and reveal nothing on their own


def scrub_text(text: str, fragments: Sequence[str]) -> str:
    """Replace any copy of these digit fragments (however it is spaced or spelled) by a placeholder."""
    useful = [f for f in fragments if len(f) >= MIN_SCRUB_DIGITS]
    if not useful or not text:
        return text
    norm = normalise(text)
    spans: list[tuple[int, int]] = []
    for fragment in useful:
        spans += [m.span() for m in _fragment_pattern(fragment).finditer(norm)]
    if not spans:
        return text
    findings = []
    last_end = -1
    for start, end in sorted(spans):
        if start < last_end:
            continue
        findings.append(_Finding(start, end, CARD, CARD_PART))
        last_end = end
    return _apply(text, findings)


def scrub_json(value: Any, fragments: Sequence[str]) -> Any:
    """`scrub_text` over every string (keys too) of a JSON-like value; returns a new value."""
    if isinstance(value, str):
        return scrub_text(value, fragments)
    if isinstance(value, dict):
        return {scrub_text(k, fragments) if isinstance(k, str) else k: scrub_json(v, fragments)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_json(v, fragments) for v in value]
    return value


# --- the module-level API -----------------------------------------------------------------------

DEFAULT_REDACTOR = Redactor()


def redact(text: str) -> tuple[str, tuple[str, ...]]:
    """Return the text with secrets replaced, and the kinds removed (``KIND_ORDER``)."""
    result = DEFAULT_REDACTOR.redact(text)
    return result.text, result.kinds


# A channel that redacts before the engine (`ConversationService`, which knows the previous
# messages) passes the kinds it removed here, so the understander, which then sees only clean
# text, still reports them and the engine still warns about a card number shared in chat.
_UPSTREAM: ContextVar[tuple[str, ...]] = ContextVar("helpline_redacted_upstream", default=())


@contextmanager
def redacted_upstream(kinds: Sequence[str]) -> Iterator[None]:
    token = _UPSTREAM.set(tuple(kinds))
    try:
        yield
    finally:
        _UPSTREAM.reset(token)


def upstream_kinds() -> tuple[str, ...]:
    return _UPSTREAM.get()


def merge_kinds(*groups: Sequence[str]) -> tuple[str, ...]:
    found = {k for group in groups for k in group}
    return tuple(k for k in KIND_ORDER if k in found) + tuple(sorted(found - set(KIND_ORDER)))
