"""Sentence-retrieval metrics: Tatoeba accuracy and BUCC 2018 ratio-margin bitext mining.

Embeddings are float arrays whose rows are L2-normalised sentence vectors, so the inner product
is the cosine. Nearest neighbours come from an exact faiss ``IndexFlatIP``.

BUCC scoring follows the ratio margin: ``score(x, y) = cos(x, y) / ((m_x + m_y) / 2)`` where
``m_x`` is the mean cosine of ``x`` to its ``k`` nearest neighbours on the other side. Every
source proposes its best target by margin and every target its best source; the union, sorted by
score, is filtered greedily so that each sentence is used at most once. Precision, recall and F1
are percentages.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import faiss
import numpy as np

Candidate = tuple[float, Hashable, Hashable]
"""``(margin score, source, target)``; source/target are row indices or sentence ids."""


def knn(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Inner products and row indices of the ``k`` rows of ``y`` nearest to each row of ``x``.

    Both arrays have shape ``(len(x), min(k, len(y)))``, best neighbour first.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    index = faiss.IndexFlatIP(y.shape[1])
    index.add(y)
    return index.search(x, min(k, len(y)))


def tatoeba_accuracy(src_emb: np.ndarray, tgt_emb: np.ndarray) -> float:
    """Percentage of source rows whose nearest target row is the one with the same index."""
    if len(src_emb) != len(tgt_emb) or not len(src_emb):
        raise ValueError(f"need equally many, non-zero rows: {len(src_emb)} vs {len(tgt_emb)}")
    _, idx = knn(src_emb, tgt_emb, 1)
    return 100.0 * float(np.mean(idx[:, 0] == np.arange(len(src_emb))))


def _best_by_margin(
    sims: np.ndarray, idx: np.ndarray, own_mean: np.ndarray, other_mean: np.ndarray
) -> list[tuple[float, int, int]]:
    """For each query row, its neighbour with the highest ratio margin: ``(score, row, nb)``."""
    margins = sims / ((own_mean[:, None] + other_mean[idx]) / 2)
    best = np.argmax(margins, axis=1)
    rows = np.arange(len(sims))
    return [
        (float(s), int(r), int(n))
        for s, r, n in zip(margins[rows, best], rows, idx[rows, best], strict=True)
    ]


def one_to_one(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Sort by score (descending) and keep a pair only if neither side was used by a better one."""
    used_src: set[Hashable] = set()
    used_tgt: set[Hashable] = set()
    kept = []
    for score, src, tgt in sorted(candidates, key=lambda c: -c[0]):
        if src not in used_src and tgt not in used_tgt:
            used_src.add(src)
            used_tgt.add(tgt)
            kept.append((score, src, tgt))
    return kept


def margin_candidates(
    src_emb: np.ndarray, tgt_emb: np.ndarray, k: int = 4
) -> list[tuple[float, int, int]]:
    """Forward and backward best-margin ``(score, src_row, tgt_row)``, one-to-one, best first."""
    fwd_sims, fwd_idx = knn(src_emb, tgt_emb, k)
    bwd_sims, bwd_idx = knn(tgt_emb, src_emb, k)
    src_mean = fwd_sims.mean(axis=1)
    tgt_mean = bwd_sims.mean(axis=1)
    forward = _best_by_margin(fwd_sims, fwd_idx, src_mean, tgt_mean)
    backward = [(s, i, j) for s, j, i in _best_by_margin(bwd_sims, bwd_idx, tgt_mean, src_mean)]
    unique = {(i, j): s for s, i, j in forward + backward}
    return one_to_one((s, i, j) for (i, j), s in unique.items())


def _prf(tp: int, n_predicted: int, n_gold: int) -> tuple[float, float, float]:
    """(F1, precision, recall) as percentages; 0 where undefined."""
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return 100.0 * f1, 100.0 * precision, 100.0 * recall


def best_threshold(
    candidates_with_ids: Sequence[Candidate], gold: set[tuple[Hashable, Hashable]]
) -> tuple[float, float, float, float]:
    """The score threshold maximising F1 on ``gold``: ``(threshold, f1, precision, recall)``.

    Cuts are considered only between distinct scores (a threshold cannot split ties). The
    threshold lies midway between the last kept and the first dropped score, or at the lowest
    score when keeping every candidate is best; the first best cut (highest threshold) wins.
    """
    if not candidates_with_ids:
        raise ValueError("no candidates to threshold")
    ranked = sorted(candidates_with_ids, key=lambda c: -c[0])
    best: tuple[float, float, float, float] | None = None
    tp = 0
    for n, (score, src, tgt) in enumerate(ranked, start=1):
        tp += (src, tgt) in gold
        if n < len(ranked) and ranked[n][0] == score:
            continue
        f1, precision, recall = _prf(tp, n, len(gold))
        if best is None or f1 > best[1]:
            threshold = (score + ranked[n][0]) / 2 if n < len(ranked) else score
            best = (threshold, f1, precision, recall)
    assert best is not None  # the last candidate always closes a cut
    return best


def bucc_scores(
    candidates_with_ids: Iterable[Candidate],
    gold: set[tuple[Hashable, Hashable]],
    threshold: float,
) -> dict[str, float]:
    """Precision, recall and F1 (%) of the candidates scoring at least ``threshold``."""
    predicted = {(src, tgt) for score, src, tgt in candidates_with_ids if score >= threshold}
    f1, precision, recall = _prf(len(predicted & gold), len(predicted), len(gold))
    return {"precision": precision, "recall": recall, "f1": f1, "threshold": threshold}
