"""do_draw_trial_list / draw_practice_trials / do_release_planned_pairs: the contract the annotation app uses."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from studies.actions import (
    StudyConfigError,
    do_draw_trial_list,
    do_freeze_plan,
    do_release_planned_pairs,
    draw_practice_trials,
)
from studies.models import GoldPair, PlannedPair
from tests.factories import make_scored_study


@pytest.fixture
def frozen_study(db):
    study = make_scored_study()
    do_freeze_plan(study)
    return study


def draw(study, index):
    with transaction.atomic():
        return do_draw_trial_list(study, index)


def test_a_list_has_every_position_once_with_the_planned_number_of_each_kind(frozen_study):
    trials = draw(frozen_study, 0)
    assert [t.position for t in trials] == list(range(frozen_study.trials_per_participant))
    kinds = Counter(t.kind for t in trials)
    assert kinds == {
        "regular": frozen_study.regular_trials_per_participant,
        "sentinel": frozen_study.sentinels_per_participant,
        "duplicate": frozen_study.duplicates_per_participant,
    }


def test_regular_trials_carry_distinct_planned_pairs_of_the_study_shown_as_stored(frozen_study):
    trials = draw(frozen_study, 0)
    regular = [t for t in trials if t.kind == "regular"]
    assert len({t.planned_pair_id for t in regular}) == len(regular)
    pairs = PlannedPair.objects.in_bulk([t.planned_pair_id for t in regular])
    for t in regular:
        pair = pairs[t.planned_pair_id]
        assert pair.study_id == frozen_study.pk
        assert {t.left_sketch_id, t.right_sketch_id} == {pair.sketch_a_id, pair.sketch_b_id}
        assert t.gold_pair_id is None and t.duplicate_of_position is None
    assert {t.left_sketch_id == pairs[t.planned_pair_id].sketch_a_id for t in regular} == {True, False}


def test_a_duplicate_repeats_an_earlier_regular_trial_far_enough_back_with_sides_swapped(frozen_study):
    trials = draw(frozen_study, 3)
    duplicates = [t for t in trials if t.kind == "duplicate"]
    assert duplicates
    for dup in duplicates:
        original = trials[dup.duplicate_of_position]
        assert original.kind == "regular"
        assert dup.position - original.position >= frozen_study.min_duplicate_distance
        assert dup.planned_pair_id == original.planned_pair_id
        assert (dup.left_sketch_id, dup.right_sketch_id) == (
            original.right_sketch_id,
            original.left_sketch_id,
        )
    assert len({d.duplicate_of_position for d in duplicates}) == len(duplicates)


def test_sentinels_are_distinct_gold_pairs_placed_on_both_sides(frozen_study):
    seen_better_on_left = set()
    for index in range(4):
        sentinels = [t for t in draw(frozen_study, index) if t.kind == "sentinel"]
        gold = GoldPair.objects.in_bulk([t.gold_pair_id for t in sentinels])
        assert len(gold) == len(sentinels) == frozen_study.sentinels_per_participant
        for t in sentinels:
            g = gold[t.gold_pair_id]
            assert g.study_id == frozen_study.pk and t.planned_pair_id is None
            assert {t.left_sketch_id, t.right_sketch_id} == {g.better_id, g.worse_id}
            seen_better_on_left.add(t.left_sketch_id == g.better_id)
    assert seen_better_on_left == {True, False}


def test_every_planned_pair_is_handed_out_once_before_any_is_handed_out_twice(frozen_study):
    n_pairs = PlannedPair.objects.filter(study=frozen_study).count()
    per_participant = frozen_study.regular_trials_per_participant
    handed: Counter[int] = Counter()
    for index in range(n_pairs // per_participant + 2):
        handed.update(t.planned_pair_id for t in draw(frozen_study, index) if t.kind == "regular")
        if sum(handed.values()) <= n_pairs:
            assert max(handed.values()) == 1
        counts = list(PlannedPair.objects.filter(study=frozen_study).values_list("times_assigned", flat=True))
        assert max(counts) - min(counts) <= 1
    stored = dict(PlannedPair.objects.filter(study=frozen_study).values_list("pk", "times_assigned"))
    assert all(stored[pk] == n for pk, n in handed.items())


def test_the_same_seed_gives_the_same_lists_through_the_database(db):
    first = make_scored_study("first-copy")
    second = make_scored_study("second-copy")
    do_freeze_plan(first)
    do_freeze_plan(second)

    def sketches(study, index):
        return [
            (t.position, t.kind, t.left_sketch_id, t.right_sketch_id, t.duplicate_of_position)
            for t in draw(study, index)
        ]

    for index in range(3):
        assert sketches(first, index) == sketches(second, index)
    assert sketches(first, 3) != sketches(first, 4)


def test_released_pairs_go_to_the_next_participant_first(frozen_study):
    first = [t.planned_pair_id for t in draw(frozen_study, 0) if t.kind == "regular"]
    assert do_release_planned_pairs(first) == len(first)
    again = [t.planned_pair_id for t in draw(frozen_study, 1) if t.kind == "regular"]
    assert set(again) == set(first)
    assert do_release_planned_pairs([]) == 0


def test_releasing_never_takes_a_count_below_zero(frozen_study):
    ids = list(PlannedPair.objects.filter(study=frozen_study).values_list("pk", flat=True)[:3])
    assert do_release_planned_pairs(ids) == 0
    assert set(PlannedPair.objects.filter(pk__in=ids).values_list("times_assigned", flat=True)) == {0}


def test_a_failed_transaction_hands_nothing_out(frozen_study):
    with pytest.raises(RuntimeError), transaction.atomic():
        do_draw_trial_list(frozen_study, 0)
        raise RuntimeError("storing the trials failed")
    assert not PlannedPair.objects.filter(study=frozen_study, times_assigned__gt=0).exists()


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_hand_out_pairs_outside_a_transaction(frozen_study):
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        do_draw_trial_list(frozen_study, 0)


def test_a_study_without_a_frozen_plan_gives_no_list(db):
    study = make_scored_study()
    with pytest.raises(StudyConfigError) as refused:
        draw(study, 0)
    assert any("not frozen" in m for m in refused.value.messages)


def test_practice_trials_have_known_answers_and_never_reuse_the_participants_sentinels(frozen_study):
    practice = draw_practice_trials(frozen_study, 2)
    assert len(practice) == frozen_study.practice_trials
    sentinel_gold = {t.gold_pair_id for t in draw(frozen_study, 2) if t.kind == "sentinel"}
    sentinel_pairs = {
        frozenset((g.better_id, g.worse_id)) for g in GoldPair.objects.filter(pk__in=sentinel_gold)
    }
    for p in practice:
        assert p.better_sketch_id in (p.left_sketch_id, p.right_sketch_id)
        assert frozenset((p.left_sketch_id, p.right_sketch_id)) not in sentinel_pairs
        assert GoldPair.objects.filter(study=frozen_study, better_id=p.better_sketch_id).exists()
    assert draw_practice_trials(frozen_study, 2) == practice
