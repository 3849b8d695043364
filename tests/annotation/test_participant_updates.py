"""An answer's UPDATE of its participant's row is a HOT update on PostgreSQL (migration 0009):
no index of the table covers a column that answers keep changing, and pages keep room for the
row's next version. Otherwise every answer writes an entry into each of the table's indexes."""

from __future__ import annotations

import pytest
from django.db import connection

from annotation.actions import do_submit_answer
from annotation.answering import _UPDATED_FIELDS
from annotation.models import Participant
from tests import services
from tests.annotation.factories import at_trials, main_trials, make_running_study, unbiased_choice

#: Written by answers but changed only when a participant starts, stops or is screened.
RARELY_CHANGED = {"status", "qualified", "screening", "screening_reason", "completed_at", "blocked_at"}


def test_no_index_of_the_participant_covers_a_column_every_answer_changes():
    indexed = {name for index in Participant._meta.indexes for name in index.fields}
    for constraint in Participant._meta.constraints:
        indexed |= set(getattr(constraint, "fields", ()))
    assert indexed & (set(_UPDATED_FIELDS) - RARELY_CHANGED) == set()


@services.requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_answers_update_the_participant_row_in_place():
    study = make_running_study("hot-updates")
    participant = at_trials(study)
    trials = main_trials(participant)[:12]

    def counts():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s",
                [Participant._meta.db_table],
            )
            return cursor.fetchone()

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Participant._meta.db_table])
        assert "fillfactor=80" in (cursor.fetchone()[0] or [])
    updated, hot = counts()
    for trial in trials:
        assert do_submit_answer(participant.pk, trial.token, unbiased_choice(trial)).stored
    updated_after, hot_after = counts()
    assert updated_after - updated == len(trials)
    assert hot_after - hot == len(trials)
