"""Hypothesis strategies for the secrets customers type, in the formats real people type them, and an
independent reader that finds their digits again in any stored text or log line.

The reader (`exposed_digits`) does not use the redactor's own normalisation, so a format the redactor
cannot read is still found by the tests.
"""

from __future__ import annotations

import functools
import random
import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

T = TypeVar("T")


@functools.cache
def _one_of(options: tuple[Any, ...]) -> SearchStrategy[Any]:
    """Built once per list of options: building strategies inside each draw costs more than drawing."""
    return st.sampled_from(options)


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    value: T = draw(_one_of(tuple(options)))
    return value


_BOOL = st.booleans()


@functools.cache
def _ints(low: int, high: int) -> SearchStrategy[int]:
    return st.integers(low, high)


@functools.cache
def _digits(size: int) -> SearchStrategy[str]:
    # One integer draw rather than one draw per digit: the examples come several times faster.
    return st.integers(0, 10**size - 1).map(lambda value: f"{value:0{size}d}")


# Formatting choices (grouping, separators, spelling) come from one seeded Random per example.
_RANDOM = st.randoms(use_true_random=True)


# --- reading digits back out of text (independent of helpline.understanding.redaction) ----------

_WORDS = {"zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
          "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_WORD = "|".join(_WORDS)
_TIMES = re.compile(rf"\b(double|triple)[\s,-]+({_WORD})\b")
_SPELLED = re.compile(rf"\b({_WORD})\b")
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s.,/_\-\u2010-\u2015\u2212\x00]+(?=\d)")
PLACEHOLDER = re.compile(r"\[(?:card ending \d{4}|redacted(?: [a-z]+)*)\]")


def exposed_digits(text: str) -> str:
    """The text with every way of writing a digit turned into an ASCII digit and the separators
    between digits removed, placeholders taken out: a secret's digits, however typed, show up as one run."""
    text = PLACEHOLDER.sub(" | ", text)
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    text = unicodedata.normalize("NFKC", text).lower()
    text = _TIMES.sub(lambda m: _WORDS[m.group(2)] * (2 if m.group(1) == "double" else 3), text)
    text = _SPELLED.sub(lambda m: _WORDS[m.group(1)], text)
    return _BETWEEN_DIGITS.sub("", text)


def digits_exposed(secret_digits: str, text: str) -> bool:
    """Whether these digits appear in the text as a whole run of digits (however they were written)."""
    return re.search(rf"(?<!\d){re.escape(secret_digits)}(?!\d)", exposed_digits(text)) is not None


def contains_digits(secret_digits: str, text: str) -> bool:
    """Whether these digits appear anywhere in the text's digits, even inside a longer run."""
    return secret_digits in exposed_digits(text)


# --- secrets ------------------------------------------------------------------------------------

# (prefix, length) of real issuer ranges: Visa, Mastercard (both series), Amex, Discover, Diners,
# JCB, UnionPay, Mir, Troy, Maestro.
CARD_RANGES = [("4", 16), ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
               ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("644", 16), ("36", 14), ("300", 16),
               ("3528", 16), ("3589", 16), ("62", 16), ("62", 19), ("2200", 16), ("9792", 16), ("5018", 16),
               ("6759", 19)]


