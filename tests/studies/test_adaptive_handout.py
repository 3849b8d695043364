"""The adaptive hand-out: concurrency-safe on PostgreSQL, reproducible, allocations marked."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from studies.actions import do_freeze_plan, draw_trial_list
from studies.models import PlannedPair, Study
from tests.factories import make_scored_study
from tests.services import requires_postgres
from tests.studies.test_handout_concurrency import N_THREADS, draw_concurrently

ADAPTIVE = dict(sampling_mode="adaptive", adaptive_random_start=0.0, adaptive_control_share=0.25)


@requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_concurrent_adaptive_participants_never_share_a_pair_before_every_pair_is_handed_out():
    study = make_scored_study(pairs_per_cell=40, **ADAPTIVE)
    do_freeze_plan(study)
    n_pairs = PlannedPair.objects.filter(study=study).count()
    assert n_pairs == N_THREADS * study.regular_trials_per_participant

    first_round = draw_concurrently(study.pk, list(range(N_THREADS)))
    handed = Counter(pk for ids in first_round.values() for pk in ids)
    assert len(handed) == n_pairs and set(handed.values()) == {1}
    allocations = Counter(PlannedPair.objects.filter(study=study).values_list("allocation", flat=True))
    assert set(allocations) == {"control", "adaptive"}

    second_round = draw_concurrently(study.pk, list(range(N_THREADS, 2 * N_THREADS)))
    handed.update(pk for ids in second_round.values() for pk in ids)
    assert set(handed.values()) == {2}


@pytest.mark.django_db
def test_adaptive_draw_is_reproducible_and_keeps_sentinels_and_duplicates():
    study = make_scored_study(pairs_per_cell=40, **ADAPTIVE)
    do_freeze_plan(study)

    def draw():
        sid = transaction.savepoint()
        drafts = draw_trial_list(Study.objects.get(pk=study.pk), 0)
        transaction.savepoint_rollback(sid)
        return drafts

    first, second = draw(), draw()
    assert first == second
    kinds = Counter(d.kind for d in first)
    assert kinds["sentinel"] == study.sentinels_per_participant
    assert kinds["duplicate"] == study.duplicates_per_participant
    regular = [d.planned_pair_id for d in first if d.kind == "regular"]
    assert len(set(regular)) == len(regular) == study.regular_trials_per_participant


@pytest.mark.django_db
def test_random_start_share_marks_the_first_pairs_random_start():
    study = make_scored_study(pairs_per_cell=40, sampling_mode="adaptive", adaptive_random_start=0.5)
    do_freeze_plan(study)
    with transaction.atomic():
        draw_trial_list(Study.objects.get(pk=study.pk), 0)
    marked = Counter(PlannedPair.objects.filter(study=study).values_list("allocation", flat=True))
    assert marked["random_start"] == study.regular_trials_per_participant
    assert marked["adaptive"] == 0
