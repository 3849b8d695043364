"""Selectors read a study into arrays in a fixed, small number of queries."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import actions, results, selectors
from analysis.reports import build_report
from annotation.models import Answer, Participant
from tests.analysis.factories import answer_all, follower

pytestmark = pytest.mark.django_db


def test_study_answers_reads_every_answer_in_one_query(answered, django_assert_num_queries):
    study, _ = answered
    with django_assert_num_queries(1):
        answers = selectors.study_answers(study)
    assert len(answers) == Answer.objects.filter(trial__participant__study=study).count()


def test_the_columns_match_the_stored_trials_and_pairs(answered):
    study, workers = answered
    answers = selectors.study_answers(study, [workers["follower"].pk])
    stored = Answer.objects.filter(trial__participant=workers["follower"]).select_related(
        "trial__planned_pair"
    )
    by_id = {a.pk: a for a in stored}
    assert sorted(answers.answer_id.tolist()) == sorted(by_id)
    for i in range(len(answers)):
        answer = by_id[int(answers.answer_id[i])]
        trial = answer.trial
        assert (answers.left[i], answers.right[i]) == (trial.left_sketch_id, trial.right_sketch_id)
        assert answers.choice[i] == answer.choice and answers.kind[i] == trial.kind
        if trial.planned_pair_id:
            pair = trial.planned_pair
            q_left = pair.q_a if trial.left_sketch_id == pair.sketch_a_id else pair.q_b
            assert answers.q_left[i] == q_left and answers.level[i] == pair.level
        else:
            assert answers.planned_pair[i] == -1 and np.isnan(answers.q_a[i])
    assert answers.is_practice[: workers["follower"].n_practice].all()  # practice first, then by position


def test_scopes_pick_the_right_participants(answered):
    study, workers = answered
    ids = {name: p.pk for name, p in workers.items()}
    analysable = set(selectors.scope_participants(study, selectors.ANALYSABLE).values_list("pk", flat=True))
    everyone = set(selectors.scope_participants(study, selectors.EVERYONE).values_list("pk", flat=True))
    assert analysable == {ids["follower"], ids["contrarian"]}
    assert everyone == set(ids.values())
    with pytest.raises(ValueError, match="scope must be one of"):
        selectors.scope_participants(study, "friends")


def test_progress_counts_participants_by_status_in_two_queries(answered, django_assert_num_queries):
    study, _ = answered
    with django_assert_num_queries(2):
        progress = selectors.study_progress(study)
    assert progress.by_status["completed"] == 3 and progress.by_status["blocked"] == 1
    assert progress.by_status["consenting"] == 1 and progress.by_status["active"] == 0
    assert (
        progress.answers
        == Answer.objects.filter(trial__participant__study=study, trial__is_practice=False).count()
    )
    assert progress.answers_last_minutes == progress.answers  # all just now
    assert progress.trials_per_minute == progress.answers / 5


def test_the_frame_loads_in_a_fixed_number_of_queries(answered, django_assert_num_queries):
    study, _ = answered
    with django_assert_num_queries(5):
        frame = results.load_frame(study)
    assert frame.in_scope.size == 2


def test_the_report_needs_no_more_queries_for_more_participants(answered, django_assert_max_num_queries):
    study, _ = answered
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        build_report(study, agreement_boot=10, bt_boot=5, correlation_boot=5)
    answer_all(study, "ONE-MORE", follower)
    answer_all(study, "AND-ANOTHER", follower)
    with django_assert_max_num_queries(len(before.captured_queries)):
        report = build_report(study, agreement_boot=10, bt_boot=5, correlation_boot=5)
    assert report.meta["counts"]["participants_analysed"] == 4


def test_the_quality_snapshot_is_refreshed_only_when_answers_change(answered, django_assert_max_num_queries):
    study, _ = answered
    assert actions.do_refresh_worker_quality(study) == 4
    with django_assert_max_num_queries(3):
        assert actions.do_refresh_worker_quality(study) == 0
    answer_all(study, "NEWCOMER", follower)
    assert actions.do_refresh_worker_quality(study) == 5
    assert Participant.objects.get(panel_id="NEWCOMER").quality.status == "ok"
