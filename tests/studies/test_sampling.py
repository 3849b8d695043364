"""Properties of studies.sampling: levels, candidate counts, pair plans and sentinels."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studies.sampling import (
    InfeasiblePlan,
    assign_levels,
    balanced_quotas,
    count_candidates_per_level,
    level_edges,
    normalised_gaps,
    plan_pairs,
    sentinel_candidates,
)

FEW = settings(max_examples=40, deadline=None)

# Integer grids produce gaps that land exactly on the edges; floats cover the rest.
grid_scores = st.lists(st.integers(0, 20), min_size=2, max_size=40).map(
    lambda values: np.array(values, dtype=float) / 20
)
float_scores = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=2, max_size=40
).map(np.array)
scores = st.one_of(grid_scores, float_scores).filter(lambda q: np.ptp(q) > 0)
n_levels = st.integers(1, 12)


def brute_force_counts(q: np.ndarray, edges: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(q.size, k=1)
    return np.bincount(assign_levels(normalised_gaps(q, i, j), edges), minlength=edges.size - 1)


def shortfalls(message: str) -> list[int]:
    return [int(n) for n in re.findall(r"short by (\d+)", message)]


def test_level_edges_split_the_unit_interval_into_equal_widths() -> None:
    edges = level_edges(10)
    assert edges[0] == 0.0 and edges[-1] == 1.0 and edges.size == 11
    np.testing.assert_allclose(np.diff(edges), 0.1)


def test_levels_are_closed_at_zero_and_on_the_right() -> None:
    edges = level_edges(10)
    gaps = np.array([0.0, edges[1], np.nextafter(edges[1], 1), edges[5], 1.0])
    assert assign_levels(gaps, edges).tolist() == [0, 0, 1, 4, 9]


def test_it_refuses_to_normalise_scores_that_are_all_equal() -> None:
    with pytest.raises(InfeasiblePlan, match="score range is 0"):
        normalised_gaps(np.full(5, 0.3), [0], [1])


def test_remainder_of_a_balanced_plan_goes_to_the_lowest_levels() -> None:
    assert balanced_quotas(23, 10).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]


@FEW
@given(q=scores, levels=n_levels)
def test_candidate_counts_match_a_brute_force_count(q: np.ndarray, levels: int) -> None:
    edges = level_edges(levels)
    np.testing.assert_array_equal(count_candidates_per_level(q, edges), brute_force_counts(q, edges))


@FEW
@given(q=scores, levels=n_levels, n_pairs=st.integers(0, 300), seed=st.integers(0, 2**32))
def test_a_balanced_plan_meets_every_quota_exactly_or_names_each_shortfall(
    q: np.ndarray, levels: int, n_pairs: int, seed: int
) -> None:
    edges = level_edges(levels)
    quotas = balanced_quotas(n_pairs, levels)
    available = count_candidates_per_level(q, edges)
    short = np.flatnonzero(quotas > available)
    if short.size:
        with pytest.raises(InfeasiblePlan) as raised:
            plan_pairs(q, n_pairs, edges, "balanced", np.random.default_rng(seed))
        assert shortfalls(str(raised.value)) == (quotas - available)[short].tolist()
        for level in short:
            assert f"level {level} " in str(raised.value)
        return
    plan = plan_pairs(q, n_pairs, edges, "balanced", np.random.default_rng(seed))
    np.testing.assert_array_equal(plan.counts, quotas)
    np.testing.assert_array_equal(plan.requested, quotas)
    np.testing.assert_array_equal(np.bincount(plan.level, minlength=levels), quotas)


@FEW
@given(
    q=scores,
    levels=n_levels,
    n_pairs=st.integers(0, 60),
    mode=st.sampled_from(["balanced", "natural"]),
    seed=st.integers(0, 2**32),
)
def test_plans_have_no_self_pair_no_repeated_pair_and_gaps_inside_their_level(
    q: np.ndarray, levels: int, n_pairs: int, mode: str, seed: int
) -> None:
    edges = level_edges(levels)
    try:
        plan = plan_pairs(q, n_pairs, edges, mode, np.random.default_rng(seed))  # type: ignore[arg-type]
    except InfeasiblePlan:
        return
    assert len(plan) == n_pairs
    assert np.all(plan.i < plan.j)
    assert np.unique(plan.i * q.size + plan.j).size == n_pairs
    np.testing.assert_array_equal(plan.gap, normalised_gaps(q, plan.i, plan.j))
    np.testing.assert_array_equal(plan.level, assign_levels(plan.gap, edges))
    lower, upper = edges[plan.level], edges[plan.level + 1]
    assert np.all((plan.gap > lower) | ((plan.level == 0) & (plan.gap == 0.0)))
    assert np.all(plan.gap <= upper)


@FEW
@given(q=scores, mode=st.sampled_from(["balanced", "natural"]), seed=st.integers(0, 2**32))
def test_the_same_seed_gives_the_same_plan_bit_for_bit(q: np.ndarray, mode: str, seed: int) -> None:
    edges = level_edges(1)
    n_pairs = min(q.size * (q.size - 1) // 2, 30)
    first = plan_pairs(q, n_pairs, edges, mode, np.random.default_rng(seed))  # type: ignore[arg-type]
    again = plan_pairs(q, n_pairs, edges, mode, np.random.default_rng(seed))  # type: ignore[arg-type]
    for name in ("i", "j", "level", "gap", "counts", "requested"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))


@pytest.mark.parametrize("mode", ["balanced", "natural"])
def test_a_different_seed_gives_a_different_plan(mode: str) -> None:
    q = np.random.default_rng(0).random(200)
    one = plan_pairs(q, 500, level_edges(10), mode, np.random.default_rng(1))  # type: ignore[arg-type]
    two = plan_pairs(q, 500, level_edges(10), mode, np.random.default_rng(2))  # type: ignore[arg-type]
    assert not np.array_equal(one.i * 200 + one.j, two.i * 200 + two.j)


def test_a_balanced_level_is_sampled_uniformly_among_its_pairs() -> None:
    q = np.array([0.0, 0.1, 0.15, 0.6, 1.0])  # anchors have 4, 3, 2 and 1 partners
    tally = Counter(
        (int(p.i[0]), int(p.j[0]))
        for p in (
            plan_pairs(q, 1, level_edges(1), "balanced", np.random.default_rng(seed)) for seed in range(2000)
        )
    )
    assert len(tally) == 10
    assert all(140 <= count <= 260 for count in tally.values())


@FEW
@given(q=scores, levels=n_levels, seed=st.integers(0, 2**32))
def test_natural_counts_are_the_bins_of_the_drawn_gaps(q: np.ndarray, levels: int, seed: int) -> None:
    edges = level_edges(levels)
    n_pairs = q.size * (q.size - 1) // 4
    plan = plan_pairs(q, n_pairs, edges, "natural", np.random.default_rng(seed))
    expected = np.bincount(assign_levels(plan.gap, edges), minlength=levels)
    np.testing.assert_array_equal(plan.counts, expected)
    np.testing.assert_array_equal(plan.requested, plan.counts)


def test_natural_mode_can_take_every_pair_and_no_more() -> None:
    q = np.linspace(0, 1, 6)
    everything = plan_pairs(q, 15, level_edges(5), "natural", np.random.default_rng(0))
    np.testing.assert_array_equal(everything.counts, count_candidates_per_level(q, level_edges(5)))
    with pytest.raises(InfeasiblePlan, match=r"needs 16 .* only 15 .*short by 1"):
        plan_pairs(q, 16, level_edges(5), "natural", np.random.default_rng(0))


def test_it_refuses_a_level_with_too_few_candidates_and_says_by_how_much() -> None:
    q = np.linspace(0, 1, 30)  # levels 0..9 hold 57, 78, 69, 60, 51, 42, 33, 24, 15, 6 pairs
    with pytest.raises(InfeasiblePlan) as raised:
        plan_pairs(q, 100, level_edges(10), "balanced", np.random.default_rng(0))
    assert str(raised.value) == (
        "level 9 (0.9, 1]: needs 10 pairs, only 6 candidate pairs exist (short by 4)"
    )


@pytest.mark.parametrize("q", [np.array([0.4]), np.array([], dtype=float)])
def test_it_refuses_to_plan_with_fewer_than_two_sketches(q: np.ndarray) -> None:
    with pytest.raises(InfeasiblePlan, match="at least 2 sketches"):
        plan_pairs(q, 1, level_edges(10), "natural", np.random.default_rng(0))


def test_a_large_plan_enumerates_nothing_quadratic() -> None:
    q = np.random.default_rng(0).random(20_000)  # 2 * 10^8 pairs would not fit in memory
    plan = plan_pairs(q, 10_000, level_edges(10), "balanced", np.random.default_rng(1))
    assert plan.counts.tolist() == [1000] * 10


def agreeing_scores(n_sketches: int, n_methods: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ranks = rng.permutation(n_sketches).astype(float)  # noise below 1 keeps every ranking equal
    return ranks[:, None] + 0.5 * rng.random((n_sketches, n_methods))


@FEW
@given(n=st.integers(0, 40), seed=st.integers(0, 2**32))
def test_sentinels_pair_a_top_sketch_with_a_bottom_sketch_under_every_method(n: int, seed: int) -> None:
    q = agreeing_scores(60, 4, seed)
    better, worse = sentinel_candidates(q, n, 0.2, np.random.default_rng(seed))
    assert better.size == worse.size == n
    assert np.unique(better * 60 + worse).size == n
    assert np.all(q[better] >= np.quantile(q, 0.8, axis=0))
    assert np.all(q[worse] <= np.quantile(q, 0.2, axis=0))


def test_sentinels_prefer_the_largest_margins_and_spread_over_sketches() -> None:
    q = agreeing_scores(100, 3, seed=0)
    better, worse = sentinel_candidates(q, 20, 0.2, np.random.default_rng(0))
    margins = ((q[better] - q[worse]) / np.ptp(q, axis=0)).min(axis=1)
    assert np.all(np.diff(margins) <= 0)
    assert max(Counter(better.tolist()).values()) == 1  # 20 pairs, 20 top sketches
    assert max(Counter(worse.tolist()).values()) == 1


def test_it_refuses_more_sentinels_than_agreeing_pairs_and_says_by_how_much() -> None:
    q = agreeing_scores(10, 2, seed=0)  # 2 top x 2 bottom sketches = 4 candidate pairs
    with pytest.raises(InfeasiblePlan, match=r"needs 5 pairs, only 4 .*short by 1"):
        sentinel_candidates(q, 5, 0.2, np.random.default_rng(0))
