"""Reading a question about the customer's own records into a RecordQuery.

"what's the tracking number for my tablet order?", "how much did I pay for my most recent order?",
"which two t-shirts did I order in my other order, and what are they made of?" — each names
attributes (declared in the pack's records.yaml, in the pack's words and synonyms), a reference to
one or more records (an id, most recent, oldest, the one with a product, the other one, all) and
sometimes a computation (a count, a sum, a refund total). Products and options are recognised
from the customer's *own* records, so "the tablet" only means something when they bought one.

The English here is the lexicon of references and computations ("most recent", "how many",
"get back") and a few generic words for item options ("made of" → material); everything about
the business — record and field names and their synonyms — comes from the pack's declaration.
Matching is by words, tolerant of plurals and small typos (rapidfuzz).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from helpline.conversation.ports import Entity
from helpline.conversation.records import (
    ITEM_PRICE,
    Aggregate,
    RecordQuery,
    Reference,
    normalise_id,
    record_id,
    record_items,
)
from helpline.pack.records import RecordKind, RecordsDeclaration

# --- the lexicon (English) ---------------------------------------------------------------------

MOST_RECENT = ("most recent", "latest", "newest", "recent", "just ordered", "just placed", "last")
OLDEST = ("oldest", "earliest", "first")
OTHER = ("other",)
ALL = ("all", "every", "each", "ever", "so far", "altogether", "all together", "combined", "overall")
# "last"/"first" are references only beside the record ("my last order", "the first one"), not in
# "last four digits" or "first name"
_POSITIONAL = {"last", "first"}
_NOT_AFTER_POSITIONAL = {"four", "4", "name", "digit", "time", "week", "month", "year", "night", "day", "line"}

REFUND = ("get back", "money back", "be refunded", "refund total", "total refund", "refund amount",
          "how much refund", "refund come to", "refund be", "refund will", "refund would")
_PAST = {"did", "was", "were", "got", "received", "already", "been"}
COUNT = ("how many", "number of", "count")
SUM = ("in total", "altogether", "all together", "combined", "add up", "sum", "total spent", "overall")
LIST = ("list", "show me", "what are my", "do i have", "have i placed", "have i made")
MONEY = ("how much", "cost", "price", "paid", "pay", "spend", "spent", "charged", "charge", "amount")
ITEMS = ("did i order", "did i buy", "did i purchase",
         "whats in", "what is in", "what was in", "what were in", "contents", "what came", "in it", "in there")
# "I bought ..." tells a story ("I bought some beans from you and I can't grind them"); it asks which items only
# after a word for them: "what I ordered", "the things I bought", "which ones I purchased"
ITEMS_TOLD = ("i ordered", "i bought", "i purchased")
_ITEMS_ASKED_BEFORE = {"what", "which", "thing", "stuff", "item", "product", "everything"}
ALL_ITEMS = ("everything", "all of it", "all items", "all the items", "whole order", "entire order",
             "all of them", "whole thing", "the lot")
# generic words for item options: the concept (the option key customers' data uses) and its phrasings
OPTION_WORDS: dict[str, tuple[str, ...]] = {
    "material": ("made of", "made from", "made out of", "material", "fabric"),
    "color": ("color", "colour", "what colour", "what color"),
    "size": ("size", "how big", "sized"),
}
# words too plain to name a product on their own ("the last one" is not the Espresso One)
_GENERIC = {"one", "set", "kit", "pro", "max", "mini", "plus", "pack", "the", "and", "for", "with", "new", "item"}
_SKIP_OPTION_VALUES = {"none", "yes", "no", "standard", "basic", "regular", "plain", "one"}

# --- words -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """Plural to singular, enough for matching ("t-shirts" ~ "T-Shirt", "batteries" ~ "battery")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[:-2].endswith(("s", "x", "ch", "sh")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case, apostrophes and hyphens joined ("what's" → whats, "t-shirts" → tshirt), singular."""
    text = text.casefold().replace("\u2019", "'")
    text = re.sub(r"(?<=[a-z0-9])['\-](?=[a-z0-9])", "", text)
    return [_stem(w) for w in _TOKEN.findall(text)]


def _same(a: str, b: str) -> bool:
    return a == b or (len(a) > 4 and len(b) > 4 and fuzz.ratio(a, b) >= 88)


def spans(phrase: Sequence[str], tokens: Sequence[str]) -> list[tuple[int, int]]:
    """(start, length) of each occurrence of `phrase` in `tokens`, tolerant of small typos; a
    one-word phrase also matches two words written apart ("t shirt" ~ "tshirt")."""
    n = len(phrase)
    if not n:
        return []
    found = [(i, n) for i in range(len(tokens) - n + 1) if all(_same(tokens[i + j], phrase[j]) for j in range(n))]
    if n == 1 and len(phrase[0]) > 3:
        found += [(i, 2) for i in range(len(tokens) - 1)
                  if _same(tokens[i] + tokens[i + 1], phrase[0]) and not _same(tokens[i], phrase[0])]
    return found


def find(phrase: Sequence[str], tokens: Sequence[str]) -> list[int]:
    return [start for start, _ in spans(phrase, tokens)]


@dataclass(frozen=True)
class _Hit:
    key: str
    start: int
    length: int

    def covers(self, other: _Hit) -> bool:
        return self.start <= other.start and other.start + other.length <= self.start + self.length


def _hits(phrases: Mapping[str, Sequence[str]], tokens: Sequence[str]) -> list[_Hit]:
    """Every key whose phrases occur, by its longest occurrence; keys only found inside another
    key's longer phrase are dropped ("pay" in "paid with" names the payment method, not the total)."""
    found: list[_Hit] = []
    for key, options in phrases.items():
        best: _Hit | None = None
        for phrase in options:
            for start, length in spans(words(phrase), tokens):
                if best is None or length > best.length:
                    best = _Hit(key, start, length)
        if best is not None:
            found.append(best)
    return [h for h in found if not any(o is not h and o.length > h.length and o.covers(h) for o in found)]


def _has(cues: Sequence[str], tokens: Sequence[str]) -> bool:
    return any(find(words(cue), tokens) for cue in cues)


def _asks_items(tokens: Sequence[str]) -> bool:
    """The message asks which items a record holds ("what did I order?", "the things I bought")."""
    if _has(ITEMS, tokens):
        return True
    return any(start > 0 and _ITEMS_ASKED_BEFORE & set(tokens[max(start - 3, 0):start])
               for cue in ITEMS_TOLD for start in find(words(cue), tokens))


def _drop(cues: Sequence[str], tokens: list[str]) -> list[str]:
    """The tokens without the cue phrases (so "in total" is not read as the field "total")."""
    kept = list(tokens)
    for cue in cues:
        for start, length in reversed(spans(words(cue), kept)):
            kept[start:start + length] = ["_"] * length
    return kept


# --- the parts of a question -------------------------------------------------------------------


def _positional(tokens: Sequence[str], at: int, record_words: set[str]) -> bool:
    before = tokens[at - 1] if at > 0 else ""
    after = tokens[at + 1:at + 3]
    if after and after[0] in _NOT_AFTER_POSITIONAL:
        return False
    return before in {"my", "the", "your", "very"} or any(w in record_words or w == "one" for w in after)


def _reference(tokens: list[str], kind: RecordKind) -> Reference | None:
    record_words = {words(kind.label)[-1], *words(kind.plural_label)[-1:]}
    for cue in OTHER:
        if find(words(cue), tokens):
            return Reference.OTHER
    for reference, cues in ((Reference.MOST_RECENT, MOST_RECENT), (Reference.OLDEST, OLDEST)):
        for cue in cues:
            phrase = words(cue)
            for start in find(phrase, tokens):
                if cue not in _POSITIONAL or _positional(tokens, start, record_words):
                    return reference
    if _has(ALL, tokens):
        return Reference.ALL
    return None


def _products(tokens: list[str], names: Sequence[str], blocked: set[int]) -> tuple[list[str], set[int]]:
    """The customer's products the question names, and the token positions they used.

    A product is named by its whole name or by a distinctive word of it ("kettle" names "Electric
    Kettle"); where two products compete for the same words, the fuller match wins ("electric
    kettle" is not the Tea Kettle)."""
    scored: list[tuple[float, set[int], str]] = []
    for name in names:
        name_words = words(name)
        used: set[int] = set()
        matched = 0
        for word in dict.fromkeys(name_words):
            head = word == name_words[-1]
            if len(name_words) > 1 and (word in _GENERIC or len(word) < (3 if head else 4)):
                continue  # "one" in "Espresso One", "set" in "Luggage Set" name nothing alone
            positions = {p for start, length in spans([word], tokens) for p in range(start, start + length)} - blocked
            if positions:
                used |= positions
                matched += 1
        whole = spans(name_words, tokens)
        if whole:
            used |= {p for start, length in whole for p in range(start, start + length)} - blocked
            matched = len(name_words)
        if used:
            scored.append((matched / len(name_words), used, name))
    kept = [name for score, used, name in scored
            if not any(other > score and used & other_used for other, other_used, _ in scored)]
    positions = {p for _, used, name in scored if name in kept for p in used}
    return kept, positions


def _option_values(tokens: list[str], values: Sequence[str], blocked: set[int]) -> list[str]:
    found = []
    for value in values:
        value_words = words(value)
        if (not value_words or len(value) < 3 or value.casefold() in _SKIP_OPTION_VALUES
                or (value_words[0].isdigit() and len(value_words) == 1)):
            continue
        if any(not blocked & set(range(start, start + length)) for start, length in spans(value_words, tokens)):
            found.append(value)
    return found


def _option_keys(tokens: list[str], keys: Sequence[str]) -> list[str]:
    """Item options asked about: a key said as such ("what capacity"), or a concept ("made of" →
    material, matched later to "material" or "strap material" on each item)."""
    phrases: dict[str, list[str]] = {key: [key] for key in keys}
    for concept, phrasings in OPTION_WORDS.items():
        phrases.setdefault(concept, []).extend(phrasings)
    hits = _hits(phrases, tokens)
    return sorted({h.key for h in hits}, key=lambda k: next(h.start for h in hits if h.key == k))


def _shape(value: str) -> str:
    return re.sub(r"[A-Z]", "A", re.sub(r"[0-9]", "9", normalise_id(value)))


def _written_id(tokens: Sequence[str], own_ids: Sequence[str]) -> tuple[str | None, set[int]]:
    """An id written in the question: one of the customer's own ("bb 10047" is BB-10047), or one
    shaped like theirs that is not theirs ("BB-10001": asked about, and not found on their account
    - never silently replaced by the order in focus)."""
    own = {normalise_id(i): i for i in own_ids if i}
    shapes = {_shape(i) for i in own_ids if i}
    for start in range(len(tokens)):
        for span in (3, 2, 1):
            if start + span > len(tokens):
                continue
            joined = "".join(tokens[start:start + span])
            if not any(c.isdigit() for c in joined):
                continue
            key = normalise_id(joined)
            if key in own:
                return own[key], set(range(start, start + span))
            if _shape(joined) in shapes:
                return key, set(range(start, start + span))
    return None, set()


_WH = {"what", "whats", "which", "when", "where", "who", "whos"}
_AUX = {"is", "was", "are", "were", "s", "will", "does", "did", "do", "the", "my", "your", "its", "it", "a", "an",
        "that", "this", "there"}
_STOP_AFTER = {"of", "on", "for", "in", "with", "from", "about", "to", "at", "by", "and", "i", "please"}
_NOT_ASKED = {"order", "one", "it", "that", "this", "happening", "up", "going", "on", "wrong", "thing"}


def _unknown(text: str, record_words: set[str]) -> str | None:
    """The thing asked for when nothing declared matched: "what's the warranty on that order?" ->
    "warranty" (so the answer can say the records don't show it instead of reciting the order)."""
    raw = re.findall(r"[a-z0-9]+", re.sub(r"['’]", "", text.casefold()))
    for index, word in enumerate(raw):
        if word not in _WH:
            continue
        rest = raw[index + 1:]
        while rest and rest[0] in _AUX:
            rest = rest[1:]
        asked: list[str] = []
        for w in rest:
            if w in _STOP_AFTER or _stem(w) in record_words:
                break
            asked.append(w)
        asked = [w for w in asked if w not in _NOT_ASKED]
        if asked:
            return " ".join(asked[:4])
    return None


# --- the parser --------------------------------------------------------------------------------


def choose_kind(text: str, declaration: RecordsDeclaration) -> RecordKind | None:
    """The record kind a question is about: the one whose label and fields it names most (the first
    declared when nothing tells them apart); None when the pack declares no records."""
    kinds = list(declaration.kinds.values())
    if len(kinds) <= 1:
        return kinds[0] if kinds else None
    tokens = words(text)

    def score(kind: RecordKind) -> int:
        phrases = {name: [name, *spec.synonyms] for name, spec in kind.fields.items()}
        phrases["@label"] = [kind.label, kind.plural_label]
        return sum(h.length for h in _hits(phrases, tokens))

    return max(kinds, key=score)


def parse_record_question(
    text: str,
    kind: RecordKind,
    records: Sequence[Mapping[str, object]] = (),
    *,
    entities: Sequence[Entity] = (),
) -> RecordQuery:
    """The question as a RecordQuery over `kind`; `records` (the customer's, as fetched) give the
    products, options and ids it can name; `entities` are those the understander found (an order id)."""
    tokens = words(text)
    items_spec = kind.items
    record_words = {*words(kind.label), *words(kind.plural_label)}

    # an id: recognised by the understander, or one of the customer's own ids written out
    record_id_value: str | None = next(
        (e.value for e in entities if e.type in {kind.id_argument, kind.id_field, f"{kind.label}_id"}), None)
    id_positions: set[int] = set()
    if record_id_value is None:
        record_id_value, id_positions = _written_id(tokens, [record_id(r, kind) for r in records])

    # what the customer's records contain
    all_items = [i for r in records for i in record_items(r, items_spec)]
    names = list(dict.fromkeys(i.name for i in all_items if i.name))
    option_values = list(dict.fromkeys(v for i in all_items for v in i.options.values()))
    option_keys = list(dict.fromkeys(k for i in all_items for k in i.options))

    # fields first, in the pack's words ("in total" is not the field "total")
    total = _has(SUM, tokens)
    plain = _drop(SUM, tokens)
    phrases = {name: [name, *spec.synonyms] for name, spec in kind.fields.items()}
    field_hits = _hits(phrases, plain)
    field_positions = {h.start + j for h in field_hits for j in range(h.length)}
    blocked = id_positions | {i for i, t in enumerate(tokens) if t in record_words}

    # computations, where a field's own phrase does not say them: "tracking number of" is no count,
    # "did I get back" (a field: refunded) no refund to come; a one-word field ("total") is too plain
    # to overrule a phrase ("total refund")
    def said(cues: Sequence[str]) -> bool:
        return any(not any(h.length > 1 and h.start < start + length and start < h.start + h.length
                           for h in field_hits)
                   for cue in cues for start, length in spans(words(cue), plain))

    # a refund to come ("how much will I get back?"), not one already made ("what did I get back?")
    future = bool({"will", "would", "going", "gonna", "if"} & set(tokens))
    past = bool(_PAST & set(tokens)) and not future
    refund = not past and (said(REFUND) or (future and said(("refund",))))
    count = said(COUNT)
    money = _has(MONEY, tokens)

    products, product_positions = _products(tokens, names, blocked | field_positions)
    options = _option_values(tokens, option_values, blocked | product_positions | field_positions)
    item_attributes = _option_keys([t if i not in field_positions else "_" for i, t in enumerate(plain)],
                                   option_keys)
    attributes = [h.key for h in sorted(field_hits, key=lambda h: h.start)]

    item_phrases = [items_spec.label, items_spec.plural_label, *items_spec.synonyms] if items_spec else []
    items = bool(items_spec) and (_asks_items(tokens) or _has(item_phrases, plain))
    everything = _has(ALL_ITEMS, tokens)
    mentions_record = any(t in record_words for t in tokens)

    # "how much was the tablet?" asks an item's price; "how much was the tablet order?" the order's
    amount_only = all(a in kind.amount_fields for a in attributes)
    if money and products and not mentions_record and amount_only and not refund:
        attributes = []
        item_attributes = [ITEM_PRICE, *item_attributes]
    elif money and not attributes and not refund and not items and kind.amount_fields:
        attributes = [kind.amount_fields[0]]  # "how much did I spend?": the record's main amount

    aggregate = Aggregate.NONE
    if refund:
        aggregate = Aggregate.REFUND_TOTAL
    elif count:
        aggregate = Aggregate.COUNT
    elif total and (money or any(a in kind.amount_fields for a in attributes)):
        aggregate = Aggregate.SUM

    reference = _reference(plain, kind)
    if record_id_value is not None:
        reference = Reference.ID
    # plural as written ("my orders"): `tokens` are singular already
    raw = re.findall(r"[a-z0-9]+", text.casefold())
    plural = kind.plural_label.casefold().split()[-1] in raw
    if reference is None:
        if aggregate in (Aggregate.COUNT, Aggregate.SUM) and not items and not item_attributes:
            # "how many orders", "how much have I spent in total": across the records
            reference = Reference.ALL
        elif aggregate in (Aggregate.COUNT, Aggregate.SUM) and not mentions_record:
            reference = Reference.ALL  # "how many t-shirts did I buy"
        elif plural and not products:
            reference = Reference.ALL
        elif products or options:
            reference = Reference.CONTAINING
        else:
            reference = Reference.FOCUS
    if (reference is Reference.ALL and aggregate is Aggregate.NONE and not attributes and not items
            and not item_attributes and (plural or _has(LIST, tokens))):
        aggregate = Aggregate.LIST

    asked_nothing = not (attributes or items or item_attributes) and aggregate is Aggregate.NONE
    unknown = _unknown(text, record_words) if asked_nothing else None

    return RecordQuery(
        kind=kind.name,
        unknown=unknown,
        attributes=tuple(attributes),
        items=items or bool(item_attributes),
        item_attributes=tuple(item_attributes),
        reference=reference,
        record_id=record_id_value if reference is Reference.ID else None,
        products=tuple(products),
        options=tuple(options),
        all_items=everything,
        aggregate=aggregate,
    )
