"""Statistics of the follow-up analyses: bootstrap intervals, slopes, rank correlation, regression.

numpy only (the analysis jobs import no model code). Every interval is a percentile bootstrap;
the caller chooses what is resampled (seeds, examples, languages) and passes the replicates in.
"""

from __future__ import annotations

import zlib


def rng_for(seed: int, *names) -> object:
    """An RNG per named quantity, so one interval does not depend on which others exist."""
    import numpy as np

    return np.random.default_rng([seed, zlib.crc32("/".join(map(str, names)).encode())])


def counts(rng, n: int, size: int):
    """``size`` bootstrap draws of ``n`` out of ``n``: how often each item is drawn, (size, n)."""
    import numpy as np

    return rng.multinomial(n, np.full(n, 1.0 / n), size=size)


def interval(replicates, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of 1-D replicates (NaN replicates ignored)."""
    import numpy as np

    r = np.asarray(replicates, dtype=float)
    r = r[~np.isnan(r)]
    if not len(r):
        return float("nan"), float("nan")
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(r, [tail, 100.0 - tail])
    return float(low), float(high)


def mean_draws(values, replicates: int, rng):
    """Bootstrap replicates of the mean of ``values`` (e.g. per-seed scores): (replicates,)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    return counts(rng, len(v), replicates) @ v / len(v)


def slope(x, y) -> float:
    """Least-squares slope of ``y`` on ``x``."""
    import numpy as np

    x, y = np.asarray(x, float), np.asarray(y, float)
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum())


def slopes(x, y_draws):
    """The slope of every replicate row of ``y_draws`` (replicates, len(x)) on ``x``."""
    import numpy as np

    x = np.asarray(x, float)
    xc = x - x.mean()
    y = np.asarray(y_draws, float)
    return (y - y.mean(axis=1, keepdims=True)) @ xc / (xc * xc).sum()


def share_below(a_draws, b_draws) -> float:
    """Share of replicates in which ``a`` is below ``b``: the bootstrap confidence that a < b."""
    import numpy as np

    return float(np.mean(np.asarray(a_draws, float) < np.asarray(b_draws, float)))


def ranks(values):
    """Ranks from 1, ties given their average rank (as Spearman's rho needs)."""
    import numpy as np

    v = np.asarray(values, float)
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    sorted_v = v[order]
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        r[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return r


def pearson(x, y) -> float:
    import numpy as np

    x, y = np.asarray(x, float), np.asarray(y, float)
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    return float((xc * yc).sum() / denom) if denom > 0 else float("nan")


def spearman(x, y) -> float:
    """Spearman's rank correlation: Pearson's r of the (tie-averaged) ranks."""
    return pearson(ranks(x), ranks(y))


def spearman_draws(x, y, replicates: int, rng):
    """Replicates of Spearman's rho with the points (languages) resampled."""
    import numpy as np

    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = rng.integers(0, len(x), size=(replicates, len(x)))
    return np.array([spearman(x[i], y[i]) for i in idx])


def ols(y, columns: dict[str, list]) -> dict[str, float]:
    """Least-squares coefficients of ``y`` on an intercept and the named ``columns``."""
    import numpy as np

    names = ["intercept", *columns]
    X = np.column_stack([np.ones(len(y)), *(np.asarray(columns[c], float) for c in columns)])
    beta, *_ = np.linalg.lstsq(X, np.asarray(y, float), rcond=None)
    return dict(zip(names, map(float, beta), strict=True))


def ols_draws(y, columns: dict[str, list], replicates: int, rng) -> dict[str, object]:
    """Case-bootstrap replicates of each OLS coefficient (rows resampled; a replicate whose
    design is rank-deficient gives NaN)."""
    import numpy as np

    y = np.asarray(y, float)
    X = np.column_stack([np.ones(len(y)), *(np.asarray(columns[c], float) for c in columns)])
    out = np.full((replicates, X.shape[1]), np.nan)
    for r, idx in enumerate(rng.integers(0, len(y), size=(replicates, len(y)))):
        if np.linalg.matrix_rank(X[idx]) == X.shape[1]:
            out[r], *_ = np.linalg.lstsq(X[idx], y[idx], rcond=None)
    return dict(zip(["intercept", *columns], out.T, strict=True))
