"""Sentence-retrieval metrics: Tatoeba accuracy and BUCC 2018 ratio-margin bitext mining.

Both follow XTREME's ``third_party/utils_retrieve.py`` (LASER's mining code). Embeddings are
float arrays whose rows are L2-normalised sentence vectors, so the inner product is the cosine;
nearest neighbours come from an exact faiss ``IndexFlatIP``.

* Tatoeba (``similarity_search``): the non-English sentences are indexed and each English
  sentence retrieves its nearest non-English one; accuracy is the percentage of English
  sentences whose neighbour is their gold translation (the same line).
* BUCC (``mine_bitext`` with ``mode="mine"``, ``retrieval="max"``, ``margin="ratio"``, then
  ``bucc_eval``): identical texts are merged first, so every distinct text has one vector and
  a repeated sentence does not shift its neighbours' margins. Over the distinct texts,
  ``score(x, y) = cos(x, y) / ((m_x + m_y) / 2)`` with ``m_x`` the mean cosine of ``x`` to its
  ``k`` nearest neighbours on the other side; every source proposes its best target by margin
  and every target its best source; the union, sorted by score, is filtered greedily so each
  text is used at most once, and pairs scoring ``<= 0`` are not kept (the mining threshold 0).
  Mined texts are mapped back to sentence ids by their stripped text; a pair whose text belongs
  to more than one sentence is dropped (``read_sent2id``). Equal scores keep the mining order
  (forward candidates by source, then backward by target), where XTREME's unstable argsort
  leaves it unspecified. The threshold is chosen as in ``bucc_optimize`` and applied with
  ``score >= threshold`` (``bucc_extract``). Precision, recall and F1 are percentages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

Candidate = tuple[float, Hashable, Hashable]
"""``(margin score, source, target)``; source/target are row indices, texts or sentence ids."""

_CHUNK = 8192  # query rows whose neighbour vectors are gathered at once


def knn(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Inner products and row indices of the ``k`` rows of ``y`` nearest to each row of ``x``.

    Both arrays have shape ``(len(x), min(k, len(y)))``, best neighbour first.
    """
    import faiss  # only the search needs it: scoring saved predictions does not

    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    index = faiss.IndexFlatIP(y.shape[1])
    index.add(y)
    return index.search(x, min(k, len(y)))


# --- Tatoeba ---
def tatoeba_search(other: np.ndarray, english: np.ndarray) -> np.ndarray:
    """For each English row, the index of its nearest non-English row (XTREME's direction)."""
    if len(other) != len(english) or not len(other):
        raise ValueError(f"need equally many, non-zero rows: {len(other)} vs {len(english)}")
    _, idx = knn(english, other, 1)
    return idx[:, 0]


def tatoeba_accuracy(predicted: Sequence[int], gold: Sequence[int] | None = None) -> float:
    """Percentage of English rows whose retrieved non-English row is their gold one (row ``i``
    for row ``i`` unless ``gold`` says otherwise)."""
    predicted = np.asarray(predicted)
    gold = np.arange(len(predicted)) if gold is None else np.asarray(gold)
    return 100.0 * float(np.mean(predicted == gold))


# --- BUCC mining ---
def distinct_texts(texts: Iterable[str]) -> list[str]:
    """The distinct texts in order of first occurrence (LASER's ``text_load_unify``)."""
    return list(dict.fromkeys(texts))


def _best_by_margin(
    query: np.ndarray,
    base: np.ndarray,
    idx: np.ndarray,
    query_mean: np.ndarray,
    base_mean: np.ndarray,
) -> list[tuple[float, int, int]]:
    """For each query row, its ``idx`` neighbour with the highest ratio margin: ``(s, row, nb)``.

    The cosine is recomputed from the vectors, as ``score_candidates`` does, so a pair scores
    the same from either side.
    """
    cos = np.concatenate(
        [
            np.einsum("id,ikd->ik", query[a : a + _CHUNK], base[idx[a : a + _CHUNK]])
            for a in range(0, len(query), _CHUNK)
        ]
    )
    margins = cos / ((query_mean[:, None] + base_mean[idx]) / 2)
    best = np.argmax(margins, axis=1)
    rows = np.arange(len(query))
    return [
        (float(s), int(r), int(n))
        for s, r, n in zip(margins[rows, best], rows, idx[rows, best], strict=True)
    ]


