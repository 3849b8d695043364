"""The answer skips Django's per-request health check (a ``SELECT 1`` round trip) and retries
once on a fresh connection when the one it had is gone (``hot_queries.on_live_connection``).

A web process keeps its connection between requests (``CONN_MAX_AGE``); when PostgreSQL
restarts (``tests/faults``) or a backend is killed, the next answer finds the old connection
dead. Here every backend of the test database but the test's own is terminated, as a restart
would, and each request begins as under gunicorn (``close_old_connections``, which the test
client leaves out).
"""

from __future__ import annotations

import tempfile

import pytest
from django.db import OperationalError, close_old_connections, connection
from django.test import Client

from annotation import answering, hot_queries, pictures
from annotation.actions import REPLAYED, do_submit_answer
from annotation.models import Answer, Participant
from tests import services
from tests.annotation.factories import at_trials, main_trials, make_running_study

pytestmark = [services.requires_postgres(), pytest.mark.django_db(transaction=True)]
HTMX = {"HTTP_HX_REQUEST": "true"}


def answer(client, study, trial):
    close_old_connections()  # what request_started does in a real server
    return client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": "left"}, **HTMX)


def kill_backend() -> None:
    """Terminate the backend of Django's connection, from another connection, as a restart would."""
    import psycopg

    pid = connection.connection.info.backend_pid
    settings = connection.get_connection_params()
    with psycopg.connect(**settings, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def round_trips(trace_path: str) -> list[str]:
    """The frontend messages that wait for the server (simple Query, Sync), as bench_trials counts them."""
    sent = []
    with open(trace_path, errors="replace") as trace:
        for line in trace:
            parts = [part.strip() for part in line.split("\t")]
            if "F" in parts[:2] and ("Query" in parts[:4] or "Sync" in parts[:4]):
                sent.append(line.strip())
    return sent


def test_an_answer_sent_after_its_connection_died_is_stored_once_on_a_fresh_one():
    study = make_running_study("lost-connection")
    participant = at_trials(study)
    client = Client()
    client.get(f"/p/{study.slug}/?pid={participant.panel_id}")
    trials = main_trials(participant)
    assert answer(client, study, trials[0]).status_code == 200
    kill_backend()
    response = answer(client, study, trials[1])
    assert response.status_code == 200 and trials[2].token in response.content.decode()
    assert Answer.objects.filter(trial=trials[1]).count() == 1
    assert Participant.objects.get(pk=participant.pk).current_position == 2


def test_an_answer_is_two_round_trips_with_no_health_check_and_no_transaction_of_its_own():
    study = make_running_study("round-trips")
    participant = at_trials(study)
    client = Client()
    client.get(f"/p/{study.slug}/?pid={participant.panel_id}")
    trials = main_trials(participant)
    answer(client, study, trials[0])  # statements prepared
    pictures.pictures([trials[2].left_sketch_id, trials[2].right_sketch_id])  # the next screen's, drawn
    close_old_connections()
    assert connection.connection is not None and not connection.health_check_done  # a check would be due
    with tempfile.NamedTemporaryFile("w+", suffix=".trace") as trace:
        connection.connection.pgconn.trace(trace.fileno())
        response = client.post(
            f"/p/{study.slug}/answer/", {"token": trials[1].token, "choice": "left"}, **HTMX
        )
        connection.connection.pgconn.untrace()
        sent = round_trips(trace.name)
    assert response.status_code == 200
    assert len(sent) == 2, sent  # the participant and trials read, UPDATE+INSERT if unchanged (autocommit)
    assert not any("SELECT 1" in line or "BEGIN" in line for line in sent)


def test_a_commit_whose_reply_was_lost_is_replayed_not_stored_twice(monkeypatch):
    study = make_running_study("lost-commit")
    participant = at_trials(study)
    trial = main_trials(participant)[0]
    submit, runs = answering._submit, []

    def committed_then_lost(*args):
        runs.append(submit(*args))
        if len(runs) == 1:  # committed, but the reply never came back
            connection.close()
            raise OperationalError("server closed the connection unexpectedly")
        return runs[-1]

    monkeypatch.setattr(answering, "_submit", committed_then_lost)
    result = do_submit_answer(participant.pk, trial.token, "left")
    assert len(runs) == 2 and result.outcome == REPLAYED and result.answer.choice == "left"
    assert Answer.objects.filter(trial=trial).count() == 1


def test_an_error_on_a_live_connection_is_raised_not_retried():
    calls = []

    def failing():
        calls.append(1)
        connection.ensure_connection()
        raise OperationalError("deadlock detected")

    with pytest.raises(OperationalError):
        hot_queries.on_live_connection(failing)
    assert calls == [1]


def test_inside_an_outer_transaction_the_health_check_stays_and_nothing_is_retried():
    from django.db import transaction

    calls = []
    with transaction.atomic():
        close_old_connections()
        checked_before = connection.health_check_done

        def run():
            calls.append(1)
            return connection.health_check_done

        assert hot_queries.on_live_connection(run) == checked_before
    assert calls == [1]