def luhn_complete(partial: str) -> str:
    """Append the check digit that makes ``partial`` Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return partial + str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    rnd = draw(_RANDOM)
    prefix, length = rnd.choice(CARD_RANGES)
    body = draw(_digits(length - len(prefix) - 1))
    return luhn_complete(prefix + body)


@st.composite
def ssns(draw: st.DrawFn) -> str:
    rnd = draw(_RANDOM)
    if draw(_BOOL):
        area = draw(_ints(1, 899))
        area = 667 if area == 666 else area
        group = draw(_ints(1, 99))
    else:  # an ITIN: 9XX with a group in the IRS's ranges
        area = draw(_ints(900, 999))
        group = rnd.choice([*range(50, 66), *range(70, 89), 90, 91, 92, *range(94, 100)])
    serial = draw(_ints(1, 9999))
    return f"{area:03d}{group:02d}{serial:04d}"


# country -> (length of the BBAN, letters at the start of the BBAN)
IBAN_COUNTRIES = {"DE": (18, 0), "GB": (18, 4), "FR": (23, 0), "NL": (14, 4), "ES": (20, 0), "IT": (23, 1),
                  "CH": (17, 0), "BE": (12, 0), "AT": (16, 0), "PL": (24, 0), "IE": (18, 4)}


def iban_with_check(country: str, bban: str) -> str:
    number = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


@st.composite
def ibans(draw: st.DrawFn) -> str:
    rnd = draw(_RANDOM)
    country = rnd.choice(sorted(IBAN_COUNTRIES))
    length, letters = IBAN_COUNTRIES[country]
    bank = draw(st.text(string.ascii_uppercase, min_size=letters, max_size=letters))
    digits = draw(_digits(length - letters))
    return iban_with_check(country, bank + digits)


PASSWORD_CHARS = string.ascii_letters + string.digits + "!@#$%^&*-_+=?~"
passwords = st.text(PASSWORD_CHARS, min_size=8, max_size=20).filter(
    lambda p: any(c.isdigit() for c in p) and any(c.isalpha() for c in p))

# --- formats ------------------------------------------------------------------------------------

SEPARATORS = [" ", "  ", ".", "/", "\t", "\n", "-", " - ", "", "   ", ". ", ", ", "_", " \n"]
SPELL_SEPARATORS = [" ", ", ", "-", "  ", " ,"]
_SPELL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def grouped(rnd: random.Random, digits: str) -> str:
    """The digits grouped as people type them, with the separators they use."""
    style = rnd.choice(["fours", "fours", "amex", "random", "none"])
    if style == "fours" or (style == "amex" and len(digits) != 15):
        sizes = [4] * (len(digits) // 4) + ([len(digits) % 4] if len(digits) % 4 else [])
    elif style == "amex":
        sizes = [4, 6, 5]
    elif style == "none":
        sizes = [len(digits)]
    else:
        sizes = []
        left = len(digits)
        while left:
            size = rnd.randint(1, min(6, left))
            sizes.append(size)
            left -= size
    groups, pos = [], 0
    for size in sizes:
        groups.append(digits[pos:pos + size])
        pos += size
    same = rnd.random() < 0.5  # one separator throughout, or a mix
    seps = [rnd.choice(SEPARATORS)] * (len(groups) - 1) if same else [rnd.choice(SEPARATORS) for _ in groups[1:]]
    out = groups[0]
    for sep, group in zip(seps, groups[1:], strict=True):
        out += sep + group
    return out


def spelled(rnd: random.Random, digits: str) -> str:
    """Digits written as words: "four one one one", "oh" or "zero", "double one"."""
    words: list[str] = []
    i = 0
    while i < len(digits):
        d = digits[i]
        word = rnd.choice(["zero", "oh"]) if d == "0" else _SPELL[int(d)]
        if i + 1 < len(digits) and digits[i + 1] == d and rnd.random() < 0.25:
            words.append(f"double {word}")
            i += 2
            continue
        words.append(word)
        i += 1
    out = words[0]
    for word in words[1:]:
        out += rnd.choice(SPELL_SEPARATORS) + word
    case = rnd.choice(["lower", "lower", "upper", "title"])
    return out.upper() if case == "upper" else out.title() if case == "title" else out


def full_width(text: str) -> str:
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in text)


def arabic_indic(text: str) -> str:
    return "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in text)


def written(rnd: random.Random, digits: str) -> str:
    """The digits in one of the ways people write them: grouped ASCII, full-width, other scripts, words."""
    style = rnd.choice(["ascii", "ascii", "ascii", "full_width", "arabic", "spelled"])
    if style == "spelled":
        return spelled(rnd, digits)
    text = grouped(rnd, digits)
    return full_width(text) if style == "full_width" else arabic_indic(text) if style == "arabic" else text


CARD_LEADS = ["", "my card is ", "card: ", "visa-", "Visa ", "mc#", "card number ", "it's ", "charge ", "amex:",
              "CARD=", "pay with ", "the number is\n", "Card no. ", "use my mastercard-"]
CARD_TAILS = ["", ".", " thanks", "!", " please", " ok?", "\n"]
EXPIRIES = ["-12/28", " exp 12/28", " 12/2028", " expires 01/27", ", exp. 11/29", " valid thru 03/30"]
CODES = [" code 654", ", code 654", " cvv 123", " CVC: 9876", " security code 321", " and the code is 777"]
CONTEXTS = ["{}", "hi, {}", "{} - can you check it", "ok so {}", "Hello!\n{}\nthanks"]


@dataclass(frozen=True)
class Typed:
    """A message, and the secrets it holds: digit strings (cards, SSNs, codes) and exact strings."""

    text: str
    digits: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    kind: str = ""


@st.composite
def card_messages(draw: st.DrawFn) -> Typed:
    rnd = draw(_RANDOM)
    card = draw(card_numbers())
    body = written(rnd, card)
    text = rnd.choice(CARD_LEADS) + body + rnd.choice(CARD_TAILS)
    return Typed(rnd.choice(CONTEXTS).format(text), (card,), kind="card_number")


@st.composite
def card_with_extras_messages(draw: st.DrawFn) -> Typed:
    """A card number with its expiry and/or code typed right after it."""
    rnd = draw(_RANDOM)
    card = draw(card_numbers())
    expiry = rnd.choice(["", *EXPIRIES])
    code = rnd.choice(["", *CODES]) if expiry else rnd.choice(CODES)
    text = rnd.choice(CARD_LEADS) + grouped(rnd, card) + expiry + code
    code_digits = tuple(re.findall(r"\d{3,4}$", code))
    return Typed(text, (card, *code_digits), kind="card_number")


@st.composite
def ssn_messages(draw: st.DrawFn) -> Typed:
    rnd = draw(_RANDOM)
    ssn = draw(ssns())
    style = rnd.choice(["dashed", "spaced", "dotted", "labelled", "labelled", "spelled", "full_width"])
    if style in ("dashed", "spaced", "dotted"):
        sep = {"dashed": "-", "spaced": " ", "dotted": "."}[style]
        body = f"{ssn[:3]}{sep}{ssn[3:5]}{sep}{ssn[5:]}"
        lead = rnd.choice(["", "it's ", "ssn ", "my number is "])
    else:
        body = ssn if style == "labelled" else spelled(rnd, ssn) if style == "spelled" else full_width(ssn)
        lead = rnd.choice(["ssn ", "SSN: ", "my ssn is ", "my social security number is ",
                                     "social security no. ", "my SSN's ", "tax id ", "ITIN "])
    return Typed(rnd.choice(CONTEXTS).format(lead + body), (ssn,), kind="ssn")


@st.composite
def iban_messages(draw: st.DrawFn) -> Typed:
    rnd = draw(_RANDOM)
    iban = draw(ibans())
    style = rnd.choice(["fours", "compact", "lower", "dashes"])
    if style == "compact":
        body = iban
    else:
        chunks = [iban[i:i + 4] for i in range(0, len(iban), 4)]
        body = ("-" if style == "dashes" else " ").join(chunks)
        body = body.lower() if style == "lower" else body
    lead = rnd.choice(["", "IBAN ", "iban: ", "my account is ", "transfer it to ", "refund to "])
    digit_runs = tuple(run for run in re.findall(r"\d{6,}", iban[4:]))
    return Typed(rnd.choice(CONTEXTS).format(lead + body), digit_runs, (iban,), kind="iban")


PASSWORD_PHRASES = ["the password is {}", "my login password is {}", "my pass is {}", "my password's {}",
                    "my password\u2019s {}", "Password: {}", "pwd={}", "My Password Is {}", "my password is now {}",
                    "the password for my account is {}", "passcode: {}", "my email password is {}",
                    "password = {}", "PASSWORD IS {}", "my new password is '{}'", 'password: "{}"',
                    "my password was {} but it fails"]


@st.composite
def password_messages(draw: st.DrawFn) -> Typed:
    rnd = draw(_RANDOM)
    password = draw(passwords)
    phrase = rnd.choice(PASSWORD_PHRASES).format(password)
    end = rnd.choice(["", ".", " and it doesn't work", ", can you check?", "\nthanks"])
    return Typed(rnd.choice(CONTEXTS).format(phrase + end), exact=(password,), kind="password")


PIN_PHRASES = ["my pin is {}", "PIN: {}", "pin number is {}", "my pin's {}", "pin {}", "the cvv is {}", "cvv {}",
               "the cvv on the back is {}", "security code: {}", "CVC2 {}", "my card's pin is {}"]


@st.composite
def pin_messages(draw: st.DrawFn) -> Typed:
    rnd = draw(_RANDOM)
    phrase = rnd.choice(PIN_PHRASES)
    size = 3 if "cv" in phrase.lower() else draw(_ints(4, 6))
    code = draw(_digits(size))
    style = rnd.choice(["plain", "plain", "spaced", "spelled", "full_width"])
    body = (" ".join(code) if style == "spaced" else spelled(rnd, code) if style == "spelled"
            else full_width(code) if style == "full_width" else code)
    return Typed(rnd.choice(CONTEXTS).format(phrase.format(body)), (code,), kind="pin")


@st.composite
def split_card_messages(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """A card number typed over 2-4 consecutive messages: (card, messages, the digits each one holds)."""
    rnd = draw(_RANDOM)
    card = draw(card_numbers())
    parts = draw(_ints(2, 4))
    cuts = sorted(draw(st.lists(st.integers(2, len(card) - 2), min_size=parts - 1, max_size=parts - 1,
                                unique=True)))
    pieces = [card[a:b] for a, b in zip([0, *cuts], [*cuts, len(card)], strict=True)]
    messages = [grouped(rnd, piece) for piece in pieces]
    messages[0] = rnd.choice(["", "my card is ", "card ", "ok it's "]) + messages[0]
    messages[-1] = messages[-1] + rnd.choice(["", " thanks", "."])
    return card, messages, pieces


# --- things that must be kept ------------------------------------------------------------------


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    rnd = draw(_RANDOM)
    area = draw(_ints(201, 989))
    exchange = draw(_ints(200, 999))
    line = draw(_ints(0, 9999))
    style = rnd.choice(["({a}) {e}-{n}", "{a}-{e}-{n}", "+1 {a} {e} {n}", "{a}.{e}.{n}", "+1-{a}-{e}-{n}"])
    return style.format(a=f"{area:03d}", e=f"{exchange:03d}", n=f"{line:04d}")


@st.composite
def ordinary_messages(draw: st.DrawFn) -> str:
    """Messages full of numbers the agent needs: order ids, phones, ZIPs, prices, dates, times."""
    rnd = draw(_RANDOM)
    order = f"BB-{draw(_ints(10000, 10999))}"
    zip_code = f"{draw(_ints(501, 99950)):05d}"
    price = f"${draw(_ints(1, 2999))}.{draw(_ints(0, 99)):02d}"
    month, day = draw(_ints(1, 12)), draw(_ints(1, 28))
    date = rnd.choice(["{m}/{d}/2026", "2026-{m:02d}-{d:02d}", "November {d}"]).format(m=month, d=day)
    phone = draw(phone_numbers())
    zip4 = f"{zip_code}-{draw(_ints(1, 9999)):04d}"
    template = rnd.choice([
        "where is order {order}? call me on {phone}",
        "my zip is {zip} and I paid {price} on {date}",
        "ship to zip code {zip4}, order {order}, phone {phone}",
        "order {order} cost {price}; it arrived {date} at 10:30",
        "I forgot my password and my order {order} is late",
        "my password is wrong, order {order}, zip {zip}",
        "reset my pin please, phone {phone}",
        "discount code SAVE10 didn't work on {order}",
        "the pin of the plug is bent, order {order}",
        "I have 2 orders: {order} and BB-10001, total {price}",
    ])
    return template.format(order=order, phone=phone, zip=zip_code, zip4=zip4, price=price, date=date)


@st.composite
def tracking_numbers(draw: st.DrawFn) -> str:
    """16-22 digit numbers that are not card numbers (Luhn fails), e.g. parcel tracking numbers."""
    length = draw(_ints(16, 22))
    digits = draw(_digits(length - 1))
    valid = luhn_complete(digits)
    return digits + str((int(valid[-1]) + draw(_ints(1, 9))) % 10)
