"""Turn the best knowledge hit into a short customer-facing answer, quoted from the article.

Nothing is generated: the answer is the passage's own sentences, cleaned of Markdown and cut
at a sentence boundary, so the agent can never state a policy the business did not write.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bm25s.stopwords import STOPWORDS_EN_PLUS
from rapidfuzz import fuzz

from helpline.conversation.ports import KnowledgeHit
from helpline.knowledge.articles import Article, split_passages
from helpline.knowledge.contact_details import without_contact_details
from helpline.knowledge.markdown import strip_markdown
from helpline.knowledge.product_names import ProductNames
from helpline.knowledge.quantities import is_number_word, written_units
from helpline.knowledge.synonyms import begins_alike, phrase_words, same_word, synonyms, with_phrase_words
from helpline.knowledge.synonyms import stem_key as _stem_key

MAX_SENTENCES = 3
MAX_CHARS = 450
# A retrieval this sure (calibrated) has found the topic: the coverage check then refuses only when half the
# question's words or more are nowhere in the passages, not a third (a caller's asides: "for my birthday", "online")
VERY_SURE = 0.8
# A hit below the best one that the search gives at least this chance is a near neighbour of the topic: its words
# count as the topic's in the coverage check
RELATED_HIT = 0.1

# A sentence ends at . ! ? followed by a space and a capital/digit/quote; "e.g. this" and
# "$4.99" do not end one.
_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(¿¡ÁÉÍÓÚÑÜÀÈÌÒÙÇÂÊÎÔÛÄËÏÖ])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "approx.", "Mr.", "Ms.", "Dr.", "St.", "vs.", "No.")


@dataclass(frozen=True)
class KBAnswer:
    text: str
    article_id: str
    article_title: str
    section: str
    confidence: float


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in text.split("\n\n"):
        buf = ""
        for part in _SENTENCE.split(paragraph.strip()):
            buf = f"{buf} {part}" if buf else part
            if not buf.endswith(_ABBREVIATIONS):
                sentences.append(buf.strip())
                buf = ""
        if buf:
            sentences.append(buf.strip())
    return [s for s in sentences if s]


def trim_answer(text: str, max_sentences: int = MAX_SENTENCES, max_chars: int = MAX_CHARS) -> str:
    sentences = split_sentences(strip_markdown(text))
    out: list[str] = []
    for s in sentences:
        candidate = " ".join([*out, s])
        if len(out) >= max_sentences or (out and len(candidate) > max_chars):
            break
        out.append(s)
    answer = " ".join(out)
    if len(answer) > max_chars:
        # One very long sentence: cut at a word and say so rather than return a wall of text.
        answer = answer[:max_chars].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return answer


def best_answer(hits: Sequence[KnowledgeHit], min_confidence: float = 0.0,
                articles: Mapping[str, Article] | None = None, question: str = "") -> KBAnswer | None:
    """The top-ranked hit as a quoted answer, or None when there is no hit (or it is below ``min_confidence``).

    A question for an amount ("how long does descaling take?") is answered from the article's sentence that
    states one and shares most of the question's words, when the passage's opening states none or another
    section's sentence fits the question better ("how long do I let the descaler stand?" is the time in the
    descaling steps, not how often to descale).

    When the hit is an article's short lead ("it is most likely jammed; this is usually easy to fix"),
    the article's first section follows it, so a troubleshooting answer gives the first step too."""
    if not hits:
        return None
    top = hits[0]
    if top.score < min_confidence:
        return None
    text = trim_answer(top.text)
    if not text:
        return None
    article = (articles or {}).get(top.article_id)
    section = top.section
    stated = _quantity_sentences(question, article, top.section, text) if article is not None and question else None
    if stated is not None:
        section, text = stated
    elif question and (later := _later_sentences(question, top.text, text)) is not None:
        text = later
    elif article is not None and not top.section and len(text) < LEAD_ALONE_CHARS:
        first = next((p for p in split_passages(article) if p.section), None)
        if first is not None:
            text = f"{text}\n\n{first.section}: {trim_answer(first.text)}"
    if not _YES_NO_QUESTION.match(question):
        text = _without_yes_no(text)
    return KBAnswer(
        text=text,
        article_id=top.article_id,
        article_title=top.title,
        section=section,
        confidence=top.score,
    )


