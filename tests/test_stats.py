"""The analyses' statistics on constructed data with a known answer."""

import math

import numpy as np
import pytest

from xstilts import stats


def test_ranks_average_ties():
    assert stats.ranks([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_spearman_known_values():
    x = [1, 2, 3, 4, 5]
    assert stats.spearman(x, [2, 4, 6, 8, 100]) == pytest.approx(1.0)  # monotone, not linear
    assert stats.spearman(x, [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # hand-computed: ranks of y = 2 1 4 3 5; d = -1 1 -1 1 0; rho = 1 - 6*4/(5*24) = 0.8
    assert stats.spearman(x, [20, 10, 40, 30, 50]) == pytest.approx(0.8)
    # ties: x ranks 1.5 1.5 3, y ranks 1 2 3: Pearson of the ranks = sqrt(3)/2
    assert stats.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)


def test_spearman_interval_covers_and_excludes_zero():
    rng = np.random.default_rng(0)
    x = np.arange(40.0)
    y = x + rng.normal(0, 4, size=40)
    draws = stats.spearman_draws(x, y, 500, np.random.default_rng(1))
    low, high = stats.interval(draws, 0.95)
    assert 0.5 < low <= stats.spearman(x, y) <= high <= 1.0
    noise = rng.normal(size=40)
    low, high = stats.interval(stats.spearman_draws(x, noise, 500, np.random.default_rng(2)))
    assert low < 0 < high  # independent: the interval contains 0


def test_slope_exact_and_per_replicate():
    x = np.log10([1e8, 1e9, 1e10])
    assert stats.slope(x, 3 - 2 * x) == pytest.approx(-2.0)
    reps = np.stack([3 - 2 * x, 1 + 0.5 * x, np.full(3, 7.0)])
    assert stats.slopes(x, reps).tolist() == pytest.approx([-2.0, 0.5, 0.0])


def test_saturation_confidence_on_constructed_gains():
    """Gains 5 (small) and 1 (large) with small seed noise: the largest is below the smallest
    in every replicate, and the slope interval lies below 0 around the true -4 per decade."""
    rng = np.random.default_rng(0)
    small = stats.mean_draws(5 + rng.normal(0, 0.1, 5), 1000, np.random.default_rng(1))
    large = stats.mean_draws(1 + rng.normal(0, 0.1, 5), 1000, np.random.default_rng(2))
    assert stats.share_below(large, small) == 1.0
    low, high = stats.interval(stats.slopes([8.0, 9.0], np.column_stack([small, large])))
    assert -4.3 < low < high < -3.7
    # equal gains: confidence near a coin flip
    a = stats.mean_draws(rng.normal(0, 1, 5), 2000, np.random.default_rng(3))
    b = stats.mean_draws(rng.normal(0, 1, 5), 2000, np.random.default_rng(4))
    assert 0.02 < stats.share_below(a, b) < 0.98


def test_mean_draws_constant_and_paired():
    assert stats.interval(stats.mean_draws([2.0, 2.0, 2.0], 100, np.random.default_rng(0))) == (
        2.0,
        2.0,
    )
    # paired: a constant difference has a zero-width interval whatever the seeds' spread
    base, other = [10.0, 50.0, 90.0], [11.0, 51.0, 91.0]
    diffs = np.subtract(other, base)
    draws = stats.mean_draws(diffs, 200, np.random.default_rng(0))
    assert stats.interval(draws) == pytest.approx((1.0, 1.0))


def test_interval_percentiles():
    assert stats.interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))
    assert math.isnan(stats.interval([np.nan])[0])


def test_ols_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    v = rng.uniform(1, 4, 30)
    d = rng.uniform(0, 0.6, 30)
    y = 1.5 + 2.0 * v - 10.0 * d
    coef = stats.ols(y, {"log10_volume": v, "distance": d})
    assert coef == pytest.approx({"intercept": 1.5, "log10_volume": 2.0, "distance": -10.0})
    noisy = y + rng.normal(0, 0.5, 30)
    draws = stats.ols_draws(
        noisy, {"log10_volume": v, "distance": d}, 400, np.random.default_rng(1)
    )
    low, high = stats.interval(draws["log10_volume"])
    assert low < 2.0 < high and low > 1.0
    low, high = stats.interval(draws["distance"])
    assert low < -10.0 < high and high < -5.0


def test_rng_for_is_per_name():
    a = stats.rng_for(0, "m", "mnli").random()
    assert a == stats.rng_for(0, "m", "mnli").random()
    assert a != stats.rng_for(0, "m", "qqp").random()
