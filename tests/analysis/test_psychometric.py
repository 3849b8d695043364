"""Agreement curves on answers simulated from known psychometric curves."""

import numpy as np
import pytest
from scipy.optimize import check_grad

from analysis import psychometric as ps


def _simulate(rng, curves, *, workers=30, pairs=600, answers=4000):
    """Answers of ``workers`` to ``pairs`` pairs per method; curves[m] = (scale, shape)."""
    rows = {k: [] for k in ("gap", "agree", "method", "worker", "pair")}
    for m, (scale, shape) in enumerate(curves):
        pair_gap = rng.random(pairs)
        pair = rng.integers(0, pairs, answers)
        gap = pair_gap[pair]
        rows["gap"].append(gap)
        rows["agree"].append(rng.random(answers) < ps.weibull_2afc(gap, scale, shape))
        rows["method"].append(np.full(answers, m))
        rows["worker"].append(rng.integers(0, workers, answers))
        rows["pair"].append(pair + m * pairs)
    out = {k: np.concatenate(v) for k, v in rows.items()}
    out["level"] = np.minimum((out["gap"] * 10).astype(int), 9)
    return out


def test_the_curve_is_one_half_at_gap_zero_and_rises_towards_one():
    g = np.linspace(0, 1, 50)
    p = ps.weibull_2afc(g, 0.2, 1.5)
    assert p[0] == 0.5 and np.all(np.diff(p) > 0) and p[-1] > 0.99
    assert ps.weibull_2afc(ps.g75_from(0.2, 1.5), 0.2, 1.5) == pytest.approx(0.75)


def test_the_likelihood_gradient_is_exact():
    rng = np.random.default_rng(0)
    g, n = rng.random(40) + 0.01, rng.integers(1, 6, 40).astype(float)
    k = np.floor(n * rng.random(40))
    assert (
        check_grad(lambda x: ps._nll(x, g, n, k)[0], lambda x: ps._nll(x, g, n, k)[1], [np.log(0.3), 0.2])
        < 1e-4
    )


def test_the_fit_recovers_the_75_percent_gap_within_its_interval():
    rng = np.random.default_rng(12)
    truth = ps.g75_from(0.25, 1.6)
    data = _simulate(rng, [(0.25, 1.6)])
    res = ps.analyse(**data, n_methods=1, n_levels=10, n_boot=300, rng=rng)
    curve = res.curves[0]
    assert curve.g75_lo <= truth <= curve.g75_hi
    assert curve.g75_lo <= curve.fit.g75 <= curve.g75_hi and curve.g75_reached
    assert curve.fit.g75 == pytest.approx(truth, abs=0.04)


def test_the_75_percent_gap_intervals_cover_the_truth_in_repeated_studies():
    rng = np.random.default_rng(13)
    truth = ps.g75_from(0.3, 1.2)
    hits = 0
    for _ in range(30):
        data = _simulate(rng, [(0.3, 1.2)], answers=2000)
        c = ps.analyse(**data, n_methods=1, n_levels=10, n_boot=100, rng=rng).curves[0]
        hits += c.g75_lo <= truth <= c.g75_hi
    assert hits >= 25  # nominal 95%: P(≤ 24 of 30) < 1%


def test_the_difference_between_methods_comes_with_an_interval_overall_and_per_level():
    rng = np.random.default_rng(14)
    curves = [(0.15, 1.5), (0.35, 1.5), (0.15, 1.5)]  # method 0 is better than 1, equal to 2
    data = _simulate(rng, curves)
    res = ps.analyse(**data, n_methods=3, n_levels=10, n_boot=300, rng=rng, reference=0)
    better, same = res.differences
    assert (better.method_a, better.method_b, same.method_b) == (0, 1, 2)
    grid = np.repeat(np.arange(10) / 10 + 0.05, 1)
    true_diff = np.mean(ps.weibull_2afc(grid, *curves[0]) - ps.weibull_2afc(grid, *curves[1]))
    assert better.lo > 0 and better.lo <= better.diff <= better.hi
    assert better.lo - 0.03 <= true_diff <= better.hi + 0.03  # gaps are uniform: the pooled diff ≈ this
    assert same.lo <= 0 <= same.hi
    assert better.g75_lo < 0 < -better.g75_hi or better.g75_hi < 0  # reference reaches 75% earlier
    assert np.all(better.lo_per_level <= better.diff_per_level) and np.all(
        better.diff_per_level <= better.hi_per_level
    )


def test_empty_and_thin_levels_are_flagged_with_their_count():
    assert ps.level_flags([0, 7, 30, 100], min_answers=30) == ["empty (n=0)", "thin (n=7)", "", ""]


def test_a_level_without_answers_has_no_rate_and_no_interval():
    rng = np.random.default_rng(15)
    data = _simulate(rng, [(0.2, 1.5)], answers=800)
    keep = data["level"] < 8
    data = {k: v[keep] for k, v in data.items()}
    c = ps.analyse(**data, n_methods=1, n_levels=10, n_boot=50, rng=rng).curves[0]
    assert c.n_per_level[8:].tolist() == [0, 0]
    assert np.all(np.isnan(c.rate_per_level[8:])) and np.all(np.isnan(c.lo_per_level[8:]))
    assert not np.isnan(c.rate_per_level[:8]).any()


def test_bad_gaps_get_a_clear_message():
    with pytest.raises(ValueError, match="normalised"):
        ps.fit_curve(np.array([0.2, 1.5]), np.array([True, False]))
