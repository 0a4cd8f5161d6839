"""Hybrid knowledge search: BM25 over words plus sentence-embedding cosine, fused per passage.

BM25 catches exact vocabulary the embedding model blurs (error codes such as ``E202``,
product names, "BRIGHTBEAN*AUTH"); the embeddings catch paraphrases that share no words with
the article ("my card got charged twice" vs. "duplicate charge"). Each hit carries a calibrated
confidence so the engine can decide to answer (>= ANSWER_THRESHOLD) or to ask again / offer a
person instead of guessing. Calibration constants are fitted by ``python -m bench.kb_retrieval
--fit`` on half of ``bench/kb_questions.yaml`` and pasted here (no pickles).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import bm25s
import numpy as np
import numpy.typing as npt
from bm25s.stopwords import (
    STOPWORDS_DUTCH,
    STOPWORDS_EN_PLUS,
    STOPWORDS_FRENCH,
    STOPWORDS_GERMAN,
    STOPWORDS_ITALIAN,
    STOPWORDS_PORTUGUESE,
    STOPWORDS_SPANISH,
)

from helpline.conversation.ports import Embedder, KnowledgeHit
from helpline.knowledge.articles import Article, Passage, split_passages
from helpline.knowledge.contact_details import without_contact_details
from helpline.knowledge.markdown import strip_markdown
from helpline.knowledge.product_names import ProductNames
from helpline.knowledge.synonyms import begins_alike, stem_key, synonyms, with_phrase_words
from helpline.pack.languages import language_suffix

ANSWER_THRESHOLD = 0.5
RRF_K = 60  # the usual reciprocal-rank-fusion constant; flattens the influence of rank 1 vs 2
BLEND_ALPHA = 0.7  # weight of the cosine in the "blend" fusion (0.5-0.8 measured; see docs/benchmarks.md)
EMBED_CHARS = 500  # passage characters the embedder reads (MiniLM truncates at 128 tokens anyway)
NEAR_WEIGHT = 0.5  # BM25 weight of a query word's near-synonyms ("post" also looks for "ship"), the word's own is 1
POLICY_RANKS = 5  # an article read without the product's name must already rank this high with it

Mode = Literal["hybrid", "bm25", "embedding"]
Fusion = Literal["rrf", "blend"]

# Words that say nothing about which article answers a question. bm25s's list plus the
# filler of spoken/chat requests ("hi, could you please tell me...").
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {
    "hi", "hello", "hey", "please", "thanks", "thank", "could", "would", "can", "tell", "know",
    "want", "wanted", "like", "get", "got", "im", "ive", "id", "dont", "doesnt", "cant", "isnt",
    "also", "still", "really", "one", "anyone", "someone", "something", "way", "u",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")

# Other languages' articles (knowledge/<id>.<lang>.md) and questions: bm25s's list for the language, with
# the filler of chat requests, accents folded like the words they are matched to.
_OTHER_STOPWORDS: dict[str, tuple[str, ...]] = {
    "es": (*STOPWORDS_SPANISH, "hola", "gracias", "favor", "quiero", "quisiera", "necesito", "puedo", "podria",
           "puede", "pueden", "saber", "decir", "buenas", "buenos", "dias", "tardes", "noches", "ayuda", "algo",
           "tengo", "tiene", "hacer", "usted", "ustedes", "alguien", "tambien", "todavia", "aun"),
    "fr": STOPWORDS_FRENCH,
    "de": STOPWORDS_GERMAN,
    "pt": STOPWORDS_PORTUGUESE,
    "it": STOPWORDS_ITALIAN,
    "nl": STOPWORDS_DUTCH,
}


def fold(text: str) -> str:
    """Lower case without accents: "contraseña" meets "contrasena", "Número" meets "numero"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_FOLDED_STOPWORDS = {lang: frozenset(fold(w) for w in words) for lang, words in _OTHER_STOPWORDS.items()}


def stopwords_for(language: str) -> frozenset[str]:
    """The pack's own language ("") and English: STOPWORDS; another language: its own list, if we have one."""
    return _FOLDED_STOPWORDS.get(language.split("-")[0], STOPWORDS) if language else STOPWORDS


def tokenize(text: str, language: str = "") -> list[str]:
    """Lower-case word tokens without stopwords (of ``language``: the text's, "" = the pack's own).

    No stemmer (none ships offline with bm25s), only a plural fold so that "charges" meets
    "charge"; error codes and product words survive intact.
    """
    out: list[str] = []
    stopwords = stopwords_for(language)
    for word in _WORD.findall(fold(text).replace("'", "")):
        if word in stopwords:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        out.append(word)
    return out