# A question answered by yes or no starts with its verb ("is it", "do you", "can I"); any other ("what is your
# return window?") is not, and a quoted sentence's "No, ..." would read as a refusal of it.
_YES_NO_QUESTION = re.compile(r"^\W*(?:is|are|am|was|were|do|does|did|can|could|will|would|should|shall|has|have"
                              r"|had|may|might|must)\b", re.I)
_YES_NO_START = re.compile(r"^(?:yes|no|yep|nope|not (?:at the moment|yet|currently|really|usually|always))"
                           r"\s*[,.;:!–-]\s*(?=\w)", re.I)


def _without_yes_no(text: str) -> str:
    """The answer without an opening "Yes,"/"No," that replied to the article's own question."""
    rest = _YES_NO_START.sub("", text, count=1)
    return rest[:1].upper() + rest[1:] if rest != text else text


LEAD_ALONE_CHARS = 300  # a lead shorter than this says what is wrong, not yet what to do

_UNITS = r"(?:seconds?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)"
_NUMBER = r"(?:\d+(?:[.,]\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|few|couple|several)"
# what kind of amount a question asks for, and how an article states one: "how long does it take" is a
# length of time ("about 20 minutes"), "how often" a frequency ("every 2-3 months"); neither is the other
_ASKS_FREQUENCY = re.compile(r"\bhow often\b|\bhow many times\b", re.I)
_ASKS_DURATION = re.compile(rf"\bhow (?:long|soon|quick(?:ly)?|fast|many {_UNITS}|much time)\b", re.I)
# "a 2-year warranty" and "the 30-day window" state a length of time as much as "2 years" does
_DURATION = re.compile(rf"\b{_NUMBER}(?:\s*(?:[–-]|to|or)\s*\d+)?(?:\s+of)?(?:\s+|-)(?:business |working )?{_UNITS}\b",
                       re.I)
_FREQUENCY = re.compile(rf"\bevery\s+(?:other\s+|{_NUMBER}(?:\s*[–-]\s*\d+)?\s+)?{_UNITS}"
                        rf"|\b(?:once|twice|\d+ times) (?:a|per) {_UNITS}|\bper {_UNITS}"
                        r"|\b(?:daily|weekly|monthly|yearly)\b", re.I)
_ASKS_PRICE = re.compile(r"\bhow much (?:is|are|does|do|will|would|did)\b|\b(?:cost|costs|price|priced|fee)\b", re.I)
_STATES_PRICE = re.compile(r"[$€£]\s?\d|\bfree\b", re.I)


def _states_duration(sentence: str) -> bool:
    """A length of time that is not a frequency: "in about 20 minutes", not "every 2-3 months"."""
    return any(not sentence[max(0, m.start() - 6):m.start()].lower().endswith("every ")
               for m in _DURATION.finditer(sentence))


def _asked_amount(question: str) -> Callable[[str], bool] | None:
    if _ASKS_FREQUENCY.search(question):
        return lambda sentence: bool(_FREQUENCY.search(sentence))
    if _ASKS_DURATION.search(question):
        return _states_duration
    if _ASKS_PRICE.search(question):
        return lambda sentence: bool(_STATES_PRICE.search(sentence))
    return None


def _amount_kinds(text: str) -> set[str]:
    """Every kind of amount a text asks for: a heading may ask two ("how much ... and how long does it take?")."""
    asks = (("frequency", _ASKS_FREQUENCY), ("duration", _ASKS_DURATION), ("price", _ASKS_PRICE))
    return {kind for kind, pattern in asks if pattern.search(text)}


