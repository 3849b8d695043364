"""Properties of studies.trial_lists: per-participant skeletons of regular, sentinel and duplicate trials."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from studies.sampling import InfeasiblePlan
from studies.trial_lists import (
    DUPLICATE,
    REGULAR,
    SENTINEL,
    TrialListSpec,
    build_trial_list,
    trial_list_rng,
)

FEW = settings(max_examples=40, deadline=None)


@st.composite
def feasible_configs(draw: st.DrawFn) -> tuple[int, int, int, int]:
    n_duplicates = draw(st.integers(0, 30))
    min_distance = draw(st.integers(1, 60))
    n_regular = draw(st.integers(n_duplicates + min_distance if n_duplicates else 0, 300))
    n_sentinels = draw(st.integers(0, 40))
    return n_regular, n_sentinels, n_duplicates, min_distance


def positions(spec: TrialListSpec, kind: int) -> np.ndarray:
    return np.flatnonzero(spec.kind == kind)


def stratum_of(found: np.ndarray, start: int, stop: int, n_strata: int) -> list[int]:
    """Which of ``n_strata`` equal strata of [start, stop) each position falls in."""
    bounds = start + (np.arange(n_strata + 1) * (stop - start)) // n_strata
    return (np.searchsorted(bounds, found, side="right") - 1).tolist()


def widest_stretch_without(found: np.ndarray, start: int, stop: int) -> int:
    """Longest run of positions in [start, stop) holding none of ``found``."""
    edges = np.concatenate([[start - 1], found, [stop]])
    return int(np.diff(edges).max() - 1)


@FEW
@given(config=feasible_configs(), seed=st.integers(0, 2**32))
def test_a_list_holds_the_planned_number_of_each_kind_of_trial(
    config: tuple[int, int, int, int], seed: int
) -> None:
    n_regular, n_sentinels, n_duplicates, min_distance = config
    spec = build_trial_list(*config, rng=np.random.default_rng(seed))
    assert len(spec) == spec.slot.size == spec.swap.size == n_regular + n_sentinels + n_duplicates
    assert np.bincount(spec.kind, minlength=3).tolist() == [n_regular, n_sentinels, n_duplicates]
    assert spec.slot[positions(spec, REGULAR)].tolist() == list(range(n_regular))
    assert spec.slot[positions(spec, SENTINEL)].tolist() == list(range(n_sentinels))


@FEW
@given(config=feasible_configs(), seed=st.integers(0, 2**32))
def test_each_duplicate_repeats_a_distinct_regular_trial_at_least_min_distance_earlier(
    config: tuple[int, int, int, int], seed: int
) -> None:
    min_distance = config[3]
    spec = build_trial_list(*config, rng=np.random.default_rng(seed))
    duplicates = positions(spec, DUPLICATE)
    originals = spec.slot[duplicates]
    assert np.all(spec.kind[originals] == REGULAR)
    assert np.all(duplicates - originals >= min_distance)
    assert np.unique(originals).size == originals.size
    assert np.all(spec.swap[duplicates] != spec.swap[originals])


@FEW
@given(config=feasible_configs(), seed=st.integers(0, 2**32))
def test_sentinels_are_one_per_stratum_and_never_far_apart(
    config: tuple[int, int, int, int], seed: int
) -> None:
    n_sentinels = config[1]
    assume(n_sentinels > 0)
    spec = build_trial_list(*config, rng=np.random.default_rng(seed))
    n_trials = len(spec)
    sentinels = positions(spec, SENTINEL)
    assert stratum_of(sentinels, 0, n_trials, n_sentinels) == list(range(n_sentinels))
    assert np.all(np.diff(sentinels) <= 2 * n_trials / n_sentinels)


@FEW
@given(config=feasible_configs(), seed=st.integers(0, 2**32))
def test_duplicates_are_one_per_stratum_of_the_non_sentinel_trials_after_min_distance(
    config: tuple[int, int, int, int], seed: int
) -> None:
    _, _, n_duplicates, min_distance = config
    assume(n_duplicates > 0)
    spec = build_trial_list(*config, rng=np.random.default_rng(seed))
    non_sentinel = np.flatnonzero(spec.kind != SENTINEL)
    numbers = np.flatnonzero(spec.kind[non_sentinel] == DUPLICATE)
    strata = stratum_of(numbers, min_distance, non_sentinel.size, n_duplicates)
    assert strata == list(range(n_duplicates))


def test_the_paper_configuration_spreads_sentinels_and_duplicates_through_the_list() -> None:
    for participant in range(20):
        spec = build_trial_list(920, 40, 40, 100, trial_list_rng(7, participant))
        assert widest_stretch_without(positions(spec, SENTINEL), 0, 1000) < 2 * 1000 / 40
        assert widest_stretch_without(positions(spec, DUPLICATE), 100, 1000) < 2 * 1000 / 40


@FEW
@given(config=feasible_configs(), seed=st.integers(0, 2**31), participant=st.integers(0, 500))
def test_the_same_seed_and_participant_give_the_same_list(
    config: tuple[int, int, int, int], seed: int, participant: int
) -> None:
    first = build_trial_list(*config, rng=trial_list_rng(seed, participant))
    again = build_trial_list(*config, rng=trial_list_rng(seed, participant))
    for name in ("kind", "slot", "swap"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))


def test_another_participant_or_seed_gets_a_different_list() -> None:
    config = (920, 40, 40, 100)
    base = build_trial_list(*config, rng=trial_list_rng(7, 0))
    for other in (trial_list_rng(7, 1), trial_list_rng(8, 0)):
        spec = build_trial_list(*config, rng=other)
        assert not np.array_equal(base.kind, spec.kind)
        assert not np.array_equal(base.swap, spec.swap)


def test_duplicates_keep_their_own_coin_when_side_swapping_is_off() -> None:
    same_side = [
        np.mean(spec.swap[d] == spec.swap[spec.slot[d]])
        for spec in (
            build_trial_list(500, 0, 40, 50, np.random.default_rng(seed), swap_duplicates=False)
            for seed in range(10)
        )
        for d in [positions(spec, DUPLICATE)]
    ]
    assert 0.3 < np.mean(same_side) < 0.7


@pytest.mark.parametrize(
    ("config", "needed", "short"),
    [((10, 0, 5, 8), 13, 3), ((0, 5, 1, 1), 2, 2), ((50, 10, 40, 100), 140, 90)],
)
def test_it_refuses_duplicates_without_enough_regular_trials_and_says_by_how_much(
    config: tuple[int, int, int, int], needed: int, short: int
) -> None:
    with pytest.raises(InfeasiblePlan, match=rf"at least {needed} regular trials.*short by {short}\)"):
        build_trial_list(*config, rng=np.random.default_rng(0))


def test_a_list_without_sentinels_or_duplicates_is_all_regular_trials() -> None:
    spec = build_trial_list(12, 0, 0, 5, np.random.default_rng(0))
    assert spec.kind.tolist() == [REGULAR] * 12 and spec.slot.tolist() == list(range(12))
    assert len(build_trial_list(0, 0, 0, 1, np.random.default_rng(0))) == 0
