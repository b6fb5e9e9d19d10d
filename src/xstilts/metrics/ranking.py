"""Ranking metrics of XTREME-R's retrieval tasks: mAP@k for LAReQA and Mewsli-X (k = 20).

``average_precision_at_k`` follows google-research/xtreme ``third_party/utils_lareqa.py``: over
the top ``k`` of a ranking, each relevant item at rank ``r`` (1-based, counted once) adds
(relevant items so far) / r, and the sum is divided by min(number relevant, k). LAReQA ranks the
pooled candidates of every language by dot product (``rank_by_score``) and every question has one
relevant answer sentence per language it was translated into; its score is one mean over the
questions of all languages (``mean_avg_prec_at_k``: the registry's ``pooled``, applied by
``xstilts.benchmarks``). Ties: XTREME ranks with ``numpy.argsort(scores)[::-1]`` in the default
kind. In the numpy of its time that is an introsort, stable only on lists of at most 16 items
(insertion sort); numpy on x86 CPUs with AVX2/AVX-512 now argsorts with SIMD kernels, which
reorder ties at any length (numpy 2.4 here: a 10-item list). XTREME's order of equal scores over
thousands of candidates is therefore not defined. The project sorts stably and reverses (equal
scores: the later candidate first, what the 2020 call gives on short lists), the same on every
machine. Mewsli-X (``utils_mewslix.py``)
scores a single gold entity per mention: its mAP@20 is the mean reciprocal rank within the top
20, the same number as AP@20 with one relevant item; a mention with no prediction scores 0.
Scores are percentages (XTREME reports map@20 x 100).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

K = 20


def average_precision_at_k(relevant, ranking: Sequence, k: int | None = K) -> float:
    """AP@k of one ranked list against the set of relevant items (a fraction in [0, 1])."""
    relevant = set(relevant)
    if not relevant:
        raise ValueError("average precision needs at least one relevant item")
    top = list(ranking[:k] if k else ranking)
    hits, score, seen = 0, 0.0, set()
    for i, item in enumerate(top):
        if item in relevant and item not in seen:
            hits += 1
            score += hits / (i + 1)
        seen.add(item)
    return score / (min(len(relevant), k) if k else len(relevant))


def mean_average_precision(
    relevant: Mapping[str, Sequence], rankings: Mapping[str, Sequence], k: int | None = K
) -> float:
    """mAP@k (percent) over every query of ``relevant``; a query without ranking scores 0."""
    if not relevant:
        raise ValueError("no queries to score")
    total = sum(average_precision_at_k(relevant[q], rankings.get(q, []), k) for q in relevant)
    return 100.0 * total / len(relevant)


def rank_by_score(scores) -> list[int]:
    """Candidate indices by descending score; equal scores the later candidate first (a stable
    ``argsort(scores)[::-1]``: XTREME's unstable one orders them so only on short lists)."""
    import numpy as np

    return np.argsort(np.asarray(scores), kind="stable")[::-1].tolist()
