"""Replays, double clicks and races, on PostgreSQL with real concurrent transactions."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from annotation import identity
from annotation.actions import (
    ACCEPTED,
    REPLAYED,
    do_accept_consent,
    do_enter_study,
    do_submit_answer,
)
from annotation.models import Answer, Participant, ParticipantStatus, RefusedSubmission
from tests import services
from tests.annotation.factories import (
    at_trials,
    main_trials,
    make_running_study,
    unbiased_choice,
    wrong_choice,
)

pytestmark = [services.requires_postgres(), pytest.mark.django_db(transaction=True)]

THREADS = 8


def concurrently(fn, calls):
    """Run ``fn(*args)`` for each args in ``calls`` at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def work(i, args):
        try:
            barrier.wait()
            results[i] = fn(*args)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, args)) for i, args in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_a_replay_storm_stores_exactly_one_answer_per_trial():
    participant = at_trials(make_running_study())
    for trial in main_trials(participant)[:10]:
        choices = ["left", "right"] * (THREADS // 2)
        results = concurrently(do_submit_answer, [(participant, trial.token, c) for c in choices])
        assert Counter(r.outcome for r in results) == {ACCEPTED: 1, REPLAYED: THREADS - 1}
        stored = Answer.objects.get(trial=trial)
        assert {(r.answer.pk, r.answer.choice) for r in results} == {(stored.pk, stored.choice)}
    participant.refresh_from_db()
    assert participant.current_position == 10
    assert Answer.objects.filter(trial__participant=participant, trial__is_practice=False).count() == 10


def test_a_storm_of_identical_form_posts_through_the_pages_stores_one_answer_each():
    study = make_running_study()
    participant = at_trials(study)
    entered = Client()
    entered.get(f"/p/{study.slug}/?pid={participant.panel_id}")
    name = identity.cookie_name(study.slug)
    cookie = entered.cookies[name].value

    def post(token):
        client = Client()
        client.cookies[name] = cookie
        return client.post(
            f"/p/{study.slug}/answer/", {"token": token, "choice": "left"}, HTTP_HX_REQUEST="true"
        )

    for trial in main_trials(participant)[:5]:
        responses = concurrently(post, [(trial.token,)] * THREADS)
        assert {r.status_code for r in responses} == {200}
        assert Answer.objects.filter(trial=trial).count() == 1
    assert not RefusedSubmission.objects.exists()


def test_concurrent_wrong_sentinel_answers_block_exactly_once_with_the_right_counts():
    study = make_running_study(max_sentinel_mistakes=2)
    participant = at_trials(study)
    trials = main_trials(participant)
    third_sentinel = [t for t in trials if t.kind == "sentinel"][2]

    def race_through_the_list():
        return [do_submit_answer(participant, t.token, wrong_choice(t)) for t in trials]

    runs = concurrently(race_through_the_list, [()] * THREADS)
    results = [result for run in runs for result in run]
    assert sum(r.blocked_now for r in results) == 1
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.BLOCKED and participant.qualified is False
    assert (participant.sentinel_mistakes, participant.sentinels_answered) == (3, 3)
    answered = Answer.objects.filter(trial__participant=participant, trial__is_practice=False)
    assert answered.count() == third_sentinel.position + 1
    assert not answered.filter(trial__position__gt=third_sentinel.position).exists()
    assert RefusedSubmission.objects.filter(participant=participant, reason="blocked").exists()


def test_the_same_panel_id_arriving_in_many_tabs_at_once_is_one_participant():
    study = make_running_study()
    results = concurrently(do_enter_study, [(study, "PID-TABS")] * THREADS)
    assert len({p.pk for p in results}) == 1
    assert Participant.objects.filter(study=study).count() == 1


def test_simultaneous_consents_never_admit_more_than_the_target():
    study = make_running_study(target_participants=3)
    waiting = [do_enter_study(study, f"worker-{i}") for i in range(THREADS)]

    def accept(participant):
        try:
            return do_accept_consent(participant).status
        except Exception as error:  # noqa: BLE001 - the refusal is the expected outcome
            return getattr(error, "reason", repr(error))

    outcomes = Counter(concurrently(accept, [(p,) for p in waiting]))
    assert outcomes == {ParticipantStatus.INSTRUCTIONS: 3, "full": THREADS - 3}
    assert Participant.objects.filter(study=study).taking_a_place().count() == 3


def test_four_threads_answering_the_whole_list_complete_it_once_and_in_order():
    study = make_running_study()
    participant = at_trials(study)
    trials = main_trials(participant)

    def answer_everything():
        for trial in trials:
            do_submit_answer(participant, trial.token, unbiased_choice(trial))

    concurrently(answer_everything, [()] * 4)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED and participant.current_position == len(trials)
    assert (
        Answer.objects.filter(trial__participant=participant).count() == len(trials) + participant.n_practice
    )