def one_to_one(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Sort by score (descending, stable) and keep a pair only if neither side is used yet."""
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
    """Forward and backward best-margin ``(score, src_row, tgt_row)``, one-to-one, best first.

    Rows should be distinct texts (see :func:`distinct_texts`); pairs scoring ``<= 0`` are left
    out, as LASER's miner writes only scores above its threshold 0.
    """
    src = np.ascontiguousarray(src_emb, dtype=np.float32)
    tgt = np.ascontiguousarray(tgt_emb, dtype=np.float32)
    fwd_sims, fwd_idx = knn(src, tgt, k)
    bwd_sims, bwd_idx = knn(tgt, src, k)
    src_mean = fwd_sims.mean(axis=1)
    tgt_mean = bwd_sims.mean(axis=1)
    forward = _best_by_margin(src, tgt, fwd_idx, src_mean, tgt_mean)
    backward = [(s, i, j) for s, j, i in _best_by_margin(tgt, src, bwd_idx, tgt_mean, src_mean)]
    return [c for c in one_to_one(forward + backward) if c[0] > 0]


def unique_ids(texts: Sequence[str], ids: Sequence[Hashable]) -> dict[str, Hashable]:
    """Stripped text -> sentence id, for the texts that only one sentence has (``read_sent2id``)."""
    stripped = [t.strip() for t in texts]
    counts = Counter(stripped)
    return {t: i for t, i in zip(stripped, ids, strict=True) if counts[t] == 1}


def bucc_mine(
    source: Sequence[Mapping[str, Any]],
    target: Sequence[Mapping[str, Any]],
    encode: Callable[[list[str]], np.ndarray],
    k: int = 4,
) -> tuple[list[Candidate], int]:
    """Mine one BUCC split: ``(score, source_id, target_id)`` best first, and the pairs dropped.

    ``source``/``target`` are ``{"id", "text"}`` sentences; ``encode`` turns a list of texts into
    L2-normalised rows and is given each side's distinct texts once. A mined pair whose source
    or target text (stripped) belongs to more than one sentence is dropped and counted.
    """
    texts = [distinct_texts(s["text"] for s in side) for side in (source, target)]
    ids = [
        unique_ids([s["text"] for s in side], [s["id"] for s in side]) for side in (source, target)
    ]
    rows = [encode(t) for t in texts]
    for side, side_texts, side_rows in zip(("source", "target"), texts, rows, strict=True):
        if len(side_rows) != len(side_texts):
            raise ValueError(f"{side}: {len(side_rows)} vectors for {len(side_texts)} texts")
    kept, dropped = [], 0
    for score, i, j in margin_candidates(*rows, k):
        src, tgt = texts[0][i].strip(), texts[1][j].strip()
        if src in ids[0] and tgt in ids[1]:
            kept.append((score, ids[0][src], ids[1][tgt]))
        else:
            dropped += 1
    return kept, dropped


# --- BUCC scoring ---
def _prf(tp: int, n_predicted: int, n_gold: int) -> tuple[float, float, float]:
    """(F1, precision, recall) as fractions, computed as XTREME does; 0 where undefined."""
    if not tp:
        return 0.0, 0.0, 0.0
    precision, recall = tp / n_predicted, tp / n_gold
    return 2 * precision * recall / (precision + recall), precision, recall


def best_threshold(
    candidates_with_ids: Sequence[Candidate], gold: set[tuple[Hashable, Hashable]]
) -> float:
    """The score threshold of the F1-optimal cut on ``gold`` (XTREME's ``bucc_optimize``).

    The candidates, sorted by score (descending, stable), are cut after every candidate, ties
    included; the first cut with the best F1 wins and the threshold lies midway between its
    last candidate's score and the next one's. A cut inside a run of equal scores therefore
    gives that score itself, and ``score >= threshold`` then keeps the whole run. Where keeping
    every candidate is best (XTREME fails there, reading past the end) the threshold is the
    lowest score; where no candidate is gold it is 0, as in XTREME.
    """
    if not candidates_with_ids:
        raise ValueError("no candidates to threshold")
    ranked = sorted(candidates_with_ids, key=lambda c: -c[0])
    threshold, best_f1, tp = 0.0, 0.0, 0
    for n, (score, src, tgt) in enumerate(ranked, start=1):
        tp += (src, tgt) in gold
        f1, _, _ = _prf(tp, n, len(gold))
        if f1 > best_f1:
            best_f1 = f1
            threshold = (score + ranked[n][0]) / 2 if n < len(ranked) else score
    return threshold


def bucc_scores(
    candidates_with_ids: Iterable[Candidate],
    gold: set[tuple[Hashable, Hashable]],
    threshold: float,
) -> dict[str, float]:
    """Precision, recall and F1 (%) of the candidates scoring at least ``threshold``."""
    predicted = {(src, tgt) for score, src, tgt in candidates_with_ids if score >= threshold}
    f1, precision, recall = _prf(len(predicted & gold), len(predicted), len(gold))
    return {
        "precision": 100 * precision,
        "recall": 100 * recall,
        "f1": 100 * f1,
        "threshold": threshold,
    }
