"""The usual answer without a lock (``answering._submit_unlocked``): read, then one statement that
stores the answer and updates the participant only if the row is still the version read. Any
change to the row in between (an answer from another tab, a page view, a timeout) makes that
statement write nothing, and the answer goes the locked way, which replays or refuses as before.
Real concurrent transactions on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from annotation import answering, hot_queries
from annotation.actions import ACCEPTED, REPLAYED, do_submit_answer
from annotation.models import Answer, Participant, ParticipantStatus, RefusedSubmission
from annotation.telemetry import Telemetry
from tests import services
from tests.annotation.factories import at_trials, main_trials, make_running_study

pytestmark = [services.requires_postgres(), pytest.mark.django_db(transaction=True)]


def _stored(participant) -> int:
    return Answer.objects.filter(trial__participant=participant).count()


def test_a_plain_answer_takes_no_lock_and_stores_once(monkeypatch):
    participant = at_trials(make_running_study("unlocked-plain"))
    trial = main_trials(participant)[0]
    before = _stored(participant)
    locked = []
    monkeypatch.setattr(answering, "_submit_locked", lambda *args: locked.append(args))
    result = do_submit_answer(participant.pk, trial.token, "left")
    assert result.outcome == ACCEPTED and not locked
    assert _stored(participant) == before + 1
    row = Participant.objects.get(pk=participant.pk)
    assert row.current_position == 1 and row.trial_served_at is not None


def test_an_answer_stored_by_another_tab_between_read_and_write_is_replayed_not_stored_twice(monkeypatch):
    """A double click: the other request commits the same trial's answer after this one read the
    row; this one's write finds the row changed, writes nothing, and the locked way replays."""
    participant = at_trials(make_running_study("unlocked-race"))
    trial = main_trials(participant)[0]
    before = _stored(participant)
    real, applied = hot_queries.store_answer_if_unchanged, []

    def other_tab_first(*args):
        received = timezone.now()
        other = answering._submit_locked(
            answering._Submission(
                participant.pk, trial.token, "left", None, None, received, Telemetry(), None
            )
        )
        assert other.outcome == ACCEPTED
        applied.append(real(*args))
        return applied[-1]

    monkeypatch.setattr(answering, "store_answer_if_unchanged", other_tab_first)
    result = do_submit_answer(participant.pk, trial.token, "left")
    assert applied == [False]
    assert result.outcome == REPLAYED and result.answer.choice == "left"
    assert _stored(participant) == before + 1
    row = Participant.objects.get(pk=participant.pk)
    assert row.current_position == 1 and row.left_choices + row.right_choices == 1  # counted once


def test_a_page_view_between_read_and_write_is_not_overwritten():
    participant = at_trials(make_running_study("unlocked-touch"))
    trial = main_trials(participant)[0]
    read, version, _ = hot_queries.read_participant_and_trials(participant.pk, None, trial.token)
    seen = timezone.now() + timezone.timedelta(minutes=5)
    Participant.objects.filter(pk=participant.pk).update(last_seen_at=seen)  # another request's UPDATE
    read.current_position += 1
    answer = answering._new_answer(read, trial, "left", None, timezone.now(), Telemetry())
    assert not hot_queries.store_answer_if_unchanged(answer, read, answering._UPDATED_FIELDS, version)
    assert not Answer.objects.filter(trial=trial).exists()
    row = Participant.objects.get(pk=participant.pk)
    assert row.current_position == 0 and row.last_seen_at == seen


def test_the_write_waits_for_a_transaction_holding_the_row_and_then_finds_it_changed():
    """Under READ COMMITTED the conditional UPDATE waits for the row's lock, then re-checks its
    condition against the committed new version: the version differs, so nothing is written."""
    participant = at_trials(make_running_study("unlocked-wait"))
    trial = main_trials(participant)[0]
    read, version, _ = hot_queries.read_participant_and_trials(participant.pk, None, trial.token)
    holding, results = threading.Event(), {}

    def holder():
        try:
            with transaction.atomic():
                list(Participant.objects.select_for_update().filter(pk=participant.pk))
                Participant.objects.filter(pk=participant.pk).update(break_taken_at=7)
                holding.set()
                time.sleep(0.5)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    started = time.monotonic()
    read.current_position += 1
    answer = answering._new_answer(read, trial, "left", None, timezone.now(), Telemetry())
    results["applied"] = hot_queries.store_answer_if_unchanged(
        answer, read, answering._UPDATED_FIELDS, version
    )
    waited = time.monotonic() - started
    thread.join()
    assert results["applied"] is False and waited > 0.2
    assert not Answer.objects.filter(trial=trial).exists()
    row = Participant.objects.get(pk=participant.pk)
    assert row.break_taken_at == 7 and row.current_position == 0


def test_refusals_and_replays_go_the_locked_way_and_are_logged_once():
    participant = at_trials(make_running_study("unlocked-refusals"))
    trials = main_trials(participant)
    refused_before = RefusedSubmission.objects.filter(participant=participant).count()
    assert do_submit_answer(participant.pk, trials[2].token, "left").reason == "not_current"
    assert do_submit_answer(participant.pk, trials[0].token, "left").outcome == ACCEPTED
    assert do_submit_answer(participant.pk, trials[0].token, "left").outcome == REPLAYED
    assert RefusedSubmission.objects.filter(participant=participant).count() == refused_before + 1
    assert Participant.objects.get(pk=participant.pk).current_position == 1


def _same_trial(a, b) -> bool:
    names = (
        "pk",
        "token",
        "position",
        "is_practice",
        "answer_id",
        "gold_better_id",
        "first_chosen_id",
        "category_name",
    )
    return all(getattr(a, n) == getattr(b, n) for n in names)


def test_the_one_statement_read_gives_what_the_two_reads_of_the_locked_way_give():
    study = make_running_study("unlocked-read")
    participant = at_trials(study)
    trials = main_trials(participant)
    do_submit_answer(participant.pk, trials[0].token, "left")
    cases = [
        (participant.pk, None, trials[1].token),  # the current trial: it and the next
        (participant.pk, study.slug, trials[0].token),  # an answered one (a replay) and the next
        (participant.pk, None, "no-such-token"),  # only the next
        (participant.pk, None, ""),
    ]
    for pk, slug, token in cases:
        read, version, rows = hot_queries.read_participant_and_trials(pk, slug, token)
        with transaction.atomic():
            locked = hot_queries.lock_participant(pk, slug)
            expected = hot_queries.trial_and_next_rows(pk, token, hot_queries.next_position_of(locked))
        assert version and read.study.slug == study.slug and read.current_position == locked.current_position
        assert len(rows) == len(expected) and all(map(_same_trial, rows, expected)), token
    Participant.objects.filter(pk=participant.pk).update(status=ParticipantStatus.COMPLETED)  # no next trial
    _, _, rows = hot_queries.read_participant_and_trials(participant.pk, None, trials[1].token)
    assert [row.token for row in rows] == [trials[1].token]
    with pytest.raises(Participant.DoesNotExist):
        hot_queries.read_participant_and_trials(participant.pk, "another-study", trials[1].token)
