"""The screening rules on the answer path: too fast live and at the end, undecided, coverage."""

from __future__ import annotations

import pytest

from analysis.reports import build_report
from annotation.actions import do_submit_answer
from annotation.models import ParticipantStatus
from studies.models import PlannedPair
from tests.annotation.factories import at_trials, main_trials, make_running_study, right_choice

pytestmark = pytest.mark.django_db


def unbiased(trial) -> str:
    if trial.kind == "sentinel":
        return right_choice(trial)
    return "left" if trial.left_sketch_id < trial.right_sketch_id else "right"


def answer(participant, ms_for):
    for trial in main_trials(participant):
        result = do_submit_answer(participant, trial.token, unbiased(trial), client_ms=ms_for(trial.position))
        if result.participant.status != ParticipantStatus.ACTIVE:
            break
    participant.refresh_from_db()
    return participant


def test_too_fast_answers_block_live_once_the_set_number_of_answers_is_in():
    study = make_running_study("fast-live", too_fast_ms=350, too_fast_share=0.2, too_fast_block_after=20)
    participant = answer(at_trials(study), lambda position: 120)
    assert participant.status == ParticipantStatus.BLOCKED and participant.screening_reason == "too fast"
    assert participant.current_position == 20  # not one answer earlier
    assert participant.fast_answers == 20


def test_too_fast_without_live_blocking_unqualifies_at_the_end_and_the_replay_agrees():
    study = make_running_study("fast-end", too_fast_ms=350, too_fast_share=0.2, too_fast_block_after=0)
    fast = answer(at_trials(study, "fast"), lambda position: 120 if position % 3 else 900)  # 2 in 3 fast
    slow = answer(at_trials(study, "slow"), lambda position: 120 if position % 6 == 0 else 900)  # 1 in 6
    assert fast.status == ParticipantStatus.COMPLETED and not fast.qualified
    assert fast.screening == "unqualified" and fast.screening_reason == "too fast"
    assert slow.qualified and slow.screening in ("ok", "undecided")
    rows = {
        r["panel_id"]: r
        for r in build_report(study, agreement_boot=0, bt_boot=0, correlation_boot=0).worker_qa
    }
    assert rows["fast"]["status"] == rows["fast"]["recomputed_status"] == "unqualified"
    assert rows["slow"]["status"] == rows["slow"]["recomputed_status"]


def test_with_little_evidence_the_evidence_rule_leaves_a_worker_undecided_and_analysed():
    study = make_running_study("undecided-worker", screening_rule="evidence")
    # consistent on only half the duplicates: the paper's rule would exclude at 50% < 70%
    flip = {}

    def half_consistent(trial):
        if trial.kind == "duplicate":
            flip["n"] = flip.get("n", 0) + 1
            original = unbiased(trial)
            return original if flip["n"] % 2 else ("left" if original == "right" else "right")
        return unbiased(trial)

    participant = at_trials(study)
    for trial in main_trials(participant):
        do_submit_answer(participant, trial.token, half_consistent(trial), client_ms=900)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    assert participant.duplicate_agreement == 0.5 and participant.screening == "undecided"
    assert participant.qualified is True
    report = build_report(study, agreement_boot=0, bt_boot=0, correlation_boot=0)
    (row,) = report.worker_qa
    assert row["status"] == row["recomputed_status"] == "undecided" and row["analysed"]


def test_a_pair_answered_only_by_a_worker_excluded_at_the_end_returns_to_the_pool():
    study = make_running_study("coverage", sequential_screening=False)
    participant = at_trials(study)
    before = dict(PlannedPair.objects.filter(study=study).values_list("pk", "times_assigned"))
    for trial in main_trials(participant):  # always left: duplicates never repeat (sides swapped)
        do_submit_answer(
            participant, trial.token, right_choice(trial) if trial.kind == "sentinel" else "left"
        )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED and participant.qualified is False
    after = dict(PlannedPair.objects.filter(study=study).values_list("pk", "times_assigned"))
    answered = set(
        participant.trials.filter(planned_pair__isnull=False).values_list("planned_pair_id", flat=True)
    )
    assert all(after[pk] == before[pk] - 1 for pk in answered)
    assert all(after[pk] == before[pk] for pk in before if pk not in answered)
