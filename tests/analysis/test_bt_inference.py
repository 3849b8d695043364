"""Property tests of the Bradley–Terry inference core: what its intervals and flags mean."""

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import bradley_terry as bt
from analysis.bt_bootstrap import TOL, bootstrap_replicates, replicate_counts
from analysis.bt_inference import infer, infer_counts
from analysis.bt_resample import PairCounts, poisson_counts


def _simulate(rng, theta, n_comp):
    n = theta.size
    i = rng.integers(0, n, n_comp)
    j = (i + rng.integers(1, n, n_comp)) % n
    i_wins = rng.random(n_comp) < 1 / (1 + np.exp(-(theta[i] - theta[j])))
    return np.where(i_wins, i, j), np.where(i_wins, j, i)


@st.composite
def studies(draw):
    """Small messy studies: several groups that may never meet, unbeaten items, ties."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_items = draw(st.integers(3, 25))
    n_groups = draw(st.integers(1, 3))
    group = rng.integers(0, n_groups, n_items)
    m = draw(st.integers(1, 120))
    i = rng.integers(0, n_items, m)
    j = rng.integers(0, n_items, m)
    keep = (i != j) & (group[i] == group[j])
    if not keep.any():
        i, j, keep = np.array([0]), np.array([1]), np.array([True])
    theta = rng.normal(scale=draw(st.sampled_from([0.5, 1.5, 4.0])), size=n_items)
    i, j = i[keep], j[keep]
    i_wins = rng.random(i.size) < 1 / (1 + np.exp(-(theta[i] - theta[j])))
    ties = rng.random(i.size) < draw(st.sampled_from([0.0, 0.1]))
    return n_items, np.where(i_wins, i, j), np.where(i_wins, j, i), ties, seed


@settings(max_examples=40, deadline=None)
@given(studies())
def test_every_reported_estimate_lies_inside_its_own_intervals(study):
    n_items, w, l_, ties, seed = study
    res = infer(n_items, w, l_, 0.1 / n_items, ties=ties, n_boot=60, rng=seed)
    ok = res.reported
    assert np.all(res.lo[ok] <= res.scores[ok]) and np.all(res.scores[ok] <= res.hi[ok])
    assert np.all(res.rank_lo[ok] <= res.rank[ok]) and np.all(res.rank[ok] <= res.rank_hi[ok])
    assert np.all(np.isnan(res.reported_score[~ok]))
    compared = res.component >= 0
    assert np.all(res.lo[compared] <= res.hi[compared])


def test_nominal_95_percent_intervals_cover_the_true_scores_in_200_simulated_studies():
    """θ ~ N(0, 1), 24 sketches, ~40 comparisons each (a category of a small study)."""
    rng = np.random.default_rng(20261128)
    covered = total = 0
    rank_covered = 0
    for _ in range(200):
        theta = rng.normal(size=24)
        w, l_ = _simulate(rng, theta, 480)
        res = infer(24, w, l_, 0.1 / 24, n_boot=100, rng=rng)
        ok = res.reported
        truth = theta - theta.mean()  # one component: centred like the scores
        covered += int(((res.lo <= truth) & (truth <= res.hi))[ok].sum())
        true_rank = scipy.stats.rankdata(-theta, method="min")
        rank_covered += int(((res.rank_lo <= true_rank) & (true_rank <= res.rank_hi))[ok].sum())
        total += int(ok.sum())
    assert total > 0.9 * 200 * 24  # almost every sketch has enough evidence in this design
    assert 0.90 <= covered / total <= 0.98
    assert 0.90 <= rank_covered / total <= 1.0  # ranks are discrete: intervals are conservative


def test_an_unbeaten_sketch_after_one_comparison_gets_no_point_score():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=12)
    w, l_ = _simulate(rng, theta, 300)
    w = np.append(w, 12)  # sketch 12 won its only comparison
    l_ = np.append(l_, 3)
    res = infer(13, w, l_, 0.1 / 13, n_boot=80, rng=2)
    assert res.evidence[12] == "unbeaten"
    assert np.isnan(res.reported_score[12])
    assert res.evidence[:12].tolist().count("ok") >= 10


def test_few_comparisons_winless_and_never_compared_are_flagged():
    w = np.array([0, 1, 0, 1, 2, 0, 1, 3, 0, 2, 1, 2])
    l_ = np.array([1, 0, 2, 2, 0, 3, 3, 4, 2, 1, 2, 0])
    res = infer(6, w, l_, 0.1 / 6, n_boot=50, rng=3)
    assert res.evidence[4] == "winless"  # lost its only comparison
    assert res.evidence[5] == "never compared" and res.component[5] == -1 and res.rank[5] == 0
    assert res.evidence[3] == "few comparisons"  # 1 win, 2 losses
    assert res.summary()["evidence"]["never compared"] == 1


def test_scores_and_ranks_are_given_per_component():
    rng = np.random.default_rng(4)
    theta = rng.normal(size=20)
    w1, l1 = _simulate(rng, theta[:12], 300)  # items 0–11
    w2, l2 = _simulate(rng, theta[12:], 200)  # items 12–19 never meet 0–11
    res = infer(20, np.concatenate([w1, w2 + 12]), np.concatenate([l1, l2 + 12]), 0.005, n_boot=60, rng=5)
    assert res.n_components == 2 and res.component_sizes.tolist() == [12, 8]
    assert np.all(res.component[:12] == 0) and np.all(res.component[12:] == 1)
    assert abs(res.scores[:12].mean()) < 1e-9 and abs(res.scores[12:].mean()) < 1e-9
    assert sorted(res.rank[12:].tolist()) == list(range(1, 9))  # ranks restart in each component
    assert res.rank_hi[12:].max() <= 8


def test_bootstrap_replicates_are_the_exact_map_of_each_resample():
    """The batched inexact-Newton solver lands on the same estimator as a full Newton fit (to its
    tolerance, here 1e-4)."""
    for n_items, n_comp in [(30, 500), (600, 9000)]:  # small and sparse problems
        rng = np.random.default_rng(n_items)
        w, l_ = _simulate(rng, rng.normal(size=n_items), n_comp)
        pc = PairCounts.from_comparisons(n_items, w, l_)
        alpha = 0.1 / n_items
        theta_hat = bt.fit_fast(n_items, w, l_, alpha)
        samples, info = bootstrap_replicates(pc, alpha, theta_hat, 30, np.random.default_rng(7), tol=1e-4)
        assert info["n_newton_fallback"] == 0
        b = 0
        for n, k2 in replicate_counts(pc, 30, np.random.default_rng(7)):
            for col in range(n.shape[1]):
                k = 0.5 * k2[:, col].astype(float)
                exact, *_ = bt._newton(
                    n_items, pc.a, pc.b, n[:, col].astype(float), k, alpha, theta_hat, 1e-12, 100
                )
                assert np.abs(samples[b] - (exact - exact.mean())).max() < 1e-3
                b += 1
        assert b == 30


def test_the_batched_solver_finishes_messy_studies_without_the_exact_fallback():
    """Unbeaten items, items resampled to no comparison at all, wide score ranges: the step
    cap (MAX_STEP) and the halving safeguard keep every Newton iteration from flying off."""
    fallbacks = 0
    for seed in range(150):
        rng = np.random.default_rng(seed)
        n_items = int(rng.integers(3, 26))
        i, j = rng.integers(0, n_items, 80), rng.integers(0, n_items, 80)
        keep = i != j
        theta = rng.normal(scale=(0.5, 1.5, 4.0)[seed % 3], size=n_items)
        i, j = i[keep], j[keep]
        i_wins = rng.random(i.size) < 1 / (1 + np.exp(-(theta[i] - theta[j])))
        res = infer(
            n_items, np.where(i_wins, i, j), np.where(i_wins, j, i), 0.1 / n_items, n_boot=50, rng=seed
        )
        fallbacks += res.boot_info["n_newton_fallback"]
    assert fallbacks == 0


def test_replicates_the_batched_solver_cannot_finish_are_solved_exactly():
    rng = np.random.default_rng(4)
    w, l_ = _simulate(rng, rng.normal(scale=2.0, size=40), 300)
    pc = PairCounts.from_comparisons(40, w, l_)
    theta_hat = bt.fit_fast(40, w, l_, 0.0025)
    samples, info = bootstrap_replicates(
        pc, 0.0025, theta_hat, 30, np.random.default_rng(1), tol=1e-6, max_iter=1
    )
    assert info["n_newton_fallback"] == 30  # one Newton step is never enough to 1e-6
    b = 0
    for n, k2 in replicate_counts(pc, 30, np.random.default_rng(1)):
        for col in range(n.shape[1]):
            k = 0.5 * k2[:, col].astype(float)
            exact, *_ = bt._newton(40, pc.a, pc.b, n[:, col].astype(float), k, 0.0025, theta_hat, 1e-12, 100)
            assert np.abs(samples[b] - (exact - exact.mean())).max() < 1e-5
            b += 1


@pytest.mark.parametrize("design", ["distinct pairs", "planned pairs x 12 answers"])
def test_the_default_tolerance_gives_the_intervals_of_tightly_converged_replicates(design):
    """Replicates stop at a step ≤ TOL (≤ 0.2 standard errors): their percentile intervals match
    those of replicates solved exactly (float64 Newton to 1e-12) to ≤ 2% of the interval's width."""
    n_items = 120
    rng = np.random.default_rng(21)
    theta = rng.normal(size=n_items)
    if design == "distinct pairs":
        w, l_ = _simulate(rng, theta, 2400)
    else:
        i = rng.integers(0, n_items, 200)
        j = (i + rng.integers(1, n_items, 200)) % n_items
        i, j = np.repeat(i, 12), np.repeat(j, 12)
        i_wins = rng.random(i.size) < 1 / (1 + np.exp(-(theta[i] - theta[j])))
        w, l_ = np.where(i_wins, i, j), np.where(i_wins, j, i)
    pc = PairCounts.from_comparisons(n_items, w, l_)
    alpha = 0.1 / n_items
    theta_hat = bt.fit_fast(n_items, w, l_, alpha)
    fast, info = bootstrap_replicates(pc, alpha, theta_hat, 80, np.random.default_rng(3))
    assert 1e-3 < info["tol"] <= TOL and info["n_newton_fallback"] == 0
    exact = []
    for n, k2 in replicate_counts(pc, 80, np.random.default_rng(3)):
        for col in range(n.shape[1]):
            k = 0.5 * k2[:, col].astype(float)
            th, *_ = bt._newton(n_items, pc.a, pc.b, n[:, col].astype(float), k, alpha, theta_hat, 1e-12, 100)
            exact.append(th - th.mean())
    lo_f, hi_f = np.percentile(fast, [2.5, 97.5], axis=0)
    lo_e, hi_e = np.percentile(np.array(exact), [2.5, 97.5], axis=0)
    width = hi_e - lo_e
    assert np.all(np.abs(lo_f - lo_e) <= 0.02 * width)
    assert np.all(np.abs(hi_f - hi_e) <= 0.02 * width)


