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
  It is a mention (the question is about that product) but the text keeps it as said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from rapidfuzz.distance import Levenshtein

NUMBER_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12"}
_TOKEN = re.compile(r"[A-Za-z0-9]+")
MISSPELT_MIN_LETTERS = 6  # shorter words misspelt by a letter are other words ("pro" / "pot")
HEAD_MIN_LETTERS = 6  # "grinder" names the grinder; "mug" or "kit" alone are too common to


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
    return NUMBER_WORDS.get(lower, lower)


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
            if only_here and siblings and last not in NUMBER_WORDS and not last.isdigit() and len(last) >= 3:
                self._distinct[last] = name
            if only_here and len(last) >= HEAD_MIN_LETTERS and last.isalpha():
                self._heads[last] = name

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
        return sorted(found, key=lambda m: m.start)

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