@dataclass(frozen=True)
class Calibration:
    """A logistic map from a hit's raw features to a confidence in [0, 1]."""

    intercept: float
    weights: tuple[float, ...]

    def confidence(self, features: Sequence[float]) -> float:
        z = self.intercept + sum(w * f for w, f in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


# Features (hybrid): cosine of the hit, idf-weighted query-term coverage, cosine margin over the
# best other article, BM25 score relative to BM25's best hit.
# Features (BM25 only): coverage, coverage margin over the best other article, BM25 / (BM25 + 5).
# Fitted by bench/kb_retrieval.py --fit (see docs/benchmarks.md for the data and split).
HYBRID_CALIBRATION = Calibration(intercept=-7.577, weights=(4.462, 3.226, 9.522, 3.858))
BM25_CALIBRATION = Calibration(intercept=-4.852, weights=(1.843, 3.808, 8.148))


@dataclass(frozen=True)
class ScoredPassage:
    """The raw signals for one article's best passage for one query (used to fit calibration)."""

    passage: Passage
    fused: float
    bm25: float
    coverage: float  # idf-weighted share of the query's words found in the passage
    cosine: float  # 0.0 without an embedder
    margin: float  # cosine (or coverage, BM25 only) minus the best other article's
    bm25_share: float = 0.0  # BM25 score relative to the query's best visible passage (1.0 = BM25's pick)

    def features(self, with_embeddings: bool) -> tuple[float, ...]:
        if with_embeddings:
            return (self.cosine, self.coverage, self.margin, self.bm25_share)
        return (self.coverage, self.margin, self.bm25 / (self.bm25 + 5.0))


@dataclass(frozen=True)
class _Snapshot:
    """Everything a search reads; replaced whole on each edit so searches never see half an update."""

    passages: tuple[Passage, ...]
    token_sets: tuple[frozenset[str], ...]
    bm25: bm25s.BM25 | None
    idf: dict[str, float]
    max_idf: float
    vectors: npt.NDArray[np.float32] | None
    internal: npt.NDArray[np.bool_]
    languages: tuple[str, ...] = ()  # each passage's article language ("" = the pack's own)
    bases: tuple[str, ...] = ()  # each passage's article, variants named as the article they translate
    variants: dict[str, frozenset[str]] | None = None  # language -> the articles that have a variant in it
    forms: dict[str, frozenset[str]] | None = None  # stem key -> the indexed words of that stem

    def words_like(self, word: str) -> frozenset[str]:
        """The indexed words that are ``word`` in another form ("steeping" finds "steep"), or, for a word the
        index lacks, one cut short from it or that it cuts short ("decaffeinated" finds "decaf")."""
        found = (self.forms or {}).get(stem_key(word), frozenset())
        if word in self.idf or found:
            return found | ({word} if word in self.idf else frozenset())
        return frozenset(v for v in self.idf if begins_alike(word, v))

    def in_language(self, language: str) -> npt.NDArray[np.bool_]:
        """The passages a customer writing in ``language`` is answered from: each article's variant in that
        language when it has one, else the article in the pack's own language (never both)."""
        own = np.array([lang == language for lang in self.languages], dtype=bool)
        if not language:
            return own
        translated = (self.variants or {}).get(language, frozenset())
        fallback = np.array([lang == "" and base not in translated
                             for lang, base in zip(self.languages, self.bases, strict=True)], dtype=bool)
        return own | fallback


def passage_search_text(p: Passage) -> str:
    """What BM25 indexes: the whole passage, with its titles (they are the best keywords)."""
    head = f"{p.article_title}. {p.section}." if p.section else f"{p.article_title}."
    return f"{head} {strip_markdown(p.text)}"


def passage_embed_text(p: Passage, max_chars: int = EMBED_CHARS) -> str:
    """What the embedder reads: titles plus the start of the passage.

    The embedder's cost grows with every token while the heading and opening sentence carry
    most of a passage's meaning; BM25 still sees the full text.
    """
    body = strip_markdown(p.text)
    if len(body) > max_chars:
        body = body[:max_chars].rsplit(" ", 1)[0]
    head = f"{p.article_title}. {p.section}." if p.section else f"{p.article_title}."
    return f"{head} {body}"


class KnowledgeIndex:
    """Implements the KnowledgeSearch port; safe to search while an admin edits articles."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        fusion: Fusion = "blend",
        calibration: Calibration | None = None,
        embed_chars: int = EMBED_CHARS,
        products: Iterable[str] = (),
    ) -> None:
        """`products`: the catalogue's product names, so a question naming one the caller's way ("espresso 1",
        "the pro") reads as the articles write it, and a policy question naming one finds the policy."""
        self._products = ProductNames(products)
        self._embedder = embedder
        self._embed_chars = embed_chars
        self._fusion: Fusion = fusion
        self._calibration = calibration or (HYBRID_CALIBRATION if embedder is not None else BM25_CALIBRATION)
        self._articles: dict[str, Article] = {}
        # Passage vectors by text: an edit re-embeds only the passages whose text changed.
        self._vector_cache: dict[str, npt.NDArray[np.float32]] = {}
        self._write_lock = threading.Lock()
        self._snapshot = self._make_snapshot([])

    # --- editing -------------------------------------------------------------------------------

    def build(self, articles: Iterable[Article]) -> None:
        with self._write_lock:
            self._articles = {a.id: a for a in articles}
            self._reindex()

    def add_or_update(self, article: Article) -> None:
        with self._write_lock:
            self._articles[article.id] = article
            self._reindex()

    def remove(self, article_id: str) -> bool:
        with self._write_lock:
            if self._articles.pop(article_id, None) is None:
                return False
            self._reindex()
            return True

    @property
    def articles(self) -> dict[str, Article]:
        return dict(self._articles)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self._snapshot.passages

    @property
    def has_embeddings(self) -> bool:
        return self._embedder is not None

    @property
    def embedder(self) -> Embedder | None:
        """The sentence model it searches with (insight/ groups customer lines with the same one)."""
        return self._embedder

    # --- searching -----------------------------------------------------------------------------

    def search(self, query: str, k: int = 3, audience: str = "customer", *, language: str = "") -> list[KnowledgeHit]:
        """Best passage of each of the ``k`` best articles, with calibrated confidences; ``language`` (the
        conversation's, "" = the pack's own) answers from each article's variant in it when there is one."""
        english = language.split("-")[0] in ("", "en")
        query = without_contact_details(query)
        if self._products and english:
            query = self._products.canonical(query)
        ranked = self.rank(query, audience=audience, language=language)
        if self._products and english:
            ranked = self._about_a_policy(query, ranked, audience, language) or ranked
            ranked = self._policy_for_every_product(query, ranked)
        hits = [self._hit(r) for r in ranked[:k]]
        if hits and hits[0].score < ANSWER_THRESHOLD:
            # the fused ranking and the calibrated confidence can disagree ("how many grind sizes?" ranks cold
            # brew's steps first, yet the grinder's article is the one sure enough to answer); when the first is
            # unsure, the surest goes first, as the engine answers from or offers the first hit. A sure first hit
            # keeps its place: the policy re-orderings above put it there on purpose.
            hits.sort(key=lambda hit: -hit.score)
        return hits

    @property
    def products(self) -> ProductNames:
        """The catalogue's product names and the ways callers say them (see `__init__`)."""
        return self._products

    def _hit(self, r: ScoredPassage) -> KnowledgeHit:
        return KnowledgeHit(
            article_id=r.passage.article_id,
            title=r.passage.article_title,
            section=r.passage.section,
            text=r.passage.text,
            score=self._confidence(r),
            language=r.passage.language,
        )

    def _confidence(self, r: ScoredPassage) -> float:
        return round(self._calibration.confidence(r.features(self._embedder is not None)), 4)

    def _about_a_policy(self, query: str, ranked: list[ScoredPassage], audience: str,
                        language: str) -> list[ScoredPassage] | None:
        """A question naming a product may ask about a policy that applies to any product ("I saw the Espresso
        Pro cheaper elsewhere, would you match that price?"): the product's name pulls the search towards the
        product's own article and leaves the policy unsure. When nothing answers the question surely, it is read
        again without the name; the ranking that gives is taken when it answers surely, from an article that
        already ranked near the top with the name, and that is about no other product.

        The same holds when the named product's own article answers surely only because of the name ("my Cold
        Brew Maker came with a crack in the glass, what do I do"): the product's article is sure with the name,
        but read without it the question is surely answered by an article about no product (damage on arrival)
        and the product's article is no longer sure. What the question asks beyond the name decides."""
        if not ranked:
            return None
        named = self._products.named_in(query)
        rest = self._products.without(query)
        if not named or len(tokenize(rest)) < 2:
            return None
        own_article = bool(self._products.named_in(ranked[0].passage.article_title) & named)
        if self._confidence(ranked[0]) >= ANSWER_THRESHOLD and not own_article:
            return None
        again = self.rank(rest, audience=audience, language=language)
        if not again or self._confidence(again[0]) < ANSWER_THRESHOLD:
            return None
        best = again[0].passage
        if best.article_id not in {r.passage.article_id for r in ranked[:POLICY_RANKS]}:
            return None
        about = self._products.named_in(best.article_title)
        if self._confidence(ranked[0]) < ANSWER_THRESHOLD:
            return again if not about or about & named else None
        # sure with the name, from the product's own article: a policy answers only when the product's article,
        # read without the name, is unsure (its sureness was the name's)
        if about or best.article_id == ranked[0].passage.article_id:
            return None
        product_again = next((r for r in again if r.passage.article_id == ranked[0].passage.article_id), None)
        return again if product_again is None or self._confidence(product_again) < ANSWER_THRESHOLD else None

    def _policy_for_every_product(self, query: str, ranked: list[ScoredPassage]) -> list[ScoredPassage]:
        """A question naming none of the products a sure product article is about, also surely answered by an
        article about no product, asks about that policy: "is there a warranty on the machines?" is the warranty
        article, not the machines' own paragraph that points to it. Named ("the Espresso One's warranty"), the
        product's article keeps its place."""
        if len(ranked) < 2 or self._confidence(ranked[0]) < ANSWER_THRESHOLD:
            return ranked
        about = self._products.named_in(ranked[0].passage.article_title)
        if not about or about & self._products.named_in(query):
            return ranked
        for n, other in enumerate(ranked[1:POLICY_RANKS], start=1):
            if self._confidence(other) < ANSWER_THRESHOLD:
                break
            if not self._products.named_in(other.passage.article_title):
                return [other, *ranked[:n], *ranked[n + 1:]]
        return ranked

    def rank(
        self, query: str, audience: str = "customer", mode: Mode | None = None, fusion: Fusion | None = None,
        language: str = "",
    ) -> list[ScoredPassage]:
        """Every visible article's best passage, best first (``mode``/``fusion`` let the benchmark compare)."""
        snap = self._snapshot
        n = len(snap.passages)
        if n == 0:
            return []
        if mode is None:
            mode = "hybrid" if self._embedder is not None else "bm25"
        if mode != "bm25" and (self._embedder is None or snap.vectors is None):
            raise ValueError(f"mode {mode!r} needs an embedder")
        english = language.split("-")[0] in ("", "en")
        query = without_contact_details(query)
        tokens = tokenize(with_phrase_words(query) if english else query, language)
        groups = self._word_groups(snap, tokens, english)
        own = sorted({w for forms, _ in groups.values() for w in forms} | set(tokens))
        near = sorted({w for _, nears in groups.values() for w in nears} - set(own))
        bm25 = self._bm25(snap, own) + NEAR_WEIGHT * self._bm25(snap, near)
        coverage = self._coverage(snap, tokens, groups)
        cosine = np.zeros(n)
        if mode != "bm25" and self._embedder is not None and snap.vectors is not None:
            q = self._embedder.encode([query])[0]
            cosine = (snap.vectors @ q).astype(np.float64)

        visible = np.ones(n, dtype=bool) if audience == "internal" else ~snap.internal
        visible &= snap.in_language(language)
        # Normalise by what this audience may see, so hidden articles can't shift a customer's scores.
        top_bm25 = float(bm25[visible].max()) if visible.any() else 0.0
        if mode == "bm25":
            fused = bm25 + 1e-3 * coverage  # coverage only breaks ties (e.g. all-zero BM25)
        elif mode == "embedding":
            fused = cosine
        elif (fusion or self._fusion) == "blend":
            fused = BLEND_ALPHA * cosine + (1 - BLEND_ALPHA) * (bm25 / top_bm25 if top_bm25 > 0 else bm25)
        else:
            fused = _rrf(cosine) + np.where(bm25 > 0, _rrf(bm25), 0.0)

        best: dict[str, int] = {}
        for i in np.argsort(-fused, kind="stable"):
            if not visible[i]:
                continue
            best.setdefault(snap.passages[i].article_id, int(i))
        order = list(best.values())  # already best first
        signal = coverage if mode == "bm25" else cosine
        out: list[ScoredPassage] = []
        for i in order:
            # The margin compares with the strongest competitors only: a clear winner is confident.
            others = [signal[j] for j in order[:4] if j != i] or [0.0]
            out.append(
                ScoredPassage(
                    passage=snap.passages[i],
                    fused=float(fused[i]),
                    bm25=float(bm25[i]),
                    coverage=float(coverage[i]),
                    cosine=float(cosine[i]),
                    margin=float(signal[i] - max(others)),
                    bm25_share=float(bm25[i]) / top_bm25 if top_bm25 > 0 else 0.0,
                )
            )
        return out

    # --- internals -----------------------------------------------------------------------------

    def _reindex(self) -> None:
        passages = [p for a in sorted(self._articles.values(), key=lambda a: a.id) for p in split_passages(a)]
        self._snapshot = self._make_snapshot(passages)

    def _make_snapshot(self, passages: list[Passage]) -> _Snapshot:
        token_lists = [tokenize(passage_search_text(p), p.language) for p in passages]
        n = len(passages)
        bm25: bm25s.BM25 | None = None
        if n:
            bm25 = bm25s.BM25()
            bm25.index(token_lists, show_progress=False)
        df: dict[str, int] = {}
        for toks in token_lists:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        idf = {t: _idf(n, d) for t, d in df.items()}
        forms: dict[str, set[str]] = {}
        for word in idf:
            forms.setdefault(stem_key(word), set()).add(word)
        vectors = (
            self._embed([passage_embed_text(p, self._embed_chars) for p in passages])
            if self._embedder is not None
            else None
        )
        return _Snapshot(
            passages=tuple(passages),
            token_sets=tuple(frozenset(t) for t in token_lists),
            bm25=bm25,
            idf=idf,
            max_idf=_idf(n, 0),
            vectors=vectors,
            internal=np.array([p.audience == "internal" for p in passages], dtype=bool),
            languages=tuple(p.language for p in passages),
            bases=tuple(language_suffix(p.article_id)[0] for p in passages),
            variants=_variants(passages),
            forms={key: frozenset(words) for key, words in forms.items()},
        )

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        assert self._embedder is not None
        missing = sorted({t for t in texts if t not in self._vector_cache})
        if missing:
            for text, vec in zip(missing, self._embedder.encode(missing), strict=True):
                self._vector_cache[text] = np.asarray(vec, dtype=np.float32)
        self._vector_cache = {t: self._vector_cache[t] for t in texts}
        if not texts:
            return np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return np.stack([self._vector_cache[t] for t in texts])

    @staticmethod
    def _bm25(snap: _Snapshot, tokens: list[str]) -> npt.NDArray[np.float64]:
        if snap.bm25 is None or not tokens:
            return np.zeros(len(snap.passages))
        return np.asarray(snap.bm25.get_scores(tokens), dtype=np.float64)

    @staticmethod
    def _word_groups(snap: _Snapshot, tokens: list[str],
                     english: bool) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """Per query word: the indexed words that are it (other forms of it), and its near-synonyms the index
        has. English only: the synonyms are English words."""
        if not english:
            return {t: (frozenset({t}), frozenset()) for t in tokens}
        groups: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for token in tokens:
            forms = snap.words_like(token)
            nears = frozenset(w for s in synonyms(token) for w in snap.words_like(s)) - forms
            groups[token] = (forms, nears)
        return groups

    @staticmethod
    def _coverage(snap: _Snapshot, tokens: list[str],
                  groups: dict[str, tuple[frozenset[str], frozenset[str]]] | None = None) -> npt.NDArray[np.float64]:
        """The idf-weighted share of the query's words a passage has: the word itself, another form of it, or
        one of its near-synonyms."""
        n = len(snap.passages)
        unique = set(tokens)
        if not unique:
            return np.zeros(n)
        groups = groups or {}
        found = {t: {t} | set(groups[t][0] | groups[t][1]) if t in groups else {t} for t in unique}
        # Words the knowledge base has never seen weigh the most: they are what makes "capital of France"
        # clearly not a question about coffee machines. A word known in another form weighs as that form.
        weights = {t: snap.idf.get(t, min((snap.idf[f] for f in found[t] if f in snap.idf), default=snap.max_idf))
                   for t in unique}
        total = sum(weights.values())
        return np.array([sum(w for t, w in weights.items() if not found[t].isdisjoint(s)) / total
                         for s in snap.token_sets])


def _variants(passages: Iterable[Passage]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for p in passages:
        if p.language:
            found.setdefault(p.language, set()).add(language_suffix(p.article_id)[0])
    return {lang: frozenset(ids) for lang, ids in found.items()}


def _idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _rrf(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return 1.0 / (RRF_K + ranks)
