"""A second scripted customer, written from each task's natural-language instruction and the store's data.

The first customer (customer.py) derives its goals from the ground-truth actions and was tuned beside the
engine. This one never reads a task's actions or expected outputs: it reads what a human tester would get,
the instruction ("Your name is ... Return #W6619432 via paypal_3738584: Dumbbell Set; Yoga Mat;" or a
free-text story), plus what a customer knows about their own account (their orders, their cards). It
talks like a person, in a style chosen by seed, and reacts to what the agent asks by reading its replies
the way a person would (keywords, offered choices), not by matching the engine's own phrasings.
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass, field
from typing import Any

from bench.tau_retail.customer import Data

STYLES = ("terse", "chatty", "typos", "out_of_order", "answers_only")

REASON_MISTAKE = "ordered by mistake"
REASON_UNNEEDED = "no longer needed"

# Which payment source a phrase in an instruction points at.
SOURCE_WORDS = {
    "paypal": "paypal", "pay pal": "paypal", "gift card": "gift_card", "gc": "gift_card",
    "website credit": "gift_card", "store credit": "gift_card", "credit card": "credit_card",
    "mastercard": "credit_card", "visa": "credit_card",
}


@dataclass
class Wish:
    """One line of an order the customer wants something done to, and what they want it to become."""

    line: dict[str, Any]
    target: dict[str, str] = field(default_factory=dict)  # option -> wanted value (only stated ones)
    same: bool = False  # "to {}": a fresh one of exactly the same kind
    flexible: set[str] = field(default_factory=set)  # options the customer doesn't care about
    cheapest: bool = False  # "whichever is cheaper"
    told: bool = False
    asked_which: int = 0  # times the agent asked which of its options I meant


@dataclass
class Request:
    kind: str  # cancel, return, exchange, modify_items, modify_payment, modify_address, user_address, question
    order_id: str | None = None
    order_known: bool = True  # does the customer have the number at hand (the instruction gives it)
    order_hint: str = ""  # e.g. "ends in 66" when the number itself is not known
    wishes: list[Wish] = field(default_factory=list)
    late: list[Wish] = field(default_factory=list)  # items remembered only when the agent asks to confirm
    payment: dict[str, Any] | None = None
    reason: str | None = None
    address: dict[str, str] | None = None
    address_ref: str | None = None  # "same as my order #W..."
    question: str = ""
    done: bool = False
    asked_order: int = 0
    refused: int = 0  # summaries of the agent's I said no to
    blocked: int = 0  # times the agent said it can't be done


@dataclass
class Identity:
    first: str
    last: str
    zip: str | None
    emails: list[str]
    method: str  # "email" or "name_zip"
    tried: int = 0


@dataclass
class Asked:
    """A question the customer asked about their own account, and whether the agent answered it."""

    question: str
    topic: str
    answered: bool = False
    reply: str = ""


# -- reading the instruction ----------------------------------------------------------------------------


def _norm(value: str) -> str:
    """Option values as people write them: "5-feet" and "5 ft", "Wi-Fi" and "wifi" compare equal."""
    text = value.lower().replace("feet", "ft").replace("foot", "ft").replace("-", " ")
    text = re.sub(r"[^a-z0-9.%+ ]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _has(text: str, value: str) -> bool:
    """Does the (normalised) text mention the value as whole words?"""
    return re.search(r"(?<![a-z0-9.])" + re.escape(_norm(value)) + r"(?![a-z0-9])", _norm(text)) is not None


def _dict(text: str) -> dict[str, str]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _identity(instruction: str, user: dict[str, Any]) -> Identity:
    name = user["name"]
    zip_match = re.search(r"zip code is (\d{5})", instruction)
    emails = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", instruction)
    emails = [e.rstrip(".") for e in emails]
    method = "email" if emails else "name_zip"
    if not emails and not zip_match:
        # the instruction says neither: a person knows both, use the email
        emails, method = [user["email"]], "email"
    return Identity(name["first_name"], name["last_name"], zip_match.group(1) if zip_match else None, emails,
                    method)


def _payment(user: dict[str, Any], text: str) -> dict[str, Any] | None:
    """The user's payment method named in text: an id like paypal_123, or a source word ("paypal", "GC")."""
    methods: dict[str, dict[str, Any]] = user["payment_methods"]
    for pid, method in methods.items():
        if pid in text:
            return method
    lowered = text.lower()
    preferred = re.search(r"prefer\w* (.*)", lowered)
    for part in ([preferred.group(1)] if preferred else []) + [lowered]:
        found = [(part.find(w), source) for w, source in SOURCE_WORDS.items()
                 if re.search(r"\b" + re.escape(w) + r"\b", part)]
        for _, source in sorted(found):
            for method in methods.values():
                if method["source"] == source:
                    return method
    return None


def _find_line(order: dict[str, Any], name: str, options: dict[str, str], taken: list[dict[str, Any]]
               ) -> dict[str, Any] | None:
    """The order line with that product name (and options when given), not already taken."""
    candidates = [line for line in order["items"] if line["name"].lower() == name.lower().strip()
                  and not any(line is t for t in taken)]
    exact = [line for line in candidates if options and line["options"] == options]
    return (exact or candidates or [None])[0]


def _kind_for(order: dict[str, Any] | None, changing: bool) -> str:
    """A person says "exchange" for both; what it is depends on whether the order has arrived."""
    if not changing:
        return "return"
    return "exchange" if order is not None and order["status"] == "delivered" else "modify_items"


TEMPLATE = re.compile(
    r"Cancel order (?P<cancel>#W\d+) because (?P<reason>ordered by mistake|no longer needed)"
    r"|Return (?P<ret>#W\d+) via (?P<retpay>\w+): (?P<retitems>(?:(?!Return |For |Cancel )[^;{]+(?:\{[^}]*\})?; ?)+)"
    r"|For (?P<addr>#W\d+), change address to (?P<address>\{[^}]*\})(?: \(same as (?P<same>#W\d+)\))?"
    r"|For (?P<pay>#W\d+), change payment to (?P<paid>\w+)"
    r"|For (?P<chg>#W\d+), (?:exchange|modify) (?P<chgitems>(?:[A-Za-z][\w\- ]*? \{[^}]*\} to \{[^}]*\};? ?)+)"
    r"(?P<but>, but [^;.]*[;.]?)?(?: ?via (?P<chgpay>\w+)\.)?"
    r"|(?:[Cc]hange|[Uu]pdate) (?:your|the) (?:default|user|account) address to (?P<useraddr>\{[^}]*\})")


