"""do_submit_answer: one answer per trial, in order, with the worker checks on the server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from annotation.actions import (
    ACCEPTED,
    REFUSED,
    REPLAYED,
    do_finish_instructions,
    do_mark_served,
    do_submit_answer,
)
from annotation.models import Answer, ParticipantStatus, RefusedSubmission
from studies.actions import do_close_study
from studies.models import PlannedPair
from tests.annotation.factories import (
    admitted,
    at_trials,
    main_trials,
    make_running_study,
    right_choice,
    wrong_choice,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    return make_running_study()


@pytest.fixture
def participant(study):
    return at_trials(study)


def answer_until(participant, stop_position, *, sentinel_choice=right_choice):
    """Answer trials in order up to (not including) ``stop_position``; all must be accepted."""
    for trial in main_trials(participant)[:stop_position]:
        choice = sentinel_choice(trial) if trial.kind == "sentinel" else "left"
        assert do_submit_answer(participant, trial.token, choice).outcome == ACCEPTED


def test_an_answer_is_stored_with_the_chosen_sketch_and_both_response_times(participant):
    trial = main_trials(participant)[0]
    do_mark_served(participant)
    served = participant.trial_served_at
    result = do_submit_answer(
        participant, trial.token, "right", "987", now=served + timedelta(milliseconds=1234)
    )
    assert result.outcome == ACCEPTED
    answer = Answer.objects.get(trial=trial)
    assert answer.chosen_sketch_id == trial.right_sketch_id
    assert (answer.served_at, answer.server_response_ms, answer.client_response_ms) == (served, 1234, 987)
    assert result.participant.current_position == 1


def test_the_same_trial_answered_again_returns_the_first_answer_and_stores_nothing_new(participant):
    trial = main_trials(participant)[0]
    first = do_submit_answer(participant, trial.token, "left")
    again = do_submit_answer(participant, trial.token, "right")
    assert again.outcome == REPLAYED and again.answer.pk == first.answer.pk and again.answer.choice == "left"
    assert Answer.objects.filter(trial=trial).count() == 1
    assert again.participant.current_position == 1
    assert not RefusedSubmission.objects.exists()


def test_answering_a_later_trial_than_the_current_one_is_refused_and_logged(participant):
    later = main_trials(participant)[5]
    result = do_submit_answer(participant, later.token, "left")
    assert result.outcome == REFUSED and result.reason == "not_current"
    assert not Answer.objects.filter(trial=later).exists()
    assert RefusedSubmission.objects.get().token == later.token


def test_a_token_of_another_participant_is_refused_as_unknown(study, participant):
    other = at_trials(study, "PID-B")
    foreign = main_trials(other)[0]
    result = do_submit_answer(participant, foreign.token, "left")
    assert result.outcome == REFUSED and result.reason == "unknown_token"
    assert not Answer.objects.filter(trial__participant=other, trial__is_practice=False).exists()


def test_no_difference_is_refused_unless_the_study_offers_it(study, participant):
    trial = main_trials(participant)[0]
    assert do_submit_answer(participant, trial.token, "none").reason == "invalid_choice"
    assert do_submit_answer(participant, trial.token, "sideways").reason == "invalid_choice"
    study.allow_no_difference = True
    study.save(update_fields=["allow_no_difference"])
    result = do_submit_answer(participant, trial.token, "none")
    assert result.outcome == ACCEPTED and result.answer.chosen_sketch_id is None


@pytest.mark.parametrize("raw", ["", None, "abc", "-5", "1e99", str(10**12)])
def test_an_implausible_client_time_is_stored_as_unknown(participant, raw):
    trial = main_trials(participant)[0]
    assert do_submit_answer(participant, trial.token, "left", raw).answer.client_response_ms is None


def test_it_blocks_on_the_mistake_after_the_allowed_maximum_and_refuses_what_follows(study, participant):
    trials = main_trials(participant)
    sentinels = [t for t in trials if t.kind == "sentinel"]
    assert study.max_sentinel_mistakes == 2 and len(sentinels) == 4
    answer_until(participant, sentinels[1].position + 1, sentinel_choice=wrong_choice)
    participant.refresh_from_db()
    assert (participant.sentinel_mistakes, participant.status) == (2, ParticipantStatus.ACTIVE)
    answer_until_third = [t for t in trials if sentinels[1].position < t.position <= sentinels[2].position]
    results = [
        do_submit_answer(participant, t.token, wrong_choice(t) if t.kind == "sentinel" else "left")
        for t in answer_until_third
    ]
    assert results[-1].blocked_now and results[-1].participant.status == ParticipantStatus.BLOCKED
    participant.refresh_from_db()
    assert (participant.sentinel_mistakes, participant.sentinels_answered, participant.qualified) == (
        3,
        3,
        False,
    )
    following = trials[sentinels[2].position + 1]
    refused = do_submit_answer(participant, following.token, "left")
    assert refused.outcome == REFUSED and refused.reason == "blocked"
    assert RefusedSubmission.objects.filter(participant=participant, reason="blocked").count() == 1


def answer_all(participant, choose):
    """Submit ``choose(trial)`` for every trial in order, whatever happens; returns the results."""
    return [do_submit_answer(participant, t.token, choose(t)) for t in main_trials(participant)]


def test_blocking_gives_every_planned_pair_back_to_the_pool_answered_ones_too(study, participant):
    before = sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))
    answer_all(participant, wrong_choice)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.BLOCKED and participant.screening == "blocked"
    answered = {
        t.planned_pair_id for t in participant.trials.filter(answer__isnull=False, planned_pair__isnull=False)
    }
    after = sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))
    assert 0 < len(answered) < study.regular_trials_per_participant
    # a blocked worker's answers never count: their answered pairs return to the pool as well
    assert after == before - study.regular_trials_per_participant


def consistent_choice(trial):
    """Pick the sketch with the lower id: the same sketch whichever side it is on."""
    if trial.kind == "sentinel":
        return right_choice(trial)
    return "left" if trial.left_sketch_id < trial.right_sketch_id else "right"


def test_consistent_duplicates_complete_the_participant_qualified(study, participant):
    results = answer_all(participant, consistent_choice)
    assert [r.outcome for r in results] == [ACCEPTED] * len(results)
    assert results[-1].completed_now and not any(r.completed_now for r in results[:-1])
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED and participant.completed_at
    assert (participant.duplicates_answered, participant.duplicates_consistent) == (4, 4)
    assert participant.duplicate_agreement == 1.0 and participant.qualified is True
    assert set(Answer.objects.filter(trial__kind="duplicate").values_list("is_consistent", flat=True)) == {
        True
    }


def test_a_worker_who_always_picks_the_left_side_is_blocked_early_by_the_side_bias_test(study, participant):
    answer_all(participant, lambda t: right_choice(t) if t.kind == "sentinel" else "left")
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.BLOCKED and participant.screening_reason == "side bias"
    # 26 of 30 here: each correct sentinel on the right weighs against the bias (a pure
    # always-left worker is stopped after 14 answers: test_screening)
    assert participant.current_position < study.trials_per_participant


def test_without_sequential_tests_always_left_is_inconsistent_and_unqualified_at_the_end(db):
    study = make_running_study("no-sequential", sequential_screening=False)
    participant = at_trials(study)
    before = sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))
    # Duplicates show the pair with the sides swapped, so "always left" never repeats a choice.
    answer_all(participant, lambda t: right_choice(t) if t.kind == "sentinel" else "left")
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    assert participant.duplicate_agreement == 0.0 and participant.qualified is False
    assert participant.screening == "unqualified" and participant.screening_reason == "duplicates"
    # excluded after completing: every pair they answered goes back to the pool
    after = sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))
    assert after == before - study.regular_trials_per_participant


def test_after_completion_own_tokens_replay_and_foreign_ones_are_unknown(participant):
    answer_all(participant, consistent_choice)
    participant.refresh_from_db()
    result = do_submit_answer(participant, "no-such-token", "left")
    assert result.reason == "unknown_token"
    practice = participant.trials.filter(is_practice=True).first()
    assert do_submit_answer(participant, practice.token, "left").outcome == REPLAYED


def test_practice_answers_are_checked_but_count_no_sentinel_mistakes(study):

    participant = do_finish_instructions(admitted(study))
    practice = list(
        participant.trials.filter(is_practice=True, position__lt=F("participant__n_practice")).order_by(
            "position"
        )
    )
    results = [do_submit_answer(participant, t.token, wrong_choice(t)) for t in practice]
    assert [r.answer.is_correct for r in results] == [False] * len(practice)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ACTIVE and participant.sentinel_mistakes == 0


def test_a_main_trial_cannot_be_answered_during_practice(study):

    participant = do_finish_instructions(admitted(study))
    first_main = main_trials(participant)[0]
    assert do_submit_answer(participant, first_main.token, "left").reason == "not_current"


def test_answers_are_refused_once_the_study_is_closed(study, participant):
    do_close_study(study)
    trial = main_trials(participant)[0]
    assert do_submit_answer(participant, trial.token, "left").reason == "study_closed"


def test_the_server_clock_starts_at_the_first_serve_and_ignores_reloads(participant):
    do_mark_served(participant)
    first = participant.trial_served_at
    participant.trial_served_at = None
    do_mark_served(participant)  # a reload in another tab: the stored time stays
    participant.refresh_from_db()
    assert participant.trial_served_at == first and first <= timezone.now()


def test_answering_starts_the_clock_of_the_next_trial_in_the_same_transaction(participant):
    first, second = main_trials(participant)[:2]
    do_mark_served(participant)
    at = participant.trial_served_at + timedelta(seconds=2)
    result = do_submit_answer(participant, first.token, "left", now=at)
    assert [t.token for t in result.upcoming] == [second.token]
    result = do_submit_answer(participant, second.token, "left", now=at + timedelta(milliseconds=700))
    assert result.answer.served_at == at and result.answer.server_response_ms == 700
