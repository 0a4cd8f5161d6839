"""Grouping by meaning with the runtime's MiniLM: paraphrases of one problem together, different problems apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from helpline.insight.clusters import VectorMemo, group_texts
from helpline.understanding.embedding_cache import CachedEmbedder
from tests.conftest import DemoModels

# Three problems, each said three ways by customers who share few words with each other.
BEANS_STALE = ["the beans in my last bag taste stale and flat", "coffee tastes old, like it sat on a shelf for months",
               "latest roast has no flavour at all, seems past its best"]
LID_BROKEN = ["the lid of my travel mug snapped off", "mug top cracked the first time I used it",
              "my tumbler's cap broke, now it spills everywhere"]
INVOICE = ["I need a VAT invoice for my company", "can you send a receipt with our business details for accounting",
           "where do I download a proper tax invoice"]


def test_paraphrases_share_a_group_and_problems_do_not(demo_models: DemoModels) -> None:
    assert demo_models.models.embedder is not None
    texts = BEANS_STALE + LID_BROKEN + INVOICE
    grouping = group_texts(demo_models.models.embedder, texts)
    labels = list(grouping.labels)
    groups = [set(labels[0:3]), set(labels[3:6]), set(labels[6:9])]
    assert all(len(g) == 1 for g in groups), labels  # each problem is one group
    assert len(set.union(*groups)) == 3, labels  # and no two problems share one


def test_groups_are_numbered_by_weight_and_typical_line_is_a_member(demo_models: DemoModels) -> None:
    assert demo_models.models.embedder is not None
    texts = LID_BROKEN[:2] + BEANS_STALE[:2]
    grouping = group_texts(demo_models.models.embedder, texts, weights=[1, 1, 5, 5])
    assert grouping.labels[2] == 0  # the stale beans were seen ten times: the first group
    typical = grouping.typical(0, [1, 1, 5, 5])
    assert texts[typical] in BEANS_STALE


def test_no_lines_and_one_line(demo_models: DemoModels) -> None:
    assert demo_models.models.embedder is not None
    assert group_texts(demo_models.models.embedder, []).groups == 0
    assert group_texts(demo_models.models.embedder, ["my mug leaks"]).labels == (0,)


class CountingEmbedder:
    dimension = 3

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        return np.tile(np.array([1.0, 0.0, 0.0], dtype=np.float32), (len(texts), 1))


def test_customer_lines_are_never_written_to_the_disk_cache(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cache = tmp_path / "embeddings.npz"
    group_texts(CachedEmbedder(inner, cache), ["my mug leaks", "the mug is leaking"])
    assert inner.calls == [["my mug leaks", "the mug is leaking"]]
    assert not cache.exists()


def test_the_memo_embeds_only_new_lines() -> None:
    inner = CountingEmbedder()
    memo = VectorMemo(inner)
    memo.encode(["a", "b"])
    assert memo.encode(["b", "c"]).shape == (2, 3)
    assert inner.calls == [["a", "b"], ["c"]]