def _templated(instruction: str, user: dict[str, Any], data: Data) -> list[Request]:
    requests: list[Request] = []
    for m in TEMPLATE.finditer(instruction):
        if m.group("cancel"):
            requests.append(Request("cancel", m.group("cancel"), reason=m.group("reason")))
        elif m.group("ret"):
            order = data.orders.get(m.group("ret"))
            request = Request("return", m.group("ret"), payment=_payment(user, m.group("retpay")))
            taken: list[dict[str, Any]] = []
            for part in m.group("retitems").split(";"):
                part = part.strip()
                if not part or order is None:
                    continue
                name, _, options = part.partition(" {")
                line = _find_line(order, name, _dict("{" + options) if options else {}, taken)
                if line is not None:
                    taken.append(line)
                    request.wishes.append(Wish(line))
            requests.append(request)
        elif m.group("addr"):
            address = _dict(m.group("address"))
            address.pop("order_id", None)
            requests.append(Request("modify_address", m.group("addr"), address=address, address_ref=m.group("same")))
        elif m.group("pay"):
            requests.append(Request("modify_payment", m.group("pay"), payment=_payment(user, m.group("paid"))))
        elif m.group("chg"):
            order = data.orders.get(m.group("chg"))
            pay_text = m.group("chgpay") or m.group("but") or ""
            request = Request(_kind_for(order, True), m.group("chg"), payment=_payment(user, pay_text))
            taken = []
            for name, old, new in re.findall(r"([A-Za-z][\w\- ]*?) (\{[^}]*\}) to (\{[^}]*\})", m.group("chgitems")):
                line = _find_line(order, name, _dict(old), taken) if order else None
                if line is not None:
                    taken.append(line)
                    target = _dict(new)
                    request.wishes.append(Wish(line, target=target, same=not target))
            requests.append(request)
        elif m.group("useraddr"):
            requests.append(Request("user_address", None, address=_dict(m.group("useraddr"))))
    return requests


# free-text instructions ------------------------------------------------------------------------------

KEEP = re.compile(r"(decide|decided) (to )?(not|just keep|to keep|keep)|not to (exchange|return|cancel)|"
                  r"keep (all )?the items|keep (it|them) anyway|decide to not")
MIND = re.compile(r"change (?:your|her|his) mind|instead")


