"""How callers name a business's products, derived from the catalogue's own names.

Customers rarely say a product's name the way the catalogue writes it. A recogniser writes "Espresso 1" for
"Espresso One"; a caller says "expresso one", "the pro" (when the shop sells an Espresso One and an Espresso
Pro), or just "the grinder" (the shop's only grinder). `ProductNames` finds these mentions in a text, so
that the knowledge search can read the catalogue's name where the caller said another, and can tell a
question *about* a product from a question about a policy that merely names one ("would you match the price
of the Espresso Pro?").

Every alias is derived from the names alone, never from a list of phrasings:
- the name itself, any case, words joined by spaces or dashes;
- a number in it said either way ("one" / "1", "three-pack" / "3-pack");
- a word of it misspelt by one letter, for words of six letters or more ("expresso", "kettel");
- "the <word>" for the word that tells a product apart from its siblings ("the pro" for Espresso Pro, when
  another product starts with "Espresso" too), unless that word is a number ("the one" is too common);
- a distinctive last word of six letters or more that no other product uses ("grinder" for Burr Grinder).
  It is a mention (the question is about that product) but the text keeps it as said;
- that word heard as two ("grind her"): joined, it is the word or one letter off it;
- in a family of two siblings where one's last word marks the higher model ("Pro", "Plus", "Max"...), a word of
  size, price or finish said of the family, of "one", "model" or "machine" ("the cheaper espresso one", "the little
  coffee machine", "the fancy espresso machine") names the sibling it describes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from rapidfuzz.distance import Levenshtein

from helpline.knowledge.quantities import DIGIT_WORDS

_TOKEN = re.compile(r"[A-Za-z0-9]+")
MISSPELT_MIN_LETTERS = 6  # shorter words misspelt by a letter are other words ("pro" / "pot")
HEAD_MIN_LETTERS = 6  # "grinder" names the grinder; "mug" or "kit" alone are too common to

# The last word a business gives the higher model of a pair ("Espresso Pro" beside "Espresso One"): naming
# conventions of every catalogue, not one pack's products.
HIGHER_MODEL_WORDS = frozenset(["pro", "plus", "max", "premium", "deluxe", "ultra", "elite", "xl"])
# How a caller tells the two apart without a name: the lower model is the small, cheap, plain one...
LOWER_WORDS = frozenset(["little", "small", "smaller", "smallest", "compact", "mini", "cheap", "cheaper", "cheapest",
                         "basic", "simple", "simpler", "standard", "regular", "normal", "entry", "budget",
                         "affordable"])
# ...the higher model the big, dear, fancy one
HIGHER_WORDS = frozenset(["big", "bigger", "biggest", "large", "larger", "fancy", "fancier", "posh", "premium",
                          "expensive", "pricier", "priciest", "dearer", "professional", "deluxe", "advanced", "top"])
# what such a word is said of, beside the family's own first word ("the cheaper one", "the little machine")
_MODEL_NOUNS = frozenset(["one", "model", "version", "machine"])
# ...of which these name the pair without its family word. Not "one": "the small one in blue" right after the
# travel mugs is a mug, whatever the catalogue's pair of machines
_BARE_MODEL_NOUNS = frozenset(["model", "machine"])
_DESCRIBED_AFTER = frozenset(["the", "that", "this", "your"])  # "the little one", "your cheaper model"


@dataclass(frozen=True)
class Mention:
    start: int  # character span in the text
    end: int
    said: str  # the words as written
    name: str  # the catalogue's name
    renamed: bool  # True when the text should read the catalogue's name in its place (not a bare last word)


def _number_key(token: str) -> str:
    """A token compared with numbers as digits: "one" and "1" are both "1"; "3-pack" parts stay apart."""
    lower = token.lower()
    return DIGIT_WORDS.get(lower, lower)


def _same_token(said: str, written: str) -> bool:
    said_key, written_key = _number_key(said), _number_key(written)
    if said_key == written_key:
        return True
    return (len(written_key) >= MISSPELT_MIN_LETTERS and not written_key.isdigit()
            and said_key[:1] == written_key[:1] and Levenshtein.distance(said_key, written_key) <= 1)


class ProductNames:
    """The catalogue's product names and the ways a caller says them."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(dict.fromkeys(" ".join(n.split()) for n in names if n and n.strip()))
        self._tokens = {name: [t.lower() for t in _TOKEN.findall(name)] for name in self.names}
        uses: dict[str, set[str]] = {}
        for name, tokens in self._tokens.items():
            for token in tokens:
                uses.setdefault(_number_key(token), set()).add(name)
        self._distinct: dict[str, str] = {}  # "pro" -> "Espresso Pro": the word telling siblings apart
        self._heads: dict[str, str] = {}  # "grinder" -> "Burr Grinder"
        for name, tokens in self._tokens.items():
            if len(tokens) < 2:
                continue
            last = tokens[-1]
            only_here = uses.get(_number_key(last)) == {name}
            siblings = [n for n, other in self._tokens.items() if n != name and other[:1] == tokens[:1]]
            if only_here and siblings and last not in DIGIT_WORDS and not last.isdigit() and len(last) >= 3:
                self._distinct[last] = name
            if only_here and len(last) >= HEAD_MIN_LETTERS and last.isalpha():
                self._heads[last] = name
        self._pairs = self._higher_and_lower()  # family word -> (lower model, higher model)

    def __bool__(self) -> bool:
        return bool(self.names)

    def mentions(self, text: str) -> list[Mention]:
        """Each product the text names, left to right, spans never overlapping (longest names first)."""
        tokens = list(_TOKEN.finditer(text))
        taken = [False] * len(tokens)
        found: list[Mention] = []
        for name in sorted(self.names, key=lambda n: -len(self._tokens[n])):
            written = self._tokens[name]
            size = len(written)
            for i in range(len(tokens) - size + 1):
                if any(taken[i:i + size]):
                    continue
                window = tokens[i:i + size]
                if not all(_same_token(t.group(0), w) for t, w in zip(window, written, strict=True)):
                    continue
                if not _joined_by_spaces_or_dashes(text, window):
                    continue
                start, end = window[0].start(), window[-1].end()
                taken[i:i + size] = [True] * size
                said = text[start:end]
                found.append(Mention(start, end, said, name, renamed=said.lower() != name.lower()))
        for i, token in enumerate(tokens):
            if taken[i]:
                continue
            word = token.group(0).lower()
            if word in self._distinct and _after_the(tokens, i) and not text[token.end():].startswith("-"):
                taken[i] = True
                found.append(Mention(token.start(), token.end(), token.group(0), self._distinct[word], renamed=True))
            elif (head := self._heads.get(word.removesuffix("s")) or self._heads.get(word)) is not None:
                taken[i] = True
                found.append(Mention(token.start(), token.end(), token.group(0), head, renamed=False))
        found += self._siblings_beside(text, tokens, taken, {m.name for m in found})
        found += self._heads_heard_apart(text, tokens, taken)
        found += self._described_models(text, tokens, taken)
        return sorted(found, key=lambda m: m.start)

    def _higher_and_lower(self) -> dict[str, tuple[str, str]]:
        """Families of exactly two products (same first word) where one's last word marks the higher model."""
        families: dict[str, list[str]] = {}
        for name, tokens in self._tokens.items():
            if len(tokens) >= 2:
                families.setdefault(tokens[0], []).append(name)
        pairs: dict[str, tuple[str, str]] = {}
        for family, names in families.items():
            higher = [n for n in names if self._tokens[n][-1] in HIGHER_MODEL_WORDS]
            if len(names) == 2 and len(higher) == 1:
                lower = next(n for n in names if n != higher[0])
                pairs[family] = (lower, higher[0])
        return pairs

    def _described_models(self, text: str, tokens: list[re.Match[str]], taken: list[bool]) -> list[Mention]:
        """"the cheaper one", "the little coffee machine", "the fancy espresso machine": a word of size, price or
        finish said (after "the") of a model noun or a family's first word, at most two words later, names the
        lower or higher model of the pair. A model noun alone says which family only when the catalogue has
        one such pair."""
        found: list[Mention] = []
        if not self._pairs:
            return found
        for i, token in enumerate(tokens):
            word = token.group(0).lower()
            if taken[i] or i == 0 or tokens[i - 1].group(0).lower() not in _DESCRIBED_AFTER:
                continue
            if word not in LOWER_WORDS and word not in HIGHER_WORDS:
                continue
            for j in range(i + 1, min(i + 4, len(tokens))):
                if taken[j]:
                    break
                head = tokens[j].group(0).lower()
                family = head if head in self._pairs else None
                if family is None and head in _BARE_MODEL_NOUNS and len(self._pairs) == 1:
                    family = next(iter(self._pairs))
                if family is None:
                    continue
                if head == family and j + 1 < len(tokens) and not taken[j + 1] \
                        and tokens[j + 1].group(0).lower() in _MODEL_NOUNS:
                    j += 1  # "the fancy espresso machine" is the Espresso Pro, not the Espresso Pro machine
                lower, higher = self._pairs[family]
                taken[i:j + 1] = [True] * (j + 1 - i)
                name = lower if word in LOWER_WORDS else higher
                found.append(Mention(token.start(), tokens[j].end(), text[token.start():tokens[j].end()], name,
                                     renamed=True))
                break
        return found

    def _heads_heard_apart(self, text: str, tokens: list[re.Match[str]], taken: list[bool]) -> list[Mention]:
        """A distinctive word a recogniser wrote as two ("grind her" for "grinder", "froth her" for "frother"):
        the two words joined are that word, or one letter off it. Read as the product's name."""
        found: list[Mention] = []
        for i in range(len(tokens) - 1):
            first, second = tokens[i], tokens[i + 1]
            if taken[i] or taken[i + 1] or not re.fullmatch(r" +", text[first.end():second.start()]):
                continue
            joined = (first.group(0) + second.group(0)).lower()
            if not joined.isalpha() or min(len(first.group(0)), len(second.group(0))) < 2:
                continue
            for head, name in self._heads.items():
                if first.group(0).lower() != head and Levenshtein.distance(joined, head) <= 1:
                    taken[i] = taken[i + 1] = True
                    found.append(Mention(first.start(), second.end(), text[first.start():second.end()], name,
                                         renamed=True))
                    break
        return found

    def _siblings_beside(self, text: str, tokens: list[re.Match[str]], taken: list[bool],
                         named: set[str]) -> list[Mention]:
        """Beside "the pro", "the one" is its sibling the Espresso One: a last word too common to name a product
        alone does when a product of the same family is named in the same text."""
        found: list[Mention] = []
        families = {self._tokens[n][0] for n in named if len(self._tokens[n]) >= 2}
        for i, token in enumerate(tokens):
            if taken[i] or not _after_the(tokens, i):
                continue
            for name, written in self._tokens.items():
                if (name not in named and len(written) >= 2 and written[0] in families
                        and _number_key(token.group(0)) == _number_key(written[-1])):
                    taken[i] = True
                    found.append(Mention(token.start(), token.end(), token.group(0), name, renamed=True))
                    break
        return found

    def canonical(self, text: str) -> str:
        """The text with each product said another way written as the catalogue names it ("how much is the
        espresso 1" -> "how much is the Espresso One"; "the pro" -> "the Espresso Pro")."""
        for mention in reversed(self.mentions(text)):
            if mention.renamed:
                text = text[:mention.start] + mention.name + text[mention.end:]
        return text

    def without(self, text: str) -> str:
        """The text with every product mention taken out: what it asks apart from which product."""
        for mention in reversed(self.mentions(text)):
            text = text[:mention.start] + " " + text[mention.end:]
        return " ".join(text.split())

    def named_in(self, text: str) -> set[str]:
        return {m.name for m in self.mentions(text)}


def _after_the(tokens: list[re.Match[str]], i: int) -> bool:
    return i > 0 and tokens[i - 1].group(0).lower() == "the"


def _joined_by_spaces_or_dashes(text: str, window: list[re.Match[str]]) -> bool:
    return all(re.fullmatch(r"[\s-]+", text[a.end():b.start()]) for a, b in pairwise(window))
