"""Trial lists drawn through the database keep the planned rates and spread, for any participant."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studies.actions import do_draw_trial_list, do_freeze_plan
from tests.factories import make_scored_study

FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Rollback(Exception):
    pass


def draw_and_roll_back(study, index):
    """Draw a list, then undo the hand-out, so every example sees the same pool."""
    try:
        with transaction.atomic():
            trials = do_draw_trial_list(study, index)
            raise Rollback
    except Rollback:
        return trials


@pytest.fixture
def long_lists(db):
    study = make_scored_study(
        trials_per_participant=120,
        sentinels_per_participant=8,
        duplicates_per_participant=8,
        min_duplicate_distance=20,
    )
    do_freeze_plan(study)
    return study


def one_per_stratum(found: list[int], start: int, stop: int, n: int) -> bool:
    bounds = start + (np.arange(n + 1) * (stop - start)) // n
    strata = (np.searchsorted(bounds, found, side="right") - 1).tolist()
    return sorted(strata) == list(range(n))


@FEW
@given(index=st.integers(0, 10**9))
def test_sentinels_and_duplicates_come_at_the_planned_rate_spread_through_the_list(long_lists, index):
    study = long_lists
    trials = draw_and_roll_back(study, index)
    kinds = [t.kind for t in trials]
    n = study.trials_per_participant
    sentinels = [t.position for t in trials if t.kind == "sentinel"]
    assert len(sentinels) == study.sentinels_per_participant
    assert one_per_stratum(sentinels, 0, n, len(sentinels))
    non_sentinel = [p for p, k in enumerate(kinds) if k != "sentinel"]
    duplicates = [non_sentinel.index(t.position) for t in trials if t.kind == "duplicate"]
    assert len(duplicates) == study.duplicates_per_participant
    assert one_per_stratum(duplicates, study.min_duplicate_distance, len(non_sentinel), len(duplicates))
    for t in trials:
        if t.kind == "duplicate":
            assert t.position - t.duplicate_of_position >= study.min_duplicate_distance


@FEW
@given(index=st.integers(0, 10**9))
def test_a_participants_skeleton_and_sentinels_depend_only_on_seed_and_index(long_lists, index):
    first = draw_and_roll_back(long_lists, index)
    again = draw_and_roll_back(long_lists, index)
    assert first == again
