import numpy as np
import pytest
import scipy.stats

from analysis import bradley_terry as bt


def _random_problem(rng, n_items, n_comp, n_groups=1):
    """Random outcomes; items only meet inside their group (item % n_groups), and a
    chain through each group keeps every group connected."""
    group = np.arange(n_items) % n_groups
    i = rng.integers(0, n_items, n_comp)
    j = np.array([rng.choice(np.flatnonzero(group == group[a])) for a in i])
    chain = np.concatenate([np.flatnonzero(group == g) for g in range(n_groups)])
    linked = group[chain[:-1]] == group[chain[1:]]
    i = np.concatenate([i, chain[:-1][linked]])
    j = np.concatenate([j, chain[1:][linked]])
    keep = i != j
    i, j = i[keep], j[keep]
    first_wins = rng.random(i.size) < 0.6
    return np.where(first_wins, i, j), np.where(first_wins, j, i)


def _simulate_bt(rng, theta, n_comp):
    n = theta.size
    i = rng.integers(0, n, n_comp)
    j = (i + rng.integers(1, n, n_comp)) % n
    i_wins = rng.random(n_comp) < 1 / (1 + np.exp(-(theta[i] - theta[j])))
    return np.where(i_wins, i, j), np.where(i_wins, j, i)


@pytest.mark.parametrize("seed", range(4))
def test_fast_fit_equals_choix_on_small_connected_problems(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    w, l_ = _random_problem(rng, n, int(rng.integers(60, 300)))
    assert bt.connected_components(n, w, l_)[0] == 1
    ref = bt.fit_choix(n, w, l_, alpha=0.01, tol=1e-13, max_iter=5000)
    fast = bt.fit_fast(n, w, l_, alpha=0.01)
    assert abs(fast.mean()) < 1e-12
    np.testing.assert_allclose(fast, ref, atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_fast_fit_equals_choix_on_disconnected_problems(seed):
    rng = np.random.default_rng(100 + seed)
    n = 24
    w, l_ = _random_problem(rng, n, 120, n_groups=3)
    assert bt.connected_components(n, w, l_)[0] >= 3
    ref = bt.fit_choix(n, w, l_, alpha=0.05, tol=1e-13, max_iter=5000)
    np.testing.assert_allclose(bt.fit_fast(n, w, l_, alpha=0.05), ref, atol=1e-6)


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 2.0])
def test_regularisation_is_the_same_as_choix_ilsr_for_weak_and_strong_alpha(alpha):
    rng = np.random.default_rng(7)
    w, l_ = _random_problem(rng, 15, 80)
    ref = bt.fit_choix(15, w, l_, alpha=alpha, tol=1e-13, max_iter=5000)
    fast = bt.fit_fast(15, w, l_, alpha=alpha)
    np.testing.assert_allclose(fast, ref, atol=1e-6)
    # both sit at the optimum of the documented objective: nudging either way is worse
    f0 = bt.neg_objective(15, w, l_, alpha, fast)
    for k in range(15):
        e = np.zeros(15)
        e[k] = 1e-4
        assert bt.neg_objective(15, w, l_, alpha, fast + e) > f0
        assert bt.neg_objective(15, w, l_, alpha, fast - e) > f0


def test_the_sparse_solver_used_for_large_studies_equals_choix():
    rng = np.random.default_rng(3)
    n = 420  # above the dense-solver cut-off
    w, l_ = _simulate_bt(rng, rng.normal(size=n), 2500)
    ref = bt.fit_choix(n, w, l_, alpha=1e-3, tol=1e-11, max_iter=1000)
    np.testing.assert_allclose(bt.fit_fast(n, w, l_, alpha=1e-3), ref, atol=1e-6)


def test_it_recovers_a_planted_order_from_simulated_answers():
    rng = np.random.default_rng(11)
    theta = np.linspace(-3, 3, 150)
    rng.shuffle(theta)
    w, l_ = _simulate_bt(rng, theta, 15_000)
    scores = bt.fit_fast(150, w, l_, alpha=1e-4)
    assert scipy.stats.kendalltau(scores, theta).statistic >= 0.8


