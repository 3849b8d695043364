"""Best-of-K and single-sketch studies end to end through the real actions: plan, lists, answers."""

from __future__ import annotations

import pytest
from django.db.models import F

from annotation.actions import ACCEPTED, REFUSED, REPLAYED, do_finish_instructions, do_submit_answer
from annotation.models import Answer, ParticipantStatus
from annotation.trial_types import option_sketch_ids
from studies.models import PlannedPair
from tests.annotation.factories import admitted, known_better, main_trials, make_running_study

pytestmark = pytest.mark.django_db


def careful_k(trial) -> str:
    """Gold and practice right; elsewhere the sketch with the lowest id, wherever it is shown."""
    options = option_sketch_ids(trial)
    better = known_better(trial)
    target = better if better is not None else min(options)
    return str(options.index(target) + 1)


def careful_single(trial) -> str:
    better = known_better(trial)
    if better is not None:
        return "yes" if trial.left_sketch_id == better else "no"
    return "yes" if trial.left_sketch_id % 2 == 0 else "no"


def through_practice(study, answer, panel_id="PID-A"):
    participant = do_finish_instructions(admitted(study, panel_id))
    for trial in participant.trials.filter(
        is_practice=True, position__lt=F("participant__n_practice")
    ).order_by("position"):
        assert do_submit_answer(participant, trial.token, answer(trial)).answer.is_correct
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ACTIVE
    return participant


@pytest.fixture
def best_of_3():
    return make_running_study(
        "best-of-3", trial_type="best_of_k", options_per_trial=3, allow_no_difference=True
    )


@pytest.fixture
def single():
    return make_running_study("single", trial_type="single")


def test_a_best_of_k_plan_stores_k_sketches_spread_over_levels_of_the_largest_gap(best_of_3):
    rows = list(PlannedPair.objects.filter(study=best_of_3))
    assert rows and all(r.sketch_c_id and r.sketch_d_id is None for r in rows)
    assert all(len({r.sketch_a_id, r.sketch_b_id, r.sketch_c_id}) == 3 for r in rows)
    for r in rows[:20]:
        qs = [r.q_a, r.q_b, r.q_c]
        assert max(qs) - min(qs) > 0
    assert {r.level for r in rows} == set(range(4))
    assert best_of_3.plan_summary["trial_type"] == "best_of_k"
    assert best_of_3.plan_summary["sketches_per_trial"] == 3


def test_a_best_of_k_list_shows_k_sketches_with_gold_best_and_reshuffled_duplicates(best_of_3):
    participant = admitted(best_of_3)
    trials = main_trials(participant)
    at = {t.pk: t for t in trials}
    for trial in trials:
        options = option_sketch_ids(trial)
        assert len(options) == len(set(options)) == 3
        if trial.kind == "sentinel":
            assert trial.gold_pair.better_id in options and trial.gold_pair.worse_id in options
        if trial.kind == "duplicate":
            original = option_sketch_ids(at[trial.duplicate_of_id])
            assert sorted(original) == sorted(options)
            assert all(a != b for a, b in zip(original, options))  # every sketch moved


def test_a_careful_best_of_k_worker_completes_qualified_with_consistent_duplicates(best_of_3):
    participant = through_practice(best_of_3, careful_k)
    for trial in main_trials(participant):
        result = do_submit_answer(participant, trial.token, careful_k(trial))
        assert result.outcome == ACCEPTED, result.reason
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED and participant.qualified
    assert participant.sentinel_mistakes == 0
    assert participant.duplicates_consistent == participant.duplicates_answered == 4
    answers = Answer.objects.filter(trial__participant=participant, trial__is_practice=False)
    assert all(a.chosen_sketch_id in option_sketch_ids(a.trial) for a in answers.select_related("trial"))


def test_best_of_k_refuses_pair_answers_and_options_beyond_k_and_replays_idempotently(best_of_3):
    participant = through_practice(best_of_3, careful_k)
    trial = main_trials(participant)[0]
    for wrong in ("left", "4", "yes"):
        assert do_submit_answer(participant, trial.token, wrong).reason == "invalid_choice"
    first = do_submit_answer(participant, trial.token, "2")
    again = do_submit_answer(participant, trial.token, "3")
    assert (first.outcome, again.outcome) == (ACCEPTED, REPLAYED)
    assert again.answer.pk == first.answer.pk and again.answer.choice == "2"
    assert first.answer.chosen_sketch_id == option_sketch_ids(trial)[1]


def test_best_of_k_abstain_chooses_no_sketch(best_of_3):
    participant = through_practice(best_of_3, careful_k)
    trial = main_trials(participant)[0]
    result = do_submit_answer(participant, trial.token, "none")
    assert result.outcome == ACCEPTED and result.answer.chosen_sketch_id is None


def test_a_worker_who_always_picks_the_first_option_is_blocked(best_of_3):
    participant = through_practice(best_of_3, careful_k)
    for trial in main_trials(participant):
        result = do_submit_answer(participant, trial.token, "1")
        if result.blocked_now:
            break
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.BLOCKED
    assert participant.right_choices == 0 and participant.left_choices > 0


def test_a_single_plan_draws_distinct_sketches_spread_over_q(single):
    rows = list(PlannedPair.objects.filter(study=single))
    assert rows and all(r.sketch_b_id is None and r.q_b is None for r in rows)
    per_scorer = {}
    for r in rows:
        per_scorer.setdefault((r.scorer_id, r.category_id), []).append(r.sketch_a_id)
    assert all(len(ids) == len(set(ids)) for ids in per_scorer.values())
    assert {r.level for r in rows} == set(range(4))


def test_single_sentinels_show_good_or_degraded_and_a_careful_worker_qualifies(single):
    participant = through_practice(single, careful_single)
    trials = main_trials(participant)
    shown = {t.left_sketch_id == t.gold_pair.better_id for t in trials if t.kind == "sentinel"}
    assert all(t.right_sketch_id is None for t in trials)
    for trial in trials:
        if trial.kind == "duplicate":
            assert trial.left_sketch_id == trial.duplicate_of.left_sketch_id
        assert do_submit_answer(participant, trial.token, careful_single(trial)).outcome == ACCEPTED
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED and participant.qualified
    assert participant.sentinel_mistakes == 0 and shown  # at least one kind of sentinel was shown
    assert participant.left_choices + participant.right_choices == participant.n_trials


def test_single_answers_wrong_on_a_sentinel_count_as_mistakes_and_only_yes_or_no_is_taken(single):
    participant = through_practice(single, careful_single)
    sentinel = next(t for t in main_trials(participant) if t.kind == "sentinel")
    for trial in main_trials(participant):
        if trial.position == sentinel.position:
            break
        do_submit_answer(participant, trial.token, careful_single(trial))
    assert do_submit_answer(participant, sentinel.token, "left").outcome == REFUSED
    wrong = "no" if careful_single(sentinel) == "yes" else "yes"
    assert do_submit_answer(participant, sentinel.token, wrong).answer.is_correct is False
    participant.refresh_from_db()
    assert participant.sentinel_mistakes == 1