def test_huge_studies_are_solved_in_smaller_groups_of_replicates(monkeypatch):
    import analysis.bt_bootstrap as bb

    rng = np.random.default_rng(6)
    w, l_ = _simulate(rng, rng.normal(size=50), 600)
    pc = PairCounts.from_comparisons(50, w, l_)
    monkeypatch.setattr(bb, "GROUP_BYTES", 3 * pc.a.size * 6)  # room for 3 replicates
    sizes = [n.shape[1] for n, _ in replicate_counts(pc, 10, np.random.default_rng(2))]
    assert sizes == [3, 3, 3, 1]
    theta_hat = bt.fit_fast(50, w, l_, 0.002)
    samples, info = bootstrap_replicates(
        pc, 0.002, theta_hat, 10, np.random.default_rng(2), tol=1e-4, workers=2
    )
    assert samples.shape == (10, 50) and info["n_newton_fallback"] == 0
    n, k2 = next(replicate_counts(pc, 10, np.random.default_rng(2)))
    exact, *_ = bt._newton(
        50, pc.a, pc.b, n[:, 2].astype(float), 0.5 * k2[:, 2], 0.002, theta_hat, 1e-12, 100
    )
    assert np.abs(samples[2] - (exact - exact.mean())).max() < 1e-3


def test_the_bootstrap_does_not_depend_on_the_number_of_threads():
    rng = np.random.default_rng(8)
    w, l_ = _simulate(rng, rng.normal(size=40), 800)
    pc = PairCounts.from_comparisons(40, w, l_)
    one = infer_counts(pc, 0.0025, n_boot=40, rng=9, workers=1, keep_samples=True)
    two = infer_counts(pc, 0.0025, n_boot=40, rng=9, workers=2, keep_samples=True)
    np.testing.assert_array_equal(one.samples, two.samples)