def _mentions(text: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order lines a sentence talks about: by full product name, or by its last word when that is unique."""
    lowered = _norm(text)
    found: list[dict[str, Any]] = []
    for line in lines:
        name = _norm(line["name"])
        forms = {name, name + "s", name.replace(" ", "")}
        head = name.split()[-1]
        if sum(_norm(other["name"]).split()[-1] == head for other in lines) == 1 or \
                len({o["name"] for o in lines if _norm(o["name"]).split()[-1] == head}) == 1:
            forms |= {head, head + "s"}
        if any(re.search(r"\b" + re.escape(f) + r"\b", lowered) for f in forms):
            found.append(line)
    return found


def _clauses(sentence: str, lines: list[dict[str, Any]], previous: dict[str, Any] | None
             ) -> list[tuple[dict[str, Any], str]]:
    """Split a sentence into the stretches about each product it names: a word belongs to the nearest
    product name ("a black laser gaming mouse and a metal bookshelf"). A sentence naming none is about
    the product of the sentence before ("You don't care about wired or not though")."""
    lowered = _norm(sentence)
    spots: list[tuple[int, dict[str, Any]]] = []
    for line in _mentions(sentence, lines):
        name = _norm(line["name"])
        forms = [name, name.split()[-1]]
        for form in forms:
            for m in re.finditer(r"\b" + re.escape(form) + r"s?\b", lowered):
                spots.append((m.start(), line))
    if not spots:
        # "you've picked the wrong deck material": the item whose options include what's named
        keyed = [line for line in lines if any(_has(sentence, key) for key in line["options"])]
        if len(keyed) == 1:
            return [(keyed[0], sentence)]
        return [(previous, sentence)] if previous is not None else []
    spots.sort(key=lambda s: s[0])
    words = list(re.finditer(r"\S+", lowered))
    parts: dict[int, list[str]] = {}
    for word in words:
        nearest = min(spots, key=lambda s: abs(s[0] - word.start()))
        parts.setdefault(id(nearest[1]), []).append(word.group(0))
    seen: list[dict[str, Any]] = []
    for _, line in spots:
        if not any(line is s for s in seen):
            seen.append(line)
    return [(line, " ".join(parts.get(id(line), []))) for line in seen]


def _own_orders(user: dict[str, Any], data: Data) -> list[dict[str, Any]]:
    return [data.orders[oid] for oid in user["orders"] if oid in data.orders]


def _free_text(instruction: str, user: dict[str, Any], data: Data) -> list[Request]:
    story = re.sub(r"^Your name is .*?\. You are [a-z, ]+\.", "", instruction).strip()
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", story) if s]
    orders = _own_orders(user, data)
    explicit = re.findall(r"#?W\d{7}", story)
    suffix = re.search(r"ends? (?:in|with) (\d+)", story)
    lowered = story.lower()

    def pick_order(lines_of: list[str]) -> tuple[dict[str, Any] | None, bool, str]:
        if explicit:
            oid = "#" + explicit[0].lstrip("#")
            return data.orders.get(oid), True, ""
        if suffix:
            matching = [o for o in orders if o["order_id"].endswith(suffix.group(1))]
            return (matching[0] if len(matching) == 1 else None), False, f"it ends in {suffix.group(1)}"
        # the one with these products, preferring an order that can still be acted on
        with_all = [o for o in orders if all(any(line["name"] == n for line in o["items"]) for n in lines_of)]
        with_all.sort(key=lambda o: o["status"] not in ("pending", "delivered"))
        return (with_all[0] if with_all else None), False, ""

    all_lines = [line for o in orders for line in o["items"]]
    mentioned_names: list[str] = []
    for line in _mentions(story, all_lines):
        if line["name"] not in mentioned_names:
            mentioned_names.append(line["name"])
    order, known, hint = pick_order(mentioned_names[:1] if mentioned_names else [])
    if order is not None and mentioned_names:
        # all mentioned products in one order if possible
        full, _, _ = pick_order(mentioned_names)
        order = full if full is not None and not explicit else order
    if order is None:
        return []
    lines = list(order["items"])
    wants_cancel = bool(re.search(r"\bcancel", lowered)) or "not receive" in lowered
    # "if asked for a payment or refund method, paypal" says how to pay, not that a refund is wanted
    wanting = re.sub(r"(payment|pay) or refund( method)?|refund (or payment )?method|refund or payment", "", lowered)
    wants_refund = bool(re.search(r"\b(return|refund|send (it|them) back)", wanting))
    wants_change = bool(re.search(r"\b(exchange|swap|change it|change (the|them|to)|wrong|instead)\b", wanting))
    question = re.search(r"(make sure|check|know|find out|ask)[^.]*\b(eligible|how much|tracking|status|"
                         r"when|whether|if)\b[^.]*", lowered)
    requests: list[Request] = []
    if KEEP.search(lowered) and re.search(r"keep (all )?the items|keep (it|them) anyway|just keep", lowered):
        # the story ends with keeping everything: the customer only complains and asks
        return [Request("question", order["order_id"], known, hint,
                        question=_complaint(story, lines))]
    pending = order["status"] == "pending"
    payment = _payment(user, story)
    reason = REASON_MISTAKE if re.search(r"mistake|accident", lowered) else REASON_UNNEEDED
    if wants_change and not (wants_refund and not pending and "exchange" not in lowered):
        request = Request(_kind_for(order, True), order["order_id"], known, hint, payment=payment)
        previous: dict[str, Any] | None = None
        for sentence in sentences:
            lowered_sentence = sentence.lower()
            if KEEP.search(lowered_sentence):
                previous = None
                continue  # "try to exchange the kettle, but decide not to": that item is dropped
            if MIND.search(lowered_sentence):
                # "... but change your mind and exchange it for a 1.5L glass one instead": the last wish counts
                parts = MIND.split(lowered_sentence)
                sentence = parts[-2] if lowered_sentence.rstrip(". ").endswith("instead") else parts[-1]
                for earlier in request.wishes:
                    earlier.target.clear()
            for line, part in _clauses(sentence, lines, previous):
                found = next((w for w in request.wishes if w.line is line), None)
                if found is None:
                    found = Wish(line)
                    request.wishes.append(found)
                _read_target(found, part, data)
                previous = line
        request.wishes = [w for w in request.wishes if w.target or w.flexible]
        if request.wishes:
            requests.append(request)
    elif wants_cancel or (wants_refund and pending):
        requests.append(Request("cancel", order["order_id"], known, hint, reason=reason))
    elif wants_refund and order["status"] == "delivered":
        request = Request("return", order["order_id"], known, hint, payment=payment)
        everything = re.search(r"\ball (the )?items|the items|everything", lowered)
        for sentence in sentences:
            late = re.search(r"before confirming|asks for confirmation|as well", sentence.lower())
            for line in _mentions(sentence, lines):
                if any(w.line is line for w in request.wishes + request.late):
                    continue
                (request.late if late and request.wishes else request.wishes).append(Wish(line))
        if everything and not request.wishes:
            request.wishes = [Wish(line) for line in lines]
        if question and re.search(r"eligible", question.group(0)):
            # "make sure you're still eligible for a full refund": ask first, then return it
            requests.append(Request("question", order["order_id"], known, hint, question=_eligibility(story, lines)))
        if request.wishes:
            requests.append(request)
    elif question:
        requests.append(Request("question", order["order_id"], known, hint, question=question.group(0)))
    return requests


def _read_target(wish: Wish, sentence: str, data: Data) -> None:
    """New option values in a sentence: any value of this product's options that differs from what I have."""
    product = data.products.get(wish.line["product_id"], {})
    values: dict[str, set[str]] = {}
    for variant in product.get("variants", {}).values():
        for key, value in variant["options"].items():
            values.setdefault(key, set()).add(value)
    lowered = sentence.lower()
    for key, options in values.items():
        current = wish.line["options"].get(key)
        mentioned = [(lowered.find(_norm(v).split()[0]), v) for v in options if _has(sentence, v)]
        dont_care = re.search(r"(don't|do not|doesn't) care[^.]*", lowered)
        if dont_care and any(_has(dont_care.group(0), v) for v in options):
            wish.flexible.add(key)
            continue
        prefer = re.search(r"prefer\w* (?:an? )?([\w.\- ]+?) over", lowered)
        changed = [v for _, v in sorted(mentioned) if v != current]
        if prefer:
            chosen = [v for v in changed if _has(prefer.group(1), v)]
            changed = chosen or changed
        if changed:
            wish.target[key] = changed[-1] if not prefer else changed[0]
    if re.search(r"cheaper|cheapest", lowered):
        wish.cheapest = True


def _complaint(story: str, lines: list[dict[str, Any]]) -> str:
    names = [line["name"].lower() for line in _mentions(story, lines)] or ["order"]
    return f"I'm not happy with the {names[0]} I got, it doesn't look like the pictures. What are my options?"


def _eligibility(story: str, lines: list[dict[str, Any]]) -> str:
    names = [line["name"].lower() for line in _mentions(story, lines)] or ["item"]
    return f"I used the {names[0]} once and it's already damaged. Can I still get a full refund for it?"


def read_instruction(task: dict[str, Any], data: Data) -> list[Request]:
    """The customer's requests, in the order the instruction tells them."""
    instruction: str = task["instruction"]
    user = data.users[task["user_id"]]
    return _templated(instruction, user, data) or _free_text(instruction, user, data)


# -- talking -------------------------------------------------------------------------------------------

DONE_WORDS = ["no, that's all", "thats it", "nope", "no thanks, that's everything", "that's all, thank you"]
BYE = ["no, that's all. thanks!", "nope, thats it", "no, nothing else. bye!", "that's everything, thank you!"]
YES = ["yes", "yes please", "yep, go ahead", "yes, that's right", "correct, please do it"]
NOT_UNDERSTOOD = ("didn't quite follow", "didn't follow", "rephrase", "not sure i understood", "another way",
                  "didn't catch", "didn't understand", "don't understand", "say that again")
# The agent saying a request can't be done (not its notices that a change can only be made once).
REFUSAL = re.compile(r"(doesn't|does not) cover|not enough (balance|credit)|insufficient|only (an? )?(delivered|"
                     r"pending) orders?|"
                     r"(can't|cannot|can not) be (cancelled|canceled|returned|exchanged|changed|modified)|"
                     r"is (already )?(cancelled|processed|exchange requested|return requested)\b[;.,]|"
                     r"(is not|isn't|not) available|out of stock")
ENDING = ("transfer you", "passing you", "hand you over", "human agent", "goodbye", "human support")


class Stranger:
    """Talks to the agent about the requests in one task's instruction."""

    def __init__(self, task: dict[str, Any], data: Data, seed: int):
        self.rng = random.Random(seed)
        self.style = STYLES[seed % len(STYLES)] if seed >= 0 else self.rng.choice(STYLES)
        self.user = data.users[task["user_id"]]
        self.data = data
        self.identity = _identity(task["instruction"], self.user)
        self.requests = read_instruction(task, data)
        self.piecewise = self.rng.random() < 0.4  # names several items one by one rather than in one breath
        self.finished = False
        self.gave_identity = False
        self.stalls = 0
        self.reopened = 0
        self.repeats = 0  # how many times in a row the agent said the very same thing
        self.last_raw = ""  # my last message before styling, to say again plainly when not understood
        self.rephrased = 0
        self.said_identity = 0
        self.intent_said = ""  # the last time I said what I want, to say it more simply if not understood
        self.gave_up = ""  # why I ended the call before my requests were done, for the transcript
        self.corrections = 0
        self.paid_with: dict[str, dict[str, Any]] = {}  # order id -> payment method changed in this call
        self.last_question = ""
        self.asked: list[Asked] = []
        self.protected = self._protected_words()

    # -- the current request ------------------------------------------------------------------------

    @property
    def request(self) -> Request | None:
        return next((r for r in self.requests if not r.done), None)

    # -- saying things in the customer's style ---------------------------------------------------------

    def _protected_words(self) -> set[str]:
        """Words a typo must not touch: a person mistypes filler, but the agent can't guess an order id."""
        words: set[str] = set()
        for order in _own_orders(self.user, self.data):
            for line in order["items"]:
                words |= set(_norm(line["name"]).split())
                for value in line["options"].values():
                    words |= set(_norm(str(value)).split())
        for request in self.requests:
            for wish in request.wishes:
                for value in wish.target.values():
                    words |= set(_norm(value).split())
            for value in (request.address or {}).values():
                words |= set(_norm(value).split())
        # and the words that carry the request: mild typos in filler, not a misspelt "cancel" every fifth call
        words |= {self.identity.first.lower(), self.identity.last.lower(), "paypal", "gift", "card", "visa",
                  "mastercard", "yes", "no", "nope", "mistake", "needed", "longer", "ordered", "cancel", "return",
                  "exchange", "change", "modify", "refund", "swap", "order", "items", "payment", "address",
                  "email", "instead", "credit"}
        return words

    def _style(self, text: str) -> str:
        if self.style == "typos":
            words = text.lower().replace("'", "").split(" ")
            candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w not in self.protected]
            if candidates and self.rng.random() < 0.6:
                i = self.rng.choice(candidates)
                w = words[i]
                j = self.rng.randrange(1, len(w) - 2)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            return " ".join(words).rstrip(".!")
        # "Sure! no" reads as a yes: a yes or no goes out as it is
        if self.style == "chatty" and self.rng.random() < 0.3 and \
                not re.match(r"(yes|yep|no|nope|correct|that's|thats|wait|hi|hello)\b", text.lower()):
            return self.rng.choice(["Sure! ", "Oh, of course. ", "Okay so, ", "Right, "]) + text
        return text

    def _pick(self, terse: str, normal: list[str], chatty: str | None = None) -> str:
        if self.style in ("terse", "answers_only"):
            return terse
        if self.style == "chatty" and chatty:
            return chatty
        return self.rng.choice(normal)

    # -- facts as a person words them ------------------------------------------------------------------

    def identity_text(self) -> str:
        self.gave_identity = True
        ident = self.identity
        # asked again, a person words it differently (and more plainly) than the time before
        again = self.said_identity
        self.said_identity += 1
        if ident.method == "email" and ident.tried < len(ident.emails):
            email = ident.emails[ident.tried]
            if again:
                return email
            return self._pick(email, [f"my email is {email}", f"it's {email}", f"sure, {email}"],
                              f"Of course! My email address is {email}.")
        zipcode = ident.zip or self.user["address"]["zip"]
        name = f"{ident.first} {ident.last}"
        if again:
            return [f"{name}, zip code {zipcode}", f"name {name}, zip {zipcode}"][again % 2]
        return self._pick(f"{name} {zipcode}", [f"{name}, zip {zipcode}", f"I'm {name}, zip code {zipcode}"],
                          f"Sure, my name is {name} and my zip code is {zipcode}.")

    def order_text(self, request: Request) -> str:
        oid = request.order_id or ""
        if not request.order_known:
            request.asked_order += 1
            if request.asked_order == 1:
                about = request.order_hint or self._what_was_in(request)
                return f"I don't have the order number at hand, {about}"
            # a second time: they dig it out of the confirmation email
            return f"ok I found it in my email, it's {oid}"
        bare = oid.lstrip("#") if self.rng.random() < 0.3 else oid
        return self._pick(bare, [f"it's {bare}", f"order {bare}", bare], f"Sure, the order number is {bare}.")

    def _what_was_in(self, request: Request) -> str:
        names = [w.line["name"].lower() for w in request.wishes]
        if not names and request.order_id in self.data.orders:
            names = [line["name"].lower() for line in self.data.orders[request.order_id]["items"]]
        return "it's the one with the " + _join(names) if names else "it's my most recent one"

    def describe_line(self, line: dict[str, Any], order: dict[str, Any] | None) -> str:
        """"the black gaming mouse": the name with the options that tell it apart from my other lines."""
        name = line["name"].lower()
        # a bare number means nothing on its own: "the size 11 sneakers", not "the 11 sneakers"
        values = [f"{k} {v}" if str(v).replace(".", "").isdigit() else str(v) for k, v in line["options"].items()]
        twins = [other for other in (order or {}).get("items", []) if other["name"] == line["name"]
                 and other is not line]
        if twins:
            differing = [value for (k, v), value in zip(line["options"].items(), values, strict=True)
                         if any(t["options"].get(k) != v for t in twins)]
            return f"the {' '.join(differing or values)} {name}"
        if self.style in ("terse", "answers_only") or not values:
            return f"the {name}"
        if self.rng.random() < 0.5:
            return f"the {values[0]} {name}"
        return f"the {name} ({', '.join(values[:2])})"

    def wish_target_text(self, wish: Wish, full: bool = False) -> str:
        if wish.same:
            return self._pick("same one", ["exactly the same one, just a new one", "an identical one please"])
        target = dict(wish.target)
        if full:
            target = {**wish.line["options"], **target}
        values = [v for k, v in target.items() if k not in wish.flexible]
        text = _join(values)
        if wish.cheapest and wish.flexible:
            text += ", whichever is cheaper"
        return text

    def payment_text(self, method: dict[str, Any] | None, inline: bool = False) -> str:
        """A payment method as a person names it; inline, a bare noun phrase to go inside a sentence."""
        if method is None:
            return self._pick("original payment", ["the original payment method please", "same way I paid for it"])
        source = method.get("source")
        brand, last = str(method.get("brand", "credit")), str(method.get("last_four", ""))
        if inline:
            nouns = {"paypal": ["my paypal", "my PayPal account"], "gift_card": ["my gift card", "the gift card"]}
            return self.rng.choice(nouns.get(str(source), [f"my {brand} ending in {last}", f"the {brand} card"
                                                                                            f" ending {last}"]))
        if source == "paypal":
            return self._pick("paypal", ["my paypal", "to my PayPal account please", "paypal"])
        if source == "gift_card":
            return self._pick("gift card", ["my gift card", "the gift card please", "put it on the gift card"])
        return self._pick(f"{brand} {last}", [f"my {brand} ending in {last}", f"the {brand} card, ends {last}"],
                          f"My {brand} card, the one ending in {last}.")

    def address_text(self, address: dict[str, str], ref: str | None) -> str:
        line2 = f", {address['address2']}" if address.get("address2") else ""
        text = f"{address['address1']}{line2}, {address['city']}, {address['state']} {address['zip']}"
        if ref and self.style == "chatty":
            text += f" (the same address as my order {ref})"
        return text

    # -- the opening ---------------------------------------------------------------------------------

    def intent_text(self, request: Request) -> str:
        """What I want, in my own words; how much detail depends on the style."""
        self.intent_said = self._intent_text(request)
        return self.intent_said

    def _intent_text(self, request: Request) -> str:
        detail = self.style in ("chatty", "out_of_order", "typos") or (self.style == "terse" and self.rng.random() < .5)
        oid = request.order_id if request.order_known and detail else None
        on = f" {oid}" if oid else ""
        order = self.data.orders.get(request.order_id or "")
        items = _join([self.describe_line(w.line, order) for w in request.wishes]) if detail else ""
        kind = request.kind
        if kind == "cancel":
            base = self._pick(f"cancel order{on}", [f"I want to cancel my order{on}", f"I need to cancel an order{on}"],
                              f"Hi there! I placed an order{on} and I'd like to cancel it please.")
            if detail and request.reason:
                base = base.rstrip(".!") + ", " + self.reason_text(request)
            return base
        if kind == "return":
            what = f" {items}" if items else " some things"
            return self._pick(f"return{what}{on}", [f"I'd like to return{what} from my order{on}",
                                                     f"I want to send back{what}{' (order' + on + ')' if on else ''}"],
                              f"Hello! I received my order{on} and I'd like to return{what}.")
        if kind in ("exchange", "modify_items"):
            verb = "exchange" if kind == "exchange" else "change"
            if items and len(request.wishes) == 1:
                wish = request.wishes[0]
                into = self.wish_target_text(wish)
                what = f"{items} for {'a ' + into if not wish.same else into}"
            else:
                what = items or "some items"
            return self._pick(f"{verb} {what}{on}", [f"I want to {verb} {what} in my order{on}",
                                                      f"can I {verb} {what}? order{on}"],
                              f"Hi! I'd like to {verb} {what} in my order{on}, if that's possible.")
        if kind == "modify_payment":
            how = self.payment_text(request.payment, inline=True) if detail else "a different payment method"
            return self._pick(f"change payment{on}", [f"I want to pay for my order{on} with {how} instead",
                                                     f"can I switch the payment on order{on} to {how}?"],
                              f"Hi, I'd like to change how I pay for my order{on}, to {how} please.")
        if kind == "modify_address":
            where = f" to {self.address_text(request.address or {}, request.address_ref)}" if detail else ""
            return self._pick(f"change shipping address{on}",
                              [f"I need to change the shipping address of order{on}{where}",
                               f"please ship my order{on} to a different address{where}"],
                              f"Hi! Could you change where my order{on} is being shipped{where}?")
        if kind == "user_address":
            return self._pick("update my address", ["I moved, I need to update the address on my account",
                                                    "please change my default address"])
        return request.question or "I have a question about my order"

    def first_message(self) -> str:
        request = self.request
        if request is None:
            return self._style("hi, I just have a quick question about my account")
        text = self.intent_text(request)
        if self.style == "out_of_order":
            # the details come before what it's about, as people do when they've prepared them
            text = f"{self.identity_text()}. {text}"
        elif self.style == "chatty" and self.rng.random() < 0.5:
            text = f"{text} {self.identity_text()}"
        if request.kind == "question":
            self._ask(request)
        return self._style(text)

    def reason_text(self, request: Request) -> str:
        if request.reason == REASON_MISTAKE:
            return self._pick("by mistake", ["I ordered it by mistake", "it was a mistake, I didn't mean to order it"])
        return self._pick("don't need it", ["I don't need it anymore", "I no longer need it",
                                            "I changed my mind, don't need it"])

    def _ask(self, request: Request) -> None:
        topic = next((t for t in ("tracking", "how much", "status", "eligible", "refund", "options")
                      if t in request.question.lower()), "other")
        self.asked.append(Asked(request.question, topic))

    # -- replying ------------------------------------------------------------------------------------

    def reply(self, replies: list[str]) -> str | None:
        """The next message, or None when the conversation is over for me."""
        last = (replies[-1] if replies else "").lower()
        if any(p in last for p in NOT_UNDERSTOOD) and self.last_raw and self.rephrased < 2:
            # "could you put it another way?" on its own: say my last answer again, more plainly
            self.rephrased += 1
            self.last_question = last
            plain = self.last_raw
            if plain in DONE_WORDS or plain in BYE:
                plain = "no, that's all"
            elif self.request is not None and plain == self.intent_said:
                plain = self._plainer(self.request)  # my request wasn't understood: say it more simply
            return self._style(plain) if self.style != "typos" else plain.lower()
        self.rephrased = 0
        asked_before = self.last_question
        message = self._reply(replies)
        # the same question and the same answer a fourth time: we're going round in circles, a person hangs up
        same = last == asked_before and _norm(message or "").replace("#", "") == _norm(self.last_raw).replace("#", "")
        self.repeats = self.repeats + 1 if same else 0
        self.last_raw = message or ""
        if self.repeats >= 3:
            self.finished = True
            self.gave_up = "the same question and answer four times"
            return None
        return None if message is None else self._style(message)

    def _reply(self, replies: list[str]) -> str | None:
        everything = " ".join(replies).lower()
        last = (replies[-1] if replies else "").lower()
        self._note_answers(everything)
        repeated = last == self.last_question
        self.last_question = last
        confused = any(p in everything for p in NOT_UNDERSTOOD)
        offers_transfer = bool(re.search(r"(would you like|do you want|shall i|should i) (me to )?(pass|transfer|put)",
                                         last))
        if any(p in everything for p in ENDING) and not last.rstrip().endswith("?"):
            self.finished = True
            return None
        if self._identity_failed(everything) or (not self._asks_confirmation(last) and self._asks_identity(last)):
            text = self.identity_text()
            return f"no, wait - {text}" if offers_transfer else text
        if offers_transfer:
            # I don't want a human, I want this done: say so, and say again what it is
            request = self.request
            return "no, " + (self._plainer(request) if request else "I'm fine, thanks")
        request = self.request
        if request is not None and REFUSAL.search(everything) and not self._asks_confirmation(last):
            moved_on = self._blocked(request, everything)
            if moved_on is not None:
                return moved_on
            request = self.request
        if request is not None and request.kind == "question" and self.asked and \
                self._asks_specific(last) and len([r for r in self.requests if not r.done]) > 1:
            request.done = True  # asked; the agent has moved on to what comes next
            request = self.request
        if request is not None and re.search(r"do you need help with|did you mean|is that what you (mean|want)", last):
            # the agent checking the topic, not confirming an action: yes if it's the right kind of thing
            problem = self._wrong_action(request, last)
            return f"no - {problem}" if problem else self.rng.choice(["yes", "yes, that's it"])
        if self._asks_confirmation(last):
            return self._confirm(request, everything)
        if request is None:
            return self._wrap_up(last)
        if request.kind == "question":
            return self._question_turn(request, last)
        correction = self._wrong_kind(request, last)
        if correction:
            return correction
        if re.search(r"order (number|id|#)|which order|what order|the order\?", last) and \
                not re.search(r"which items?|what items?", last):
            return self.order_text(request)
        if request.kind == "cancel" and re.search(r"\bwhy\b|reason|no longer needed|by mistake", last):
            if confused or repeated:
                return request.reason or REASON_UNNEEDED  # say it in the agent's words this time
            return self.reason_text(request)
        if request.wishes and "payment method" not in last and \
                re.search(r"instead|which option|which one|what would you like .* (to|for)|"
                          r"available:|which variant|change it to|exchange it for", last):
            return self._new_option(request, last, full=confused or repeated)
        if request.wishes and re.search(r"which items?|what items?|which products?|anything else to|"
                                        r"any other items?|other items?|all of them|what would you like to "
                                        r"(return|exchange|change|modify)", last):
            return self._items(request, last)
        if re.search(r"payment|refund|\bpay\b|card|paypal", last) and last.rstrip().endswith("?"):
            return self.payment_text(request.payment or self._original_payment(request))
        if request.address is not None and re.search(r"address|street|city|state|zip|second line|apartment|"
                                                      r"suite|unit", last):
            return self._address_part(request, last)
        if re.search(r"anything else|help you with|how can i help|what can i do|something else|"
                     r"what else", last):
            self.reopened += 1
            if self.reopened > 2 * len(self.requests) + 1:
                self.finished = True  # the agent keeps not doing it: a person gives up
                self.gave_up = "asked again and again what else it could do"
                return None
            return self.intent_text(request)
        self.stalls += 1
        if self.stalls > 4:
            self.finished = True
            self.gave_up = "no question it could answer, five times"
            return None
        return self.intent_text(request) if not confused else self._plainer(request)

    def _blocked(self, request: Request, everything: str) -> str | None:
        """The agent says it can't do it. Once, I say it again plainly; a second time, or when my gift card
        is short, I let it go and move on to my next request, as a person would."""
        request.blocked += 1
        if request.blocked < 2 and not re.search(r"cover|balance|insufficient", everything):
            return self._plainer(request)
        request.done = True
        following = self.request
        if following is None:
            self.finished = True
            self.gave_up = "the agent said it can't be done"
            return self.rng.choice(["ok, never mind then. that's all, thanks", "oh well. nothing else, bye"])
        return "ok, never mind that then. " + self.intent_text(following)

    @staticmethod
    def _asks_specific(last: str) -> bool:
        """A question about a detail of a request (not "anything else?")."""
        return bool(re.search(r"order (number|id|#)|which order|which items?|what items?|payment|refund|"
                              r"instead|which option|shall i|go ahead", last))

    def _wrong_kind(self, request: Request, last: str) -> str:
        """The agent is doing something other than what I asked (an exchange when I want a return): say so."""
        if "?" not in last:
            return ""
        said = {kind for kind, pattern in (("return", r"\breturn"), ("exchange", r"\bexchang|instead of"),
                                           ("cancel", r"\bcancel")) if re.search(pattern, last)}
        mine = {"return": "return", "exchange": "exchange", "cancel": "cancel"}.get(request.kind)
        if mine is None or not said or mine in said:
            return ""
        if mine == "return" and "instead of" in last:
            return "I don't want a replacement, I want to return it and get my money back"
        wrong = sorted(said)[0]
        self.corrections += 1
        if self.corrections > 2:
            return ""  # said it twice already; go along with the questions and refuse the summary instead
        words = {"return": "return it for a refund", "exchange": "exchange it", "cancel": "cancel the order"}
        return f"no, I don't want to {wrong} - I want to {words[mine]}"

    def _plainer(self, request: Request) -> str:
        """After "I didn't follow", say the request as plainly as possible."""
        oid = request.order_id if request.order_known else ""
        words = {"cancel": "I want to cancel order", "return": "I want to return items from order",
                 "exchange": "I want to exchange items from order", "modify_items": "I want to change items in order",
                 "modify_payment": "I want to change the payment method of order",
                 "modify_address": "I want to change the shipping address of order",
                 "user_address": "I want to change my default address"}
        return f"{words.get(request.kind, 'question about order')} {oid}".strip()

    # -- what the agent is asking --------------------------------------------------------------------

    @staticmethod
    def _asks_confirmation(last: str) -> bool:
        # also the agent checking what it understood ("do you need help with ...?"): a yes/no about my request
        return bool(re.search(r"shall i|go ahead|should i proceed|do you (want|confirm)|please confirm|"
                              r"can you confirm|is that (right|correct)|\byes or no\b|\(yes/no\)|proceed\?|"
                              r"confirm\?|do you need help with|did you mean|is that what you (mean|want)", last))

    def _identity_failed(self, everything: str) -> bool:
        """The agent couldn't find me: next time use my other email, or name and zip, as a person would."""
        if not re.search(r"(couldn't|could not|unable to|can't|cannot) (find|locate|verify) (an |your |the )?"
                         r"(account|user|profile|customer|details|identity)|no account|"
                         r"details (don't|do not) match", everything):
            return False
        ident = self.identity
        ident.tried += 1
        if ident.method == "email" and ident.tried >= len(ident.emails):
            ident.method = "name_zip"
        return True

    def _asks_identity(self, last: str) -> bool:
        if self.request is not None and self.request.address is not None and self.gave_identity:
            # once verified, "zip" is about the new address
            return bool(re.search(r"(your|account) e-?mail|who you are|verify", last))
        # "you'll get an email about returning the items" is news, not a question about my email
        return bool(re.search(r"(your|account|the) (e-?mail|email address)|zip|who you are|verify|authenticate|"
                              r"your (full )?name", last))

    # -- answers -------------------------------------------------------------------------------------

    def _confirm(self, request: Request | None, text: str) -> str:
        if request is None:
            return self._pick("no", ["no, I didn't ask for that", "no thanks"])
        if request.late:
            # "if the agent asks for confirmation, mention you also want to return the desk lamp"
            order = self.data.orders.get(request.order_id or "")
            more = _join([self.describe_line(w.line, order) for w in request.late])
            request.wishes += request.late
            request.late = []
            return f"wait, before you do that - I also want to return {more}"
        problem = self.mismatch(request, text)
        if problem:
            request.refused += 1
            for wish in request.wishes:
                wish.told = False  # next time round, everything is said again
            return self._pick(f"no - {problem}", [f"no, that's not right - {problem}", f"No. {problem}"])
        request.done = True
        if request.kind == "modify_payment" and request.order_id and request.payment is not None:
            self.paid_with[request.order_id] = request.payment
        return self.rng.choice(YES)

    def mismatch(self, request: Request, text: str) -> str:
        """What in the agent's summary contradicts my request ("" when it matches)."""
        wrong = self._wrong_action(request, text)
        if wrong:
            return wrong
        return self._wrong_details(request, text)

    def _wrong_action(self, request: Request, text: str) -> str:
        # what the summary proposes is its first action word: "you'll get an email about returning the
        # items" later in an exchange's summary doesn't make it a return
        actions = [("cancel", r"\bcancel"), ("return", r"\breturn"), ("exchange", r"\bexchang"),
                   ("modify_items", r"\b(modif|chang|swap|replac)"), ("modify_payment", r"\bpa(y|id)\b"),
                   ("modify_address", r"\b(ship|address)")]
        found = sorted((m.start(), kind) for kind, pattern in actions if (m := re.search(pattern, text)))
        proposed = found[0][1] if found else ""
        fits = {"cancel": {"cancel"}, "return": {"return"}, "exchange": {"exchange", "modify_items"},
                "modify_items": {"modify_items", "exchange"}, "modify_payment": {"modify_payment", "modify_items"},
                "modify_address": {"modify_address", "modify_items"},
                "user_address": {"modify_address", "modify_items"}}  # "change the address" starts with a change
        if proposed not in fits.get(request.kind, {proposed}):
            words = {"cancel": "cancel the order", "return": "return it for a refund", "exchange": "exchange it",
                     "modify_items": "change the items", "modify_payment": "change the payment method",
                     "modify_address": "change the shipping address", "user_address": "change my address"}
            return f"that's not what I asked for, I want to {words.get(request.kind, 'ask something')}"
        return ""

    def _wrong_details(self, request: Request, text: str) -> str:
        mentioned = {"#" + m.lstrip("#").upper() for m in re.findall(r"#?w\d{7}", text)}
        if request.order_id and mentioned and request.order_id not in mentioned:
            return f"it's order {request.order_id}"
        if request.reason:
            other = REASON_MISTAKE if request.reason == REASON_UNNEEDED else REASON_UNNEEDED
            if other in text and request.reason not in text:
                return f"the reason is {request.reason}"
        if request.wishes:
            mine = {w.line["name"].lower() for w in request.wishes}
            catalogue = {p["name"].lower() for p in self.data.products.values()}
            # a backpack's "laptop" compartment is not the Laptop: leave my products' option values out
            bare = text
            for wish in request.wishes:
                for variant in self.data.products.get(wish.line["product_id"], {}).get("variants", {}).values():
                    for value in variant["options"].values():
                        bare = re.sub(r"\b" + re.escape(str(value).lower()) + r"\b", " ", bare)
            others = {name for name in catalogue - mine if re.search(r"\b" + re.escape(name) + r"\b", bare)
                      and not any(name in m for m in mine)}
            if others:
                return f"I didn't ask about the {_join(sorted(others))}"
            missing = [name for name in mine if name not in text]
            if missing:
                return f"you're missing the {_join(missing)}"
            for wish in request.wishes:
                for key, value in wish.target.items():
                    if key not in wish.flexible and not _has(text, value):
                        return f"I want the {wish.line['name'].lower()} in {value}"
        if request.payment is not None:
            named = self._payments_named(text)
            if named and request.payment["id"] not in named:
                return f"I want to use {self.payment_text(request.payment, inline=True)}"
        if request.address is not None:
            parts = [request.address.get(k, "") for k in ("address1", "address2", "city", "zip")]
            if not all(_has(text, part) for part in parts if part):
                return f"the address is {self.address_text(request.address, None)}"
        return ""

    def _payments_named(self, text: str) -> set[str]:
        named: set[str] = set()
        for pid, method in self.user["payment_methods"].items():
            source = method["source"]
            words = {"paypal": "paypal", "gift_card": "gift card"}.get(source) or str(method.get("last_four", "-"))
            if words in text:
                named.add(pid)
        return named

    def _original_payment(self, request: Request) -> dict[str, Any] | None:
        """How the order is paid: as changed earlier in this call, or as it was placed."""
        if request.order_id in self.paid_with:
            return self.paid_with[request.order_id]
        order = self.data.orders.get(request.order_id or "")
        if order and order.get("payment_history"):
            pid = order["payment_history"][0]["payment_method_id"]
            method: dict[str, Any] | None = self.user["payment_methods"].get(pid)
            return method
        return None

    def _items(self, request: Request, last: str) -> str:
        order = self.data.orders.get(request.order_id or "")
        if re.search(r"which items?|what items?|which products?", last) and "else" not in last:
            for wish in request.wishes:
                wish.told = False  # asked afresh: name them all, whatever I said in passing before
        untold = [w for w in request.wishes if not w.told]
        if not untold:
            return self.rng.choice(DONE_WORDS)
        if self.piecewise:
            untold = untold[:1]
        for wish in untold:
            wish.told = True
        names = [self.describe_line(w.line, order) for w in untold]
        more = any(not w.told for w in request.wishes)
        if request.kind in ("exchange", "modify_items") and len(untold) == 1 and self.style == "chatty":
            return f"{names[0]}, I'd like {self.wish_target_text(untold[0])} instead"
        text = _join(names)
        # one of several: "just the lamp" would say it's the only one
        if more:
            return self._pick(text, [text, f"{text} to start with", f"first, {text}"])
        if len(untold) < len(request.wishes):
            return self._pick(text, [text, f"and {text}", f"also {text}"])
        return self._pick(text, [text, f"just {text}", f"{text} please"])

    def _new_option(self, request: Request, last: str, full: bool) -> str:
        """Pick from what the agent offers, like a person reading the list; else say what I want."""
        about = re.search(r"instead of (the |your )?([a-z0-9 '-]+)", last)
        if about and not any(about.group(2).startswith(w.line["name"].lower()) for w in request.wishes):
            # it's asking about something I never wanted changed: say so, and what I meant
            order = self.data.orders.get(request.order_id or "")
            mine = _join([self.describe_line(w.line, order) for w in request.wishes])
            return f"no, not the {about.group(2).strip()} - I meant {mine}"
        wish = self._wish_asked_about(request, last)
        wish.told = True
        product = self.data.products.get(wish.line["product_id"], {})
        offered = []
        segments = re.split(r";|\n| or |\?", last)
        for variant in product.get("variants", {}).values():
            values = [str(v) for v in variant["options"].values()]
            if any(all(_has(seg, v) for v in values) for seg in segments):
                offered.append(variant)
        fitting = [v for v in offered if all(_has(str(v["options"].get(k, "")), val)
                                             for k, val in ({**wish.line["options"], **wish.target}
                                                            if wish.same else wish.target).items())]
        keep = {k: v for k, v in wish.line["options"].items() if k not in wish.target and k not in wish.flexible}
        # only what keeps the rest as it is: a person who wants "linear, otherwise the same" doesn't take
        # "linear, 80%" because it's the one offered; they say the full thing
        exact = [v for v in fitting if all(v["options"].get(k) == val for k, val in keep.items())]
        if exact and (full or len(exact) == 1 or "which one" in last):
            best = sorted(exact, key=lambda v: float(v["price"]) if wish.cheapest else 0.0)[0]
            if "which one" in last and full:
                # asked again which one: a person points at what sets it apart, then at its place in the list
                wish.asked_which += 1
                others = [v for v in offered if v is not best]
                apart = [str(val) for k, val in best["options"].items()
                         if all(o["options"].get(k) != val for o in others)]
                order = sorted(offered, key=lambda v: _norm(last).find(_norm(" ".join(
                    str(x) for x in v["options"].values()))))
                if wish.asked_which == 1 and apart:
                    return f"the {' '.join(apart)} one"
                ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
                place = next(i for i, v in enumerate(order) if v is best)
                if place < len(ordinals):
                    return f"the {ordinals[place]} one"
            return ", ".join(str(v) for v in best["options"].values())
        return self.wish_target_text(wish, full=full or bool(fitting and not exact))

    def _wish_asked_about(self, request: Request, last: str) -> Wish:
        """Which of my items the agent's question is about: the first whose name (and options) it quotes."""
        def score(wish: Wish) -> tuple[int, int]:
            name = wish.line["name"].lower()
            at = last.find(name)
            return (0 if at < 0 else 1000 - at, sum(_has(last, str(v)) for v in wish.line["options"].values()))
        return max(request.wishes, key=score)

    def _address_part(self, request: Request, last: str) -> str:
        address = request.address or {}
        if re.search(r"second line|apartment|suite|unit", last):
            return address.get("address2") or "none"
        if re.search(r"street|first line|line 1", last):
            return address.get("address1", "")
        if "city" in last and "state" not in last:
            return address.get("city", "")
        if "state" in last and "city" not in last:
            return address.get("state", "")
        if "zip" in last and "address" not in last:
            return address.get("zip", "")
        return self.address_text(address, request.address_ref)

    def _question_turn(self, request: Request, last: str) -> str | None:
        if re.search(r"which (items?|products?)|what (items?|products?)", last):
            # only asking: name what it is about, nothing to act on
            names = [line["name"].lower() for line in self.data.orders.get(request.order_id or "", {}).get("items", [])
                     if line["name"].lower() in request.question.lower()]
            return f"the {names[0]}" if names else "I'm just asking for now"
        if re.search(r"order (number|id|#)|which order", last):
            return self.order_text(request)
        if not self.asked or (not self.asked[-1].answered and request.refused < 2):
            # not asked yet, or asked before the agent had verified me and it hasn't answered: ask (again)
            if self.asked:
                request.refused += 1
            else:
                self._ask(request)
            return request.question
        # it was answered (or the agent offered something): a person who wanted no change ends here
        request.done = True
        if self._asks_confirmation(last):
            return "no, I'll just keep it"
        return self._wrap_up(last) or "ok, thanks"

    def _wrap_up(self, last: str) -> str | None:
        self.finished = True
        if "?" in last or re.search(r"anything else|help", last):
            return self.rng.choice(BYE)
        return None

    def _note_answers(self, text: str) -> None:
        """Did the agent answer what I asked? A figure, a tracking number, a yes/no about eligibility."""
        for asked in self.asked:
            if asked.answered:
                continue
            # the words of an answer, not of a process the agent happens to be running
            evidence = {"tracking": r"\d{8,}", "how much": r"\$\s?\d",
                        "eligible": r"\b(eligible|you can (still )?(return|get)|can be returned|full refund)\b",
                        "status": r"\bis (pending|processed|delivered|cancelled)\b"}.get(
                asked.topic, r"\b(you can|we can|options? (are|is)|available)\b")
            if re.search(evidence, text):
                asked.answered = True
                asked.reply = text[:300]


def _join(names: list[str]) -> str:
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
