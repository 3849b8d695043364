import numpy as np
import pytest

from studies import set_sampling
from studies.sampling import InfeasiblePlan, level_edges


def _q(n=300, seed=0):
    return np.random.default_rng(seed).random(n)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_balanced_sets_fill_every_level_with_their_largest_gap(k):
    q, edges = _q(), level_edges(5)
    plan = set_sampling.plan_sets(q, 100, k, edges, "balanced", np.random.default_rng(1))
    assert plan.members.shape == (100, k)
    assert plan.counts.tolist() == [20] * 5 == plan.requested.tolist()
    span = q.max() - q.min()
    sets = q[plan.members]
    largest = (sets.max(axis=1) - sets.min(axis=1)) / span
    assert np.allclose(largest, plan.gap)
    for level in range(5):
        gaps = plan.gap[plan.level == level]
        assert np.all(gaps <= edges[level + 1] + 1e-12)
        assert np.all(gaps > edges[level]) or level == 0


def test_sets_hold_distinct_sketches_and_no_set_repeats():
    plan = set_sampling.plan_sets(_q(), 200, 4, level_edges(4), "balanced", np.random.default_rng(2))
    assert all(len(set(row)) == 4 for row in plan.members.tolist())
    assert len({tuple(row) for row in plan.members.tolist()}) == 200


def test_the_same_seed_gives_the_same_sets_and_another_seed_others():
    q, edges = _q(), level_edges(4)
    a = set_sampling.plan_sets(q, 40, 3, edges, "balanced", np.random.default_rng(5))
    b = set_sampling.plan_sets(q, 40, 3, edges, "balanced", np.random.default_rng(5))
    c = set_sampling.plan_sets(q, 40, 3, edges, "balanced", np.random.default_rng(6))
    assert np.array_equal(a.members, b.members)
    assert not np.array_equal(a.members, c.members)


def test_natural_sets_are_binned_after_drawing():
    plan = set_sampling.plan_sets(_q(), 500, 3, level_edges(10), "natural", np.random.default_rng(3))
    assert plan.counts.sum() == 500
    assert np.array_equal(plan.counts, plan.requested)
    # three uniform draws rarely span less than a tenth of the range
    assert plan.counts[0] < 50


def test_a_level_without_enough_sets_says_what_is_short():
    q = np.array([0.0, 0.01, 0.02, 1.0])  # no set of 3 has a gap in (0.25, 0.75]
    with pytest.raises(InfeasiblePlan, match="short by"):
        set_sampling.plan_sets(q, 8, 3, level_edges(4), "balanced", np.random.default_rng(0))


def test_k_outside_two_to_four_is_refused():
    with pytest.raises(ValueError, match="between 2 and 4"):
        set_sampling.plan_sets(_q(), 10, 5, level_edges(2), "balanced", np.random.default_rng(0))


def test_singles_spread_evenly_over_q_without_repeats():
    q = np.random.default_rng(0).beta(5, 2, 2000)  # skewed: most sketches score high
    plan = set_sampling.plan_singles(q, 100, 5, np.random.default_rng(1))
    assert len(set(plan.index.tolist())) == 100
    assert plan.counts.tolist() == [20] * 5
    # evenly spread over q, unlike the skewed pool: a fifth in the lowest bin of q
    lo, hi = q.min(), q.max()
    assert np.mean(q[plan.index] < lo + (hi - lo) / 5) == pytest.approx(0.2)


def test_too_many_singles_for_the_pool_is_refused():
    with pytest.raises(InfeasiblePlan, match="short by 5"):
        set_sampling.plan_singles(np.arange(10.0), 15, 2, np.random.default_rng(0))