def _quantity_sentences(question: str, article: Article, section: str, opening: str) -> tuple[str, str] | None:
    """(section, answer) from the article's sentence stating the amount the question asks for, or None when
    the question asks for none, no sentence states one, or the retrieved passage's opening already answers
    at least as well."""
    states = _asked_amount(question)
    if states is None:
        return None
    asked = _topic_words(with_phrase_words(question))  # "send it back" asks about returning
    kinds = _amount_kinds(question)
    best: tuple[int, str, str] | None = None  # (shared words, section, answer starting at the sentence)
    opening_score = -1
    for passage in split_passages(article):
        sentences = split_sentences(strip_markdown(passage.text))
        # the section's heading, not the article's title: every passage has that, only some sentences its words
        heading = _topic_words(passage.section)
        # a section headed by the same kind of question ("...how long does it take?") is where that amount is
        heading_asks = 1 if kinds & _amount_kinds(passage.section) else 0
        for n, sentence in enumerate(sentences):
            if not states(sentence):
                continue
            shared = len({w for w in asked if any(_same_word(w, v) for v in heading | _topic_words(sentence))})
            shared += heading_asks
            if passage.section == section and sentence in opening:
                opening_score = max(opening_score, shared)
            if best is None or shared > best[0]:
                best = (shared, passage.section, trim_answer(" ".join(sentences[n:])))
    if best is None or best[0] <= opening_score:
        return None
    return best[1], best[2]


def _later_sentences(question: str, passage: str, opening: str) -> str | None:
    """The passage from the sentence sharing most of the question's words, when that sentence comes after the
    quoted opening and shares more of them than any sentence in it ("do you keep my records after I delete
    my account?" is answered by the fourth sentence of the section on deleting an account); else None."""
    asked = _topic_words(with_phrase_words(question))
    if not asked:
        return None
    sentences = split_sentences(strip_markdown(passage))
    shared = [len({w for w in asked if any(_same_word(w, v) for v in _topic_words(s))}) for s in sentences]
    quoted = [n for n, s in enumerate(sentences) if s in opening]
    if not quoted or not shared:
        return None
    in_opening = max(shared[n] for n in quoted)
    best = max(range(len(sentences)), key=lambda n: (shared[n], -n))
    if best <= max(quoted) or shared[best] <= in_opening:
        return None
    return trim_answer(" ".join(sentences[best:]))


def _topic_words(text: str) -> set[str]:
    return {w.strip("'-") for w in _TOKEN.findall(_fold(text))} - _FILLER

# Words that carry no topic: a question may use any of them without the passage doing so.
_FILLER = frozenset([
    "about", "after", "again", "also", "always", "another", "anything", "anyway", "back", "because", "been",
    "before", "being", "best", "better", "both", "bought", "came", "cannot", "come", "could", "didn", "does",
    "doesn", "doing", "done", "down", "each", "else", "even", "ever", "every", "from", "gets", "getting",
    "give", "going", "good", "have", "having", "hello", "here", "into", "just", "keep", "know", "like",
    "little", "long", "look", "looking", "made", "make", "many", "maybe", "more", "most", "much", "must",
    "need", "needs", "never", "next", "okay", "once", "only", "other", "over", "please", "pretty", "quite",
    "really", "right", "said", "same", "should", "since", "some", "something", "still", "stuff", "such", "sure",
    "take", "tell", "than", "thank", "thanks", "that", "their", "them", "then", "there", "these", "they",
    "thing", "things", "think", "this", "those", "though", "through", "time", "today", "told", "under", "until",
    "very", "want", "wanted", "wants", "week", "well", "were", "what", "when", "where", "which", "while",
    "will", "with", "without", "work", "would", "your", "yours", "yeah", "also", "able", "ones",
    "nothing", "come", "comes", "goes", "gets", "says",
    # a caller's conversation, not the topic: hedges, time words of the asking, requests for help as such
    "lately", "recently", "currently", "nowadays", "moment", "tips", "tip", "advice", "idea", "ideas",
    "info", "information", "details", "altogether", "onto", "basically", "actually", "literally", "definitely",
    "probably", "possibly", "perhaps", "wondering", "wonder", "guess", "alright", "kind", "sort", "anyway",
    "somehow", "someone", "somebody", "anyone", "anybody", "whatever", "everything", "cheers", "hiya", "happen",
    "happens", "supposed", "meant", "able", "around", "roughly", "approximately", "exactly", "usually", "normally",
    "generally", "typically", "ever", "mind", "bother", "bothering", "question", "quick", "thought", "thinking",
    # the shape of a comparison ("what's different between A and B, is B worth the extra?"): A and B are the topic
    "between", "different", "difference", "differences", "versus", "compared", "worth", "extra",
    # spoken forms of filler words ("wanna" is "want to"), and "anymore" beside "lately"
    "wanna", "gonna", "gotta", "kinda", "sorta", "dunno", "lemme", "gimme", "anymore",
])
# ...and the same in Spanish, accents folded (a Spanish question against a Spanish article)
_FILLER_ES = frozenset([
    "ahora", "algo", "alguien", "alguna", "alguno", "antes", "aqui", "ayuda", "ayudar", "ayudarme", "bien", "buenas",
    "buenos", "cada", "como", "cosa", "cosas", "cual", "cuales", "cuando", "cuanto", "debo", "decir", "desde",
    "despues", "donde", "entonces", "esta", "estas", "este", "esto", "estos", "estoy", "favor", "gracias", "hace",
    "hacer", "hasta", "hola", "mucho", "muchas", "mismo", "nada", "necesito", "otra", "otro", "para", "pero",
    "podria", "podrian", "poder", "porque", "puede", "pueden", "puedo", "pues", "quiero", "quisiera", "saber",
    "sabe", "seria", "sobre", "tambien", "tardes", "tengo", "tiene", "tienen", "todavia", "todo", "todos",
    "usted", "ustedes", "vale", "gustaria", "hacen", "hago", "noches", "dias", "ellos", "ella", "tiempo",
])
_TOKEN = re.compile(r"[a-z][a-z'-]{3,}")
# Which of the business's products, said by how it compares ("the cheaper one", "the little machine", "the more
# expensive model"): the product asked about, no topic of the question (a named product counts the same way)
_WHICH_ONE = re.compile(
    r"\bthe (?:more |less )?(?:cheap|cheaper|cheapest|expensive|pricier|priciest|pricey|little|small|smaller"
    r"|smallest|big|bigger|biggest|large|larger|largest|fancy|fancier|fanciest|posh|basic|compact|budget)"
    r"(?= (?:one|ones|model|models|machine|machines|version|kind|type|size)\b)", re.I)
