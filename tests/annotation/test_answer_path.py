"""The answer path's cost in statements, pinned: no session table, no stray queries.

On PostgreSQL the usual answer is two statements in no transaction of its own: the participant
read with its row version together with the trials, and the INSERT+UPDATE in one, applied only if
the row is unchanged; elsewhere it is the locked transaction, with the INSERT and UPDATE two statements. The next screen's pictures are inline, from
the process's cache; a sketch not drawn yet costs one more statement (all of a screen's at once).
A stimulus is one statement, by token.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from annotation import pictures
from annotation.models import Answer
from tests import services
from tests.annotation.factories import at_trials, main_trials, make_running_study

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def entered(study, participant):
    client = Client()
    assert client.get(f"/p/{study.slug}/?pid={participant.panel_id}").status_code == 302
    return client


def test_an_answer_is_two_statements_on_postgresql_and_never_reads_the_session_table():
    study = make_running_study("answer-path")
    participant = at_trials(study)
    client = entered(study, participant)
    trials = main_trials(participant)
    for trial in trials[:3]:
        following = trials[trial.position + 1]
        cold = trial.position == 0  # the next pair's sketches were never drawn in this process
        if cold:
            pictures.clear()
        else:
            pictures.pictures([following.left_sketch_id, following.right_sketch_id])
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                f"/p/{study.slug}/answer/", {"token": trial.token, "choice": "left"}, **HTMX
            )
        assert response.status_code == 200 and trials[trial.position + 1].token in response.content.decode()
        assert Answer.objects.filter(trial=trial).exists()
        # SAVEPOINTs are the test's own transaction around the action's (BEGIN/COMMIT in production).
        sql = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(sql) == (2 if connection.vendor == "postgresql" else 4) + cold, sql
        assert not any("django_session" in s or "auth_user" in s for s in sql)
        assert cold == any("strokes" in s for s in sql)
        if connection.vendor == "postgresql":  # no lock taken: the write checks the row's version
            assert "xmin" in sql[0] and "LATERAL" in sql[0] and not any("FOR UPDATE" in s for s in sql)
            assert any(s.startswith("WITH") and "xmin" in s for s in sql)


def test_a_stimulus_is_one_statement_and_the_browser_may_keep_it():
    study = make_running_study("stimulus-path")
    participant = at_trials(study)
    client = entered(study, participant)
    trial = main_trials(participant)[0]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/p/{study.slug}/s/{trial.token}/right.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert len(queries.captured_queries) == 1
    assert "immutable" in response["Cache-Control"] and "max-age" in response["Cache-Control"]
    assert response.content.count(b"<path") == trial.right_sketch.stroke_count


def test_the_task_page_reads_no_session_either():
    study = make_running_study("task-path")
    participant = at_trials(study)
    client = entered(study, participant)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/p/{study.slug}/task/").status_code == 200
    assert not any("django_session" in q["sql"] for q in queries.captured_queries)
    assert "sessionid" not in client.cookies


@services.requires_postgres()  # store_answer uses the ORM itself elsewhere
def test_the_answer_statement_sends_what_the_orm_would_save_and_loads_what_the_orm_would_load():
    """``hot_queries`` skips ``get_db_prep_save`` for plain fields and ``Model.__init__`` when
    loading rows: both must give the ORM's own values, field by field."""
    from django.utils import timezone

    from annotation import hot_queries
    from annotation.models import Participant, Trial

    study = make_running_study("plain-values")
    participant = at_trials(study)
    trial = main_trials(participant)[0]
    participant.duplicate_agreement, participant.blocked_at = 0.5, timezone.now()
    answer = Answer(
        trial=trial, choice="left", is_correct=True, served_at=timezone.now(), client_response_ms=812
    )
    for instance, fields, adding in (
        (answer, hot_queries._answer_fields(connection.vendor), True),
        (participant, [f for f in Participant._meta.concrete_fields if not f.primary_key], False),
    ):
        for field in fields:
            if not (adding and getattr(field, "auto_now_add", False)):  # pre_save stamps "now" each call
                orm = field.get_db_prep_save(field.pre_save(instance, adding), connection)
                assert hot_queries._saved_value(field, instance, adding) == orm, field.name
                [sent] = hot_queries._saved_texts(instance, (field,), adding)
                assert sent == hot_queries._as_text(orm), field.name
    locked = hot_queries.lock_participant(participant.pk, study.slug)
    fresh = Participant.objects.select_related("study").get(pk=participant.pk)
    for field in Participant._meta.concrete_fields:
        assert getattr(locked, field.attname) == getattr(fresh, field.attname), field.name
    assert locked.study.slug == study.slug and locked.study.question == fresh.study.question
    assert locked.study.consent_text == fresh.study.consent_text  # deferred, read when asked
    assert not locked._state.adding and locked._state.db == "default"
    [loaded] = [t for t in hot_queries.trial_and_next_rows(participant.pk, trial.token, -1)]
    assert (
        loaded.token == trial.token and loaded.left_sketch_id == Trial.objects.get(pk=trial.pk).left_sketch_id
    )
