"""Clustering customer phrasings: agglomerative (average linkage) vs DBSCAN over MiniLM cosine distances.

Thresholds are swept on the DEV problems and the best of each method is reported on the HELD_OUT problems (and on
all problems together, the harder case: more neighbours to confuse). Metrics: adjusted Rand index (1 = the true
grouping, 0 = chance) and the number of groups found against the true number.

    .venv/bin/python -m bench.insight_clusters
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import adjusted_rand_score, v_measure_score

from bench.insight.phrasings import DEV, HELD_OUT
from helpline.insight.clusters import Method, VectorMemo, group_texts
from helpline.understanding.embeddings import MiniLMEmbedder


def flatten(problems: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    texts, truth = [], []
    for name, lines in problems.items():
        texts += lines
        truth += [name] * len(lines)
    return texts, truth


def score(embedder: VectorMemo, problems: dict[str, list[str]], method: Method,
          threshold: float) -> tuple[float, float, int]:
    texts, truth = flatten(problems)
    grouping = group_texts(embedder, texts, method=method, threshold=threshold)
    return (adjusted_rand_score(truth, grouping.labels), v_measure_score(truth, grouping.labels), grouping.groups)


def main() -> None:
    embedder = VectorMemo(MiniLMEmbedder())  # each line embedded once across the sweeps
    grids: dict[Method, list[float]] = {"agglomerative": [round(x, 2) for x in np.arange(0.3, 0.91, 0.05)],
                                        "dbscan": [round(x, 2) for x in np.arange(0.2, 0.61, 0.05)]}
    for method, grid in grids.items():
        print(f"\n{method}: dev sweep (threshold: ARI, V, groups / {len(DEV)} true)")
        best = max(grid, key=lambda t: score(embedder, DEV, method, t)[0])
        for t in grid:
            ari, v, groups = score(embedder, DEV, method, t)
            print(f"  {t:.2f}: {ari:.3f} {v:.3f} {groups}{'  <- best' if t == best else ''}")
        started = time.perf_counter()
        ari, v, groups = score(embedder, HELD_OUT, method, best)
        print(f"  held-out at {best:.2f}: ARI {ari:.3f}, V {v:.3f}, {groups} groups / {len(HELD_OUT)} true "
              f"({time.perf_counter() - started:.2f} s)")
        ari, v, groups = score(embedder, {**DEV, **HELD_OUT}, method, best)
        print(f"  all problems at {best:.2f}: ARI {ari:.3f}, V {v:.3f}, {groups} groups / "
              f"{len(DEV) + len(HELD_OUT)} true")


if __name__ == "__main__":
    main()
