"""The sampler of multi-task batches and of mixed-language training sets (no heavy imports).

Multi-task training draws each batch's task with :func:`probabilities`; a mixed translate-train
variant takes :func:`language_counts` examples of each language, each language's drawn by
:func:`draw`.
"""

from __future__ import annotations

import math
import random

SAMPLINGS = ("proportional", "uniform", "temperature")


def probabilities(
    sizes: dict[str, int],
    sampling: str = "proportional",
    temperature: float = 2.0,
    cap: int | None = None,
) -> dict[str, float]:
    """Probability of drawing each task (or language): proportional to its size (optionally
    capped), uniform, or with temperature ``T`` (p ~ n^(1/T))."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"multitask.sampling must be one of {SAMPLINGS}, got {sampling!r}")
    counts = {t: min(n, cap) if cap else n for t, n in sizes.items()}
    if sampling == "uniform":
        weights = {t: 1.0 for t in counts}
    elif sampling == "temperature":
        weights = {t: n ** (1.0 / temperature) for t, n in counts.items()}
    else:
        weights = {t: float(n) for t, n in counts.items()}
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


def language_counts(probs: dict[str, float], total: int) -> dict[str, int]:
    """``round(p * total)`` per key, summing to exactly ``total`` (largest remainders round up)."""
    exact = {k: p * total for k, p in probs.items()}
    counts = {k: math.floor(x) for k, x in exact.items()}
    by_remainder = sorted(exact, key=lambda k: (counts[k] - exact[k], k))
    for k in by_remainder[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def draw(size: int, count: int, seed) -> list[int]:
    """``count`` indices into ``size`` examples: seeded shuffled passes, each pass a fresh
    permutation (no repeat before every example has been drawn)."""
    if count and not size:
        raise ValueError(f"cannot draw {count} examples from none")
    rng = random.Random(seed)
    out: list[int] = []
    while len(out) < count:
        fresh = list(range(size))
        rng.shuffle(fresh)
        out += fresh
    return out[:count]
