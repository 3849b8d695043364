"""τ and ρ intervals that carry the Bradley–Terry uncertainty (pure maths, simulated studies)."""

import numpy as np
import pytest
import scipy.stats

from analysis import bradley_terry as bt
from analysis.bt_inference import infer_counts
from analysis.bt_resample import PairCounts


def _study(rng, m, n_comparisons, q_noise):
    """Latent scores θ, a scorer's q = θ + noise, and BT comparisons drawn from θ."""
    theta = rng.normal(0, 1, m)
    q = theta + rng.normal(0, q_noise, m)
    a = rng.integers(0, m, n_comparisons)
    b = (a + rng.integers(1, m, n_comparisons)) % m
    a_wins = rng.random(n_comparisons) < 1 / (1 + np.exp(theta[b] - theta[a]))
    w, l_ = np.where(a_wins, a, b), np.where(a_wins, b, a)
    alpha = 1.0 / m
    fit = bt.fit(m, w, l_, alpha)
    res = infer_counts(PairCounts.from_comparisons(m, w, l_), alpha, n_boot=100, rng=rng,
                       theta_hat=fit.scores, keep_samples=True)  # fmt: skip
    return theta, q, res


@pytest.mark.parametrize("per_item", [4, 20])
def test_the_interval_covers_the_latent_tau_and_rho_at_about_the_nominal_rate(per_item):
    rng = np.random.default_rng(20 + per_item)
    m, reps = 30, 40
    covered = {"tau": 0, "rho": 0, "tau_fixed": 0}
    wider = 0
    for _ in range(reps):
        theta, q, res = _study(rng, m, m * per_item // 2, 0.7)
        keep = np.isfinite(res.scores)
        rc = bt.rank_correlation(res.scores[keep], q[keep], bt_samples=res.samples[:, keep])
        fixed = bt.rank_correlation(res.scores[keep], q[keep], n_boot=100, rng=rng)
        true_tau = scipy.stats.kendalltau(theta[keep], q[keep]).statistic
        true_rho = scipy.stats.spearmanr(theta[keep], q[keep]).statistic
        covered["tau"] += rc.tau_lo <= true_tau <= rc.tau_hi
        covered["rho"] += rc.rho_lo <= true_rho <= rc.rho_hi
        covered["tau_fixed"] += fixed.tau_lo <= true_tau <= fixed.tau_hi
        wider += (rc.tau_hi - rc.tau_lo) > (fixed.tau_hi - fixed.tau_lo)
        assert rc.tau_lo <= rc.tau <= rc.tau_hi and rc.rho_lo <= rc.rho <= rc.rho_hi
        assert rc.n_boot == 100 and "BT bootstrap" in rc.interval
    assert 0.85 <= covered["tau"] / reps <= 1.0
    assert 0.85 <= covered["rho"] / reps <= 1.0
    if per_item == 4:  # few comparisons: the scores are noisy, fixed scores are overconfident
        # wider in ~87% of studies (seeds 20–29: 80–92%, before and after the issue-12 solver
        # change); ≥ 75% keeps this Monte Carlo check 2 standard deviations from flaky
        assert wider / reps >= 0.75
        assert covered["tau_fixed"] / reps < 0.6


def test_replicate_correlations_match_scipy_row_by_row():
    rng = np.random.default_rng(3)
    q = rng.random(25)
    samples = q + rng.normal(0, 0.3, (7, 25))
    taus, rhos = bt._correlations_per_replicate(samples, q)
    for row, t, r in zip(samples, taus, rhos):
        assert t == pytest.approx(scipy.stats.kendalltau(row, q).statistic)
        assert r == pytest.approx(scipy.stats.spearmanr(row, q).statistic)


def test_perfectly_known_scores_give_a_point_interval_and_bad_shapes_are_refused():
    q = np.arange(10.0)
    rc = bt.rank_correlation(q, q, bt_samples=np.tile(q, (5, 1)))
    assert rc.tau == rc.tau_lo == rc.tau_hi == pytest.approx(1)
    with pytest.raises(ValueError, match="one column per item"):
        bt.rank_correlation(q, q, bt_samples=np.zeros((5, 9)))
