import choix
import numpy as np
import pytest
import scipy.stats

from analysis import plackett_luce as pl


def _simulate(theta, n_choices, k, rng):
    offered = np.stack([rng.choice(theta.size, k, replace=False) for _ in range(n_choices)])
    logits = theta[offered]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    cols = (rng.random(n_choices)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return offered, offered[np.arange(n_choices), cols]


def test_it_recovers_known_scores_from_top1_choices():
    rng = np.random.default_rng(0)
    theta = rng.normal(0, 1, 30)
    offered, winners = _simulate(theta, 20000, 3, rng)
    est = pl.fit(30, pl.as_choices(offered, winners), alpha=1e-3)
    assert scipy.stats.kendalltau(est, theta).statistic > 0.85
    assert np.max(np.abs(est - (theta - theta.mean()))) < 0.25


def test_it_matches_choix_opt_top1_on_the_same_data():
    rng = np.random.default_rng(1)
    theta = rng.normal(0, 1, 12)
    offered, winners = _simulate(theta, 600, 4, rng)
    data = [(int(w), tuple(int(x) for x in row if x != w)) for row, w in zip(offered, winners)]
    ref = choix.opt_top1(12, data, alpha=0.05, tol=1e-10)
    ours = pl.fit(12, pl.as_choices(offered, winners), alpha=0.05)
    assert np.allclose(ours, ref - ref.mean(), atol=1e-4)


def test_intervals_cover_the_truth_for_most_items_and_flag_little_evidence():
    rng = np.random.default_rng(2)
    theta = np.linspace(-1.5, 1.5, 10)
    offered, winners = _simulate(theta, 3000, 3, rng)
    # item 10 is offered but never chosen, item 11 never offered
    extra = np.array([[10, 0, 1]] * 5)
    offered = np.vstack([offered, extra])
    winners = np.concatenate([winners, [0] * 5])
    res = pl.rank(12, pl.as_choices(offered, winners), np.random.default_rng(3), n_boot=60)
    assert res.evidence[10] == "winless" and np.isnan(res.score[10])
    assert res.evidence[11] == "never compared"
    covered = (res.lo[:10] <= theta - theta.mean() + 0.1) & (theta - theta.mean() - 0.1 <= res.hi[:10])
    assert covered.sum() >= 8
    assert np.all(res.lo <= res.hi)


def test_a_chosen_item_outside_its_set_is_refused():
    with pytest.raises(ValueError, match="offered exactly once"):
        pl.as_choices([[0, 1, 2]], [5])


def test_agreement_with_q_counts_the_highest_q_as_agreeing():
    q = np.array([[0.1, 0.9, 0.5], [0.7, 0.2, np.nan]])
    assert pl.agreement_with_q(q, [1, 1]).tolist() == [True, False]
