import numpy as np
import pytest

from analysis import yes_rate


def _answers(slope, n, rng, intercept=-1.0):
    q = rng.random(n)
    yes = (rng.random(n) < 1 / (1 + np.exp(-(intercept + slope * q)))).astype(float)
    return q, yes


def test_the_fit_recovers_a_known_slope_within_its_interval():
    rng = np.random.default_rng(0)
    q, yes = _answers(4.0, 4000, rng)
    fit = yes_rate.fit_logistic(q, yes)
    lo, hi = fit.slope_interval()
    assert lo < 4.0 < hi and hi - lo < 1.5
    assert fit.converged


def test_wald_intervals_cover_the_slope_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(200):
        q, yes = _answers(2.0, 300, rng)
        lo, hi = yes_rate.fit_logistic(q, yes).slope_interval()
        hits += lo < 2.0 < hi
    assert 0.90 <= hits / 200 <= 0.99


def test_a_flat_yes_rate_gives_a_slope_interval_around_zero():
    rng = np.random.default_rng(2)
    q, yes = _answers(0.0, 2000, rng, intercept=0.5)
    curve = yes_rate.yes_rate_curve(q, yes, np.random.default_rng(3), n_boot=100)
    assert curve.slope_lo < 0 < curve.slope_hi
    assert np.all(curve.lo <= curve.rate + 1e-9) and np.all(curve.rate <= curve.hi + 1e-9)
    assert np.allclose(curve.rate, 1 / (1 + np.exp(-0.5)), atol=0.06)


def test_the_worker_bootstrap_is_wider_when_workers_differ():
    rng = np.random.default_rng(4)
    worker = np.repeat(np.arange(20), 100)
    bias = rng.normal(0, 1.5, 20)[worker]
    q = rng.random(worker.size)
    yes = (rng.random(worker.size) < 1 / (1 + np.exp(-(bias + 2 * q)))).astype(float)
    by_answer = yes_rate.yes_rate_curve(q, yes, np.random.default_rng(5), n_boot=100)
    by_worker = yes_rate.yes_rate_curve(q, yes, np.random.default_rng(5), worker=worker, n_boot=100)
    assert np.mean(by_worker.hi - by_worker.lo) > np.mean(by_answer.hi - by_answer.lo)


def test_answers_other_than_yes_or_no_are_refused():
    with pytest.raises(ValueError, match="0/1"):
        yes_rate.fit_logistic([0.1, 0.2], [1, 2])
