"""The embedded Understander: redaction, intents, entities and frustration for one message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from helpline.conversation.ports import Embedder, Understanding
from helpline.understanding.builtin_intents import BUILTIN_INTENTS
from helpline.understanding.embeddings import DIMENSION
from helpline.understanding.entities import EntityExtractor, ProductInfo
from helpline.understanding.intents import IntentClassifier, IntentClassifierConfig
from helpline.understanding.redaction import merge_kinds, redact, upstream_kinds
from helpline.understanding.sentiment import FrustrationScorer

# Past this, a message is a pasted log or an attack: the intent is in the opening lines anyway,
# and the models' cost grows with length.
MAX_ANALYSED_CHARS = 2000


class EmbeddedUnderstander:
    def __init__(
        self,
        classifier: IntentClassifier,
        extractor: EntityExtractor,
        scorer: FrustrationScorer | None = None,
        max_chars: int = MAX_ANALYSED_CHARS,
        embedder: Embedder | None = None,
    ) -> None:
        """``embedder``: the classifier's, so that each message is embedded once for the intents and
        the frustration model both."""
        self.classifier = classifier
        self.extractor = extractor
        self.embedder = embedder if embedder is not None and embedder.dimension == DIMENSION else None
        self.scorer = scorer or FrustrationScorer(max_chars, embedder=self.embedder)
        self._max_chars = max_chars

    @classmethod
    def build(
        cls,
        phrasings: Mapping[str, Sequence[str]],
        id_formats: Mapping[str, str] | None = None,
        products: Sequence[ProductInfo] = (),
        default_region: str = "US",
        embedder: Embedder | None = None,
        config: IntentClassifierConfig | None = None,
    ) -> EmbeddedUnderstander:
        """Train on the pack's procedure triggers (intent = procedure id) plus the built-in intents."""
        texts: list[str] = []
        labels: list[str] = []
        for intent, phrases in {**BUILTIN_INTENTS, **{k: list(v) for k, v in phrasings.items()}}.items():
            for phrase in phrases:
                if phrase.strip():
                    texts.append(phrase)
                    labels.append(intent)
        config = config or IntentClassifierConfig()
        if embedder is None and config.use_embeddings:
            from helpline.understanding.embeddings import MiniLMEmbedder

            embedder = MiniLMEmbedder()
        classifier = IntentClassifier(embedder, config).fit(texts, labels)
        extractor = EntityExtractor(id_formats or {}, products, default_region)
        extractor.warm_up()
        understander = cls(classifier, extractor, embedder=embedder)
        understander.understand("hello")  # load the lazy parts (VADER lexicon, BLAS) before a real turn
        return understander

    def understand(self, text: str, repeat_contact: bool = False) -> Understanding:
        clean, kinds = redact(text)
        # A channel that redacted first (with the conversation's previous messages) says what it removed.
        kinds = merge_kinds(upstream_kinds(), kinds)
        if not clean.strip():
            return Understanding(text=clean, intents=(), redacted=kinds)
        head = clean[: self._max_chars]
        # One MiniLM pass serves the intent classifier and the frustration model.
        embedding = self._embed(head)
        frustration, cues = self.scorer.score(head, repeat_contact, embedding=embedding)
        return Understanding(
            text=clean,
            intents=self.classifier.predict_many([head], None if embedding is None else embedding[None, :])[0],
            entities=self.extractor.extract(head),
            frustration=frustration,
            frustration_cues=cues,
            redacted=kinds,
            embedding=embedding,
        )

    def _embed(self, text: str) -> npt.NDArray[np.float32] | None:
        if self.embedder is None or not (self.classifier.config.use_embeddings or self.scorer.reads_tone):
            return None
        return np.asarray(self.embedder.encode([text])[0], dtype=np.float32)