_FILLER_KEYS = frozenset(_stem_key(w) for w in _FILLER)
_ENGLISH_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)

def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def covers_question(query: str, hits: Sequence[KnowledgeHit], articles: Mapping[str, Article] | None = None,
                    products: ProductNames | None = None) -> bool:
    """Does the best passage speak about what was asked? False when a third or more of the question's
    topic words (at least two) appear nowhere in the retrieved passages: the index returned its
    nearest paragraph, not an answer ("do you sell Nespresso capsules?"). A phrase counts as the word it
    stands for ("hook it up" asks about connecting).

    Another article's passage counts only when its hit is at least `RELATED_HIT` sure. With ``articles``, the
    whole of the best hit's article counts too (its tags and other sections): a
    question about the Travel Mug names "coffee" though the mug's paragraph says "drinks".

    With ``products`` (the catalogue's names), a product said the caller's way counts as its name ("espresso
    1"), and a product named in a question answered by an article about no product is not asked about: "would
    you match the Espresso Pro's price?" asks about price matching, whatever the product.

    A best hit at `VERY_SURE` or above is refused only when half the topic words or more are missing: the
    retrieval found the topic, and the words it lacks are the caller's circumstances ("a gift card for my
    birthday, how do I use it online")."""
    if not hits:
        return False
    words, missing = uncovered_words(query, hits, articles, products)
    if len(words) < 2 or len(missing) < 2:
        return True
    # how the thing behaves, in the caller's words ("it just spits and gurgles", "the update got stuck"), is
    # what the sure passage's remedy is for, not another topic: the rest of the question must be covered
    described = behaviour_words(query)
    if len(words) - len(missing) >= 2 and len([w for w in missing if w not in described]) < 2:
        return True
    if hits[0].score >= VERY_SURE:
        return len(missing) * 2 < len(words)
    return len(missing) * 3 < len(words)