def test_a_tie_counts_as_half_a_win_each_way():
    rng = np.random.default_rng(5)
    w, l_ = _random_problem(rng, 12, 90)
    ties = rng.random(w.size) < 0.3
    fast = bt.fit_fast(12, w, l_, alpha=0.02, ties=ties)
    # doubling every strict answer and turning each tie into one win each way doubles the
    # log-likelihood; doubling alpha doubles the penalty, so the optimum is the same
    strict = ~ties
    w2 = np.concatenate([w[strict], w[strict], w[ties], l_[ties]])
    l2 = np.concatenate([l_[strict], l_[strict], l_[ties], w[ties]])
    ref = bt.fit_choix(12, w2, l2, alpha=0.04, tol=1e-13, max_iter=5000)
    np.testing.assert_allclose(fast, ref, atol=1e-6)
    res = bt.fit(12, w, l_, alpha=0.02, ties=ties)
    assert res.n_ties == int(ties.sum())
    np.testing.assert_allclose(res.scores, fast, atol=1e-12)


def test_only_ties_between_two_items_give_equal_scores():
    scores = bt.fit_fast(2, np.array([0, 1, 0]), np.array([1, 0, 1]), alpha=0.1, ties=np.ones(3, bool))
    assert scores[0] == pytest.approx(scores[1], abs=1e-12)


def test_a_disconnected_graph_and_never_compared_items_are_reported():
    w = np.array([0, 1, 0, 3, 4])
    l_ = np.array([1, 2, 2, 4, 3])
    n_comp, labels = bt.connected_components(6, w, l_)
    assert n_comp == 3  # {0,1,2}, {3,4}, {5}
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4] != labels[5]
    res = bt.fit(6, w, l_, alpha=0.1)
    assert res.n_components == 3
    assert res.never_compared.tolist() == [5]
    assert "disconnected" in res.warning and "never compared" in res.warning
    assert res.converged and np.all(np.isfinite(res.scores))
    assert res.to_dict()["n_components"] == 3


def test_a_connected_graph_with_an_unbeaten_item_gets_a_softer_warning():
    res = bt.fit(3, np.array([0, 0, 1, 2]), np.array([1, 2, 2, 1]), alpha=0.01)
    assert res.n_components == 1 and res.n_strong_components == 2
    assert "never lost" in res.warning
    healthy = bt.fit(3, np.array([0, 1, 2, 1]), np.array([1, 2, 0, 0]), alpha=0.01)
    assert healthy.warning is None


def test_an_unregularised_fit_refuses_a_disconnected_graph():
    with pytest.raises(ValueError, match="alpha > 0"):
        bt.fit_fast(4, np.array([0, 2]), np.array([1, 3]), alpha=0.0)


def test_bad_comparisons_get_a_clear_message():
    with pytest.raises(ValueError, match="itself"):
        bt.fit_fast(3, np.array([1]), np.array([1]), alpha=0.1)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        bt.fit_fast(3, np.array([0]), np.array([3]), alpha=0.1)
    with pytest.raises(ValueError, match="same length"):
        bt.fit_fast(3, np.array([0, 1]), np.array([2]), alpha=0.1)


def test_bootstrap_intervals_bracket_the_fit_and_are_reproducible():
    rng = np.random.default_rng(2)
    theta = np.linspace(-2, 2, 30)
    w, l_ = _simulate_bt(rng, theta, 3000)
    fit = bt.fit_fast(30, w, l_, alpha=1e-3)
    lo, hi = bt.bootstrap(30, w, l_, 1e-3, 60, np.random.default_rng(9))
    lo2, hi2 = bt.bootstrap(30, w, l_, 1e-3, 60, np.random.default_rng(9))
    np.testing.assert_array_equal(lo, lo2)
    assert np.all(lo < hi)
    assert np.mean((lo <= fit) & (fit <= hi)) > 0.9
    assert np.mean((lo <= theta - theta.mean()) & (theta - theta.mean() <= hi)) > 0.7


def test_rank_correlation_reports_tau_and_rho_with_intervals():
    rng = np.random.default_rng(4)
    q = rng.random(200)
    scores = q + rng.normal(scale=0.1, size=200)
    rc = bt.rank_correlation(scores, q, n_boot=200, rng=rng)
    assert rc.tau == pytest.approx(scipy.stats.kendalltau(scores, q).statistic)
    assert rc.rho == pytest.approx(scipy.stats.spearmanr(scores, q).statistic)
    assert rc.tau_lo < rc.tau < rc.tau_hi and rc.rho_lo < rc.rho < rc.rho_hi
    assert rc.rho > rc.tau > 0.5
    perfect = bt.rank_correlation(q, 2 * q + 1, n_boot=20, rng=rng)
    assert perfect.tau == pytest.approx(1) and perfect.tau_lo == pytest.approx(1)
