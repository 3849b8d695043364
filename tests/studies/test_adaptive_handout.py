"""The adaptive hand-out: concurrency-safe on PostgreSQL, reproducible, allocations marked."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from studies.actions import do_draw_trial_list, do_freeze_plan
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
        drafts = do_draw_trial_list(Study.objects.get(pk=study.pk), 0)
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
        do_draw_trial_list(Study.objects.get(pk=study.pk), 0)
    marked = Counter(PlannedPair.objects.filter(study=study).values_list("allocation", flat=True))
    assert marked["random_start"] == study.regular_trials_per_participant
    assert marked["adaptive"] == 0


@pytest.mark.django_db
def test_reports_split_answers_by_allocation():
    from analysis.reports import build_report
    from annotation.actions import do_submit_answer
    from studies.actions import do_launch_study
    from tests.annotation.factories import at_trials, main_trials, unbiased_choice

    study = make_scored_study(pairs_per_cell=40, **{**ADAPTIVE, "adaptive_refit_every": 5})
    study = do_launch_study(study)
    for k in range(2):
        participant = at_trials(study, f"worker-{k}")
        for trial in main_trials(participant):
            do_submit_answer(participant, trial.token, unbiased_choice(trial))
    rows = {
        r["answers"]: r
        for r in build_report(study, agreement_boot=10, bt_boot=5, correlation_boot=5).allocation
    }
    assert set(rows) == {"all", "random (start + control)", "adaptive"}
    assert rows["all"]["n"] == rows["random (start + control)"]["n"] + rows["adaptive"]["n"] > 0
    handed = Counter(
        PlannedPair.objects.filter(study=study, times_assigned__gt=0).values_list("allocation", flat=True)
    )
    assert handed["control"] > 0 and handed["adaptive"] > 0


@pytest.mark.django_db
def test_random_start_is_a_share_of_the_expected_answers_not_of_a_larger_plan():
    from studies.adaptive_handout import expected_answers

    study = make_scored_study(pairs_per_cell=40, sampling_mode="adaptive", target_participants=1)
    do_freeze_plan(study)
    n_plan = PlannedPair.objects.filter(study=study).count()
    regular = study.regular_trials_per_participant
    assert n_plan > regular  # the plan is the universe, larger than one participant's answers
    assert expected_answers(study) == regular
    study.target_participants = 1000
    assert expected_answers(study) == n_plan  # never more than the plan