def uncovered_words(query: str, hits: Sequence[KnowledgeHit], articles: Mapping[str, Article] | None = None,
                    products: ProductNames | None = None) -> tuple[set[str], list[str]]:
    """The question's topic words, and those of them the passages (see `covers_question`) never speak of."""
    query = without_contact_details(query)
    if products and hits:
        query = products.canonical(query)
        if not products.named_in(hits[0].title):
            query = products.without(query)
    query = with_phrase_words(_WHICH_ONE.sub("the", query))
    words = {w for w in map(_said_word, _TOKEN.findall(_fold(query))) if w} - _FILLER - _FILLER_ES
    words = {w for w in words if _stem_key(w) not in _FILLER_KEYS}  # filler in another form: "makes", "coming"
    # English function words ("myself", "against") and numbers said in words: a number in digits is no topic
    # word either ("the five hundred gram bag" asks what "the 500g bag" does)
    words = {w for w in words if w not in _ENGLISH_STOPWORDS and not is_number_word(w)}
    if len(words) < 2 or not hits:
        return words, []
    # another hit's words count only when the search itself finds that hit plausible: a near neighbour speaking of
    # the symptom ("stuck" in "E203: update failed" under a firmware question) says the topic is the one asked
    # about; a remote one ("price match" under a question about a toaster "to match" the kettle) says nothing
    texts = [f"{h.title} {h.section} {h.text}" for h in hits[:3]
             if h.article_id == hits[0].article_id or h.score >= RELATED_HIT]
    article = (articles or {}).get(hits[0].article_id)
    if article is not None:
        texts.append(" ".join([*article.tags, article.body]))
    passages = _fold(" ".join(texts))
    vocabulary = {w.strip("'-") for w in _TOKEN.findall(passages)}
    vocabulary |= written_units(passages)  # "1kg" speaks of a kilo
    vocabulary |= {w.replace("-", "") for w in re.findall(r"\b[a-z]+(?:-[a-z]+)+\b", passages)}  # "wi-fi": "wifi"
    # short words too ("hot"): the topic-word pattern skips them, a synonym of theirs may be asked about
    vocabulary |= {s for w in re.findall(r"[a-z]+", passages) for s in synonyms(w)}
    vocabulary |= set(phrase_words(" ".join(texts)))
    return words, sorted(w for w in words if not any(_same_word(w, v) for v in vocabulary))


# A word that says what a thing does follows a word of how it keeps doing it ("it just spits", "keeps beeping", "got
# stuck", "it's gone cloudy"); another such word joins it with "and" ("spits and gurgles"). Not after a bare "it":
# "use it online", "send it to Canada" say what the caller does with it
_BEHAVES_AFTER = frozenset(["it's", "just", "keeps", "kept", "keep", "got", "gets", "getting", "gone",
                            "goes", "went", "still", "started", "starts"])


def behaviour_words(question: str) -> set[str]:
    """The words of a question that describe how something behaves ("it just spits and gurgles" -> spits,
    gurgles), its symptom rather than its topic."""
    tokens = re.findall(r"[a-z']+", _fold(question).replace("\u2019", "'"))
    found: set[str] = set()
    for n, token in enumerate(tokens[1:], start=1):
        before = tokens[n - 1]
        after_a_behaviour = before == "and" and n >= 2 and tokens[n - 2] in found
        if (before in _BEHAVES_AFTER and token not in _BEHAVES_AFTER) or after_a_behaviour:
            found.add(token)
    return found


def _said_word(token: str) -> str:
    """A word of the question as the coverage check reads it: a noun's possessive or "is" is the noun ("the mug's
    got a crack", "the wand's not steaming" speak of the mug and the wand); a contraction is no topic word
    ("don't", "I've", "won't")."""
    word = token.strip("'-").removesuffix("'s")
    return "" if "'" in word else word


def _same_word(word: str, other: str) -> bool:
    """Same word up to an ending ("steeping" / "steep", "capsule" / "capsules", "humming" / "hums"), one cut
    short from the other ("decaf" / "decaffeinated") or a small typo."""
    if same_word(word, other) or begins_alike(word, other):
        return True
    if len(word) >= 5 and len(other) >= 5 and word[:5] == other[:5]:
        return True
    # a typo keeps the first letter: "nespresso" is not "espresso"
    return len(word) >= 6 and word[0] == other[0] and fuzz.ratio(word, other) >= 88