def test_poisson_resampling_of_counts_has_the_poisson_distribution():
    rng = np.random.default_rng(10)
    ones = poisson_counts(rng, np.ones(200_000))
    observed = np.bincount(ones.astype(int), minlength=8)[:8]
    expected = scipy.stats.poisson.pmf(np.arange(8), 1.0) * ones.size
    assert (
        scipy.stats.chisquare(observed[:6], expected[:6] * observed[:6].sum() / expected[:6].sum()).pvalue
        > 1e-3
    )
    threes = poisson_counts(rng, np.full(100_000, 3.0))
    assert threes.mean() == pytest.approx(3.0, abs=0.03) and threes.var() == pytest.approx(3.0, abs=0.1)
    assert np.all(poisson_counts(rng, np.zeros(10)) == 0)


def test_aggregated_counts_are_the_sufficient_statistics():
    w = np.array([0, 0, 1, 2, 2, 0])
    l_ = np.array([1, 1, 0, 0, 0, 2])
    ties = np.array([False, False, False, False, True, False])
    rows = PairCounts.from_comparisons(3, w, l_, ties)
    agg = PairCounts.from_ordered(3, [0, 1, 2, 2, 0], [1, 0, 0, 0, 2], [2, 1, 1, 1, 1], [0, 0, 0, 1, 0])
    for name in ("a", "b", "wins_a", "wins_b", "ties"):
        np.testing.assert_array_equal(getattr(rows, name), getattr(agg, name))
    theta = bt.fit_fast(3, w, l_, 0.05, ties=ties)
    fitted = infer_counts(agg, 0.05, n_boot=0).scores
    np.testing.assert_allclose(fitted, theta - theta.mean(), atol=1e-8)


def test_bad_counts_get_a_clear_message():
    with pytest.raises(ValueError, match="non-negative integers"):
        PairCounts.from_ordered(3, [0], [1], [1.5])
    with pytest.raises(ValueError, match="itself"):
        PairCounts.from_ordered(3, [1], [1], [1])
    with pytest.raises(ValueError, match="alpha"):
        infer(3, np.array([0]), np.array([1]), 0.0)
