"""The seed registry: distinct keys for every purpose, and old studies re-drawing bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from studies import planning, sampling, seeds, trial_lists
from studies.actions import do_draw_trial_list, do_freeze_plan, draw_practice_trials
from studies.models import GoldPair, PlannedPair
from tests.factories import make_scored_study

UINT64 = st.integers(min_value=0, max_value=2**64 - 1)
SMALL = st.integers(min_value=0, max_value=300)  # where the old scheme's lists collided
VALUES = st.one_of(SMALL, UINT64)


@st.composite
def streams(draw):
    purpose = draw(st.sampled_from(sorted(seeds.PURPOSES)))
    index = tuple(draw(VALUES) for _ in seeds.PURPOSES[purpose].indices)
    return purpose, draw(VALUES), index


@given(streams(), streams())
def test_no_two_purposes_or_indices_share_a_key(first, second):
    if first == second:
        return
    keys = [seeds.key(seeds.CURRENT, purpose, seed, *index) for purpose, seed, index in (first, second)]
    assert keys[0] != keys[1]
    assert len(keys[0]) == 3 + 2 * len(first[2])  # fixed slots: the tag is always word 2
    assert all(0 <= word < 2**32 for word in keys[0])
    assert np.trim_zeros(np.array(keys[0], dtype=np.uint64), "b").tolist() != (
        np.trim_zeros(np.array(keys[1], dtype=np.uint64), "b").tolist()
    )


@given(st.sampled_from(sorted(seeds.PURPOSES)), st.sampled_from(sorted(seeds.PURPOSES)), SMALL, SMALL)
def test_streams_of_different_purposes_differ_for_the_same_seed_and_index(one, other, seed, index):
    if one == other:
        return
    draws = [
        seeds.rng(seeds.CURRENT, p, seed, *([index] * len(seeds.PURPOSES[p].indices))).integers(2**63, size=4)
        for p in (one, other)
    ]
    assert not np.array_equal(draws[0], draws[1])


def test_the_tags_are_distinct_and_non_zero():
    tags = [p.tag for p in seeds.PURPOSES.values()]
    assert len(set(tags)) == len(tags) and 0 not in tags
    assert all(0 < tag < 2**32 for tag in tags)


def test_the_old_scheme_keys_are_the_bare_lists_and_collide_where_the_new_ones_do_not():
    old = seeds.LEGACY
    assert seeds.key(old, "plan_cell", 9, 4, 5) == [9, 0, 4, 5]
    assert seeds.key(old, "handout_order", 9) == [9, 1]
    assert seeds.key(old, "auto_gold", 9, 4) == [9, 2, 4]
    assert seeds.key(old, "trial_list", 9, 3) == [9, 3]
    assert seeds.key(old, "participant_gold", 9, 3) == [9, 3, 1]
    assert seeds.key(old, "practice_sides", 9, 3) == [9, 3, 1, 1]
    assert seeds.key(old, "report_agreement", 9) == [9, 101]
    assert seeds.key(old, "report_ranking", 9, 4) == [9, 102, 4]
    # the collisions issue 17 found: participant 1 and the hand-out order, participant 101 and the bootstrap
    assert seeds.key(old, "trial_list", 9, 1) == seeds.key(old, "handout_order", 9)
    assert seeds.key(old, "trial_list", 9, 101) == seeds.key(old, "report_agreement", 9)
    new = seeds.TAGGED
    assert seeds.key(new, "trial_list", 9, 1) != seeds.key(new, "handout_order", 9)
    assert seeds.key(new, "trial_list", 9, 101) != seeds.key(new, "report_agreement", 9)


def test_a_seed_above_32_bits_keeps_the_tag_in_its_slot():
    big = 2**40 + 7
    assert seeds.key(seeds.TAGGED, "handout_order", big)[:3] == [7, 2**8, seeds.PURPOSES["handout_order"].tag]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((seeds.CURRENT, "lunch", 1), "unknown seed purpose 'lunch'"),
        ((seeds.CURRENT, "trial_list", 1), "trial_list takes 1 indices (participant_index), got 0"),
        ((seeds.CURRENT, "trial_list", 1, -2), "must be integers in [0, 2**64)"),
        ((7, "trial_list", 1, 2), "unknown seed scheme 7"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(args, message):
    with pytest.raises(ValueError) as error:
        seeds.key(*args)
    assert message in str(error.value)


def test_a_study_draws_with_the_current_scheme_until_frozen_then_with_the_recorded_one():
    assert seeds.scheme_of({}, frozen=False) == seeds.CURRENT
    assert seeds.scheme_of({"total_pairs": 3}, frozen=True) == seeds.LEGACY  # frozen before the registry
    assert seeds.scheme_of({"seed_scheme": 2}, frozen=True) == 2


def test_a_new_plan_records_its_seed_scheme(db):
    study = make_scored_study()
    assert planning.preview_plan(study)["seed_scheme"] == seeds.CURRENT
    assert do_freeze_plan(study)["seed_scheme"] == seeds.CURRENT
    assert study.seed_scheme == seeds.CURRENT


@pytest.fixture
def old_study(db, monkeypatch):
    """A study frozen as the code before the registry froze it: old keys, no ``seed_scheme``."""
    study = make_scored_study()
    with monkeypatch.context() as patch:
        patch.setattr(seeds, "CURRENT", seeds.LEGACY)
        do_freeze_plan(study)
    study.plan_summary.pop("seed_scheme")
    study.save(update_fields=["plan_summary"])
    study.refresh_from_db()
    assert study.seed_scheme == seeds.LEGACY
    return study


def test_a_plan_frozen_with_the_old_scheme_has_the_old_pairs_and_order(old_study):
    seed = old_study.seed
    computed = planning.compute_plan(old_study)
    rows = PlannedPair.objects.filter(study=old_study).order_by("pk")
    edges = np.asarray(old_study.plan_summary["edges"])
    for cell in computed.cells:
        old_rng = np.random.default_rng([seed, 0, cell.category.pk, cell.scorer.pk])
        old = sampling.plan_pairs(cell.q, old_study.pairs_per_cell, edges, old_study.sampling_mode, old_rng)
        stored = rows.filter(category=cell.category, scorer=cell.scorer)
        assert list(stored.values_list("sketch_a_id", "sketch_b_id")) == list(
            zip(cell.sketch_ids[old.i].tolist(), cell.sketch_ids[old.j].tolist())
        )
    order = np.random.default_rng([seed, 1]).permutation(rows.count())
    assert list(rows.values_list("order", flat=True)) == order.tolist()


def test_a_study_frozen_with_the_old_scheme_redraws_its_trial_lists_bit_for_bit(old_study):
    """Trial lists and sentinels re-draw from the old keys. Practice pairs now come from the practice
    pool, disjoint from every sentinel (issue 18, gold harvesting), so only their order and sides
    keep the old key (``[seed, index, 1, 1]``), not the old choice among all gold."""
    seed = old_study.seed
    gold = list(GoldPair.objects.filter(study=old_study).sentinel_pool(live=False).order_by("pk"))
    pool = list(GoldPair.objects.filter(study=old_study).practice_pool().order_by("pk"))
    for index in (0, 1, 2):
        with transaction.atomic():
            drafts = do_draw_trial_list(old_study, index)
        spec = trial_lists.build_trial_list(
            old_study.regular_trials_per_participant,
            old_study.sentinels_per_participant,
            old_study.duplicates_per_participant,
            old_study.min_duplicate_distance,
            np.random.default_rng([seed, index]),
        )
        names = {
            trial_lists.REGULAR: "regular",
            trial_lists.SENTINEL: "sentinel",
            trial_lists.DUPLICATE: "duplicate",
        }
        assert [d.kind for d in drafts] == [names[int(k)] for k in spec.kind]
        picks = np.random.default_rng([seed, index, 1]).permutation(len(gold))
        sentinel_ids = [gold[k].pk for k in picks[: old_study.sentinels_per_participant]]
        assert [d.gold_pair_id for d in drafts if d.kind == "sentinel"] == [
            sentinel_ids[int(slot)]
            for kind, slot in zip(spec.kind, spec.slot)
            if kind == trial_lists.SENTINEL
        ]
        rng = np.random.default_rng([seed, index, 1, 1])
        practice = [pool[k] for k in rng.permutation(len(pool))][: old_study.practice_trials]
        sides = rng.random(len(practice)) < 0.5
        assert [(p.left_sketch_id, p.right_sketch_id) for p in draw_practice_trials(old_study, index)] == [
            (g.worse_id, g.better_id) if swap else (g.better_id, g.worse_id)
            for g, swap in zip(practice, sides)
        ]


def test_a_new_study_no_longer_shares_participant_ones_stream_with_the_handout_order(db):
    study = make_scored_study()
    do_freeze_plan(study)
    total = PlannedPair.objects.filter(study=study).count()
    handout = study.rng("handout_order").permutation(total)
    participant_one = trial_lists.trial_list_rng(study.seed, 1, study.seed_scheme).permutation(total)
    assert not np.array_equal(handout, participant_one)
    old_one = trial_lists.trial_list_rng(study.seed, 1, seeds.LEGACY).permutation(total)
    assert np.array_equal(np.random.default_rng([study.seed, 1]).permutation(total), old_one)
