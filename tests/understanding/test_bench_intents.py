from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from bench.intents import END, START, shared_dir, write_doc
from helpline.understanding.embeddings import MiniLMEmbedder
from helpline.understanding.intents import IntentClassifier


def test_write_doc_only_touches_the_intents_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    write_doc(f"{START}\nfirst\n{END}", doc)
    assert doc.read_text().startswith("# Benchmarks\n")
    doc.write_text(doc.read_text() + "\n<!-- kb:start -->\nother team\n<!-- kb:end -->\n")
    write_doc(f"{START}\nsecond\n{END}", doc)
    text = doc.read_text()
    assert "second" in text and "first" not in text
    assert "other team" in text
    assert text.count(START) == 1


@pytest.mark.shared
def test_banking77_subset_is_learnt(embedder: MiniLMEmbedder) -> None:
    root = shared_dir() / "datasets" / "banking77"
    if not root.exists():
        pytest.skip("../shared datasets not available")

    def rows(name: str, per_class: int) -> tuple[list[str], list[str]]:
        by_class: dict[str, list[str]] = defaultdict(list)
        with (root / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                by_class[r["category"]].append(r["text"])
        classes = sorted(by_class)[:10]
        texts = [t for c in classes for t in by_class[c][:per_class]]
        labels = [c for c in classes for _ in by_class[c][:per_class]]
        return texts, labels

    train_x, train_y = rows("train", 25)
    test_x, test_y = rows("test", 20)
    clf = IntentClassifier(embedder).fit(train_x, train_y)
    pred = [p[0].name for p in clf.predict_many(test_x)]
    assert float(np.mean(np.asarray(pred) == np.asarray(test_y))) > 0.85
