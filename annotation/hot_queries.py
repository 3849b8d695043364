"""The statements of the answer path and of the stimuli, as fixed SQL on prepared statements.

Every answer runs them (hundreds per second in a live study). Built through the ORM they
cost milliseconds of CPU per answer to compile; as fixed SQL, built once from the models'
table and column names, almost nothing. On PostgreSQL they go through a server-binding
psycopg cursor that prepares every statement (``prepared_cursor``), so the server plans
each of them once per connection, not once per answer. The rest of the ORM keeps Django's
default (client-side binding, nothing prepared).

Connection poolers: a prepared statement lives in one server connection. PgBouncer in
*session* pooling mode needs nothing. In *transaction* pooling mode it needs PgBouncer
1.21 or later with ``max_prepared_statements`` set (e.g. 100); with older versions, or any
pooler that cannot track prepared statements, set ``DATABASE_PREPARE=0`` (this module then
sends the same SQL unprepared).

An answer reads the participant row with its study, the trial answered and the main trial after
the current one, and writes the INSERT of the answer together with the UPDATE of the participant
(one statement on PostgreSQL, through a data-modifying ``WITH``). The usual answer does it in two
statements, without a transaction of its own and without a lock: the participant, with its row
version (``xmin``), and the trials are read in one statement (``read_participant_and_trials``),
and the write applies only if the row is still that version (``store_answer_if_unchanged``; a
concurrent writer makes it wait, then find the row changed). Otherwise, and for replays, refusals
and answers that block or complete, it runs again in one transaction with the participant row
locked (``lock_participant``, ``trial_and_next_rows``, ``store_answer``). The next screen's
pictures come from a per-process cache (``annotation.pictures``); only sketches not in it cost one
more statement. The answer runs through :func:`on_live_connection`: no per-request health check
(``SELECT 1``), one retry on a fresh connection when the old one is dead. So the usual answer is
two round trips, the locked way five (BEGIN, the three statements, COMMIT).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from functools import cache
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from annotation.models import Answer, Participant, ParticipantStatus, Trial
from sketches.models import Category, Sketch
from studies.models import GoldPair, Study

T = TypeVar("T")

#: What answering (and the screen that follows it) reads of the study; the rest is deferred.
STUDY_FIELDS = {
    "id",
    "name",
    "slug",
    "question",
    "state",
    "panel",
    "allow_no_difference",
    "show_category",
    # the trial type (annotation.trial_types): which answers a trial takes
    "trial_type",
    "options_per_trial",
    "max_sentinel_mistakes",
    "min_duplicate_agreement",
    # screening (studies.screening via Study.screening_rules)
    "sentinels_per_participant",
    "duplicates_per_participant",
    "screening_rule",
    "sequential_screening",
    "screening_alpha",
    "too_fast_ms",
    "too_fast_share",
    "too_fast_block_after",
    "break_every",
    "idle_timeout_minutes",
    "completion_code",
    "completion_url",
}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


def _column(model, name: str) -> str:
    return _q(model._meta.get_field(name).column)


class _Loader:
    """Builds model instances from a run of selected columns, converting values as the ORM does."""

    def __init__(self, model, names=None):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if names is None or f.name in names]
        self.attnames = [f.attname for f in self.fields]
        self.converters = []
        for index, field in enumerate(self.fields):
            col = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
            if found:
                self.converters.append((index, col, found))

    def __len__(self) -> int:
        return len(self.fields)

    def select(self, alias: str) -> str:
        return ", ".join(f"{alias}.{_q(f.column)}" for f in self.fields)

    def load(self, values):
        values = list(values)
        for index, col, converters in self.converters:
            for convert in converters:
                values[index] = convert(values[index], col, connection)
        model = self.model
        if pre_init.has_listeners(model) or post_init.has_listeners(model):
            return model.from_db(connection.alias, self.attnames, values)
        # What ``from_db`` builds when no signal listens, without ``Model.__init__``'s walk over
        # every field: the loaded values as attributes (fields not selected stay deferred).
        instance = model.__new__(model)
        instance._state = ModelState()
        instance._state.adding, instance._state.db = False, connection.alias
        instance.__dict__.update(zip(self.attnames, values))
        return instance


@cache
def _loaders(vendor: str) -> dict[str, _Loader]:
    return {
        "participant": _Loader(Participant),
        "study": _Loader(Study, STUDY_FIELDS),
        "trial": _Loader(Trial),
    }


#: psycopg prepares a statement automatically after this many runs; this module asks explicitly
#: (``prepare=True``), and nothing else on the connection prepares anything.
ONLY_WHEN_ASKED = 2**31 - 1


@cache
def _prepared_cursor_class():
    import psycopg

    class PreparedCursor(psycopg.Cursor):
        """Server-side binding; every statement prepared (psycopg keeps them per connection)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg keeps the query of unprepared executions only; Django's query log reads it.
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparedCursor


def on_live_connection(transaction: Callable[[], T]) -> T:
    """Run ``transaction`` (one whole transaction that is safe to run twice) without Django's
    per-request health check, a ``SELECT 1`` round trip before the first statement
    (``CONN_HEALTH_CHECKS``). Instead, when the transaction fails because the connection is
    gone (PostgreSQL restarted, a backend killed, a network cut: Django has replaced it after
    its rollback failed, or it fails Django's ``is_usable``, asked only then), ``transaction``
    runs once more on a fresh connection. Any other error is raised as it is.

    Safe for the answer because an answer is idempotent per trial token: if the first run had
    committed before the connection broke (a lost COMMIT reply), the second finds the answer
    stored and replays it. Inside an outer transaction nothing can be retried: the health check
    then stays as configured."""
    if connection.in_atomic_block:
        return transaction()
    connection.health_check_done = True  # reset by Django at the next request
    connection.ensure_connection()  # no round trip when connected
    used = connection.connection
    try:
        return transaction()
    except (OperationalError, InterfaceError):
        # Django replaces a connection whose rollback failed; one it kept must pass is_usable.
        if connection.connection is used:
            if connection.is_usable():
                raise  # the statement failed, not the link
            connection.close()
        return transaction()


@contextmanager
def prepared_cursor():
    """A Django cursor (queries logged and counted as usual) whose statements PostgreSQL plans once
    per connection. Elsewhere, or with ``DATABASE_PREPARE=0``, an ordinary cursor."""
    if connection.vendor != "postgresql" or not settings.SKETCHQ_DATABASE_PREPARE:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.close_if_health_check_failed()  # a no-op inside on_live_connection
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django's default, which turns even prepare=True off
        raw.prepare_threshold = ONLY_WHEN_ASKED
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(_prepared_cursor_class()(connection.connection))
    with cursor:
        yield cursor


def _participant_parts(vendor: str, with_slug: bool, versioned: bool) -> tuple[str, str, str]:
    """SELECT list, FROM and WHERE of the participant row with its study (``p``, ``s``);
    ``versioned``: led by the row version ``xmin`` (PostgreSQL only)."""
    loaders = _loaders(vendor)
    version = "p.xmin::text, " if versioned else ""
    slug = f" AND s.{_column(Study, 'slug')} = %s" if with_slug else ""
    return (
        f"{version}{loaders['participant'].select('p')}, {loaders['study'].select('s')}",
        f"{_table(Participant)} p JOIN {_table(Study)} s ON s.{_q('id')} = p.{_column(Participant, 'study')}",
        f"p.{_q('id')} = %s{slug}",
    )


def _load_participant(values) -> Participant:
    """The participant with ``.study`` from the columns of ``_participant_parts`` (after the version)."""
    loaders = _loaders(connection.vendor)
    split = len(loaders["participant"])
    participant = loaders["participant"].load(values[:split])
    participant.study = loaders["study"].load(values[split : split + len(loaders["study"])])
    return participant


@cache
def _locked_participant_sql(vendor: str, with_slug: bool) -> str:
    columns, tables, where = _participant_parts(vendor, with_slug, versioned=False)
    lock = " FOR UPDATE OF p" if connection.features.has_select_for_update_of else ""
    return f"SELECT {columns} FROM {tables} WHERE {where}{lock}"


def lock_participant(pk: int, study_slug: str | None = None) -> Participant:
    """The participant row, locked until the end of the transaction (the study row is only
    read), with ``.study`` loaded (fields ``STUDY_FIELDS``). ``Participant.DoesNotExist`` if
    there is no such participant (in that study)."""
    params = [pk, study_slug] if study_slug is not None else [pk]
    with prepared_cursor() as cursor:
        cursor.execute(_locked_participant_sql(connection.vendor, study_slug is not None), params)
        row = cursor.fetchone()
    if row is None:
        raise Participant.DoesNotExist(f"participant {pk} not found")
    return _load_participant(row)


def _trials_select(vendor: str, participant: str, next_position: str) -> str:
    """The trial with ``token`` (the first ``%s``) and the main trial at ``next_position`` of the
    participant ``participant`` (SQL expressions), each with its answer's id, its gold pair's
    better sketch, a duplicate's original choice and its category's name."""
    t = _loaders(vendor)["trial"]
    answer = _table(Answer)
    return (
        f"SELECT {t.select('t')}, a.{_q('id')}, g.{_column(GoldPair, 'better')}, "
        f"o.{_column(Answer, 'chosen_sketch')}, c.{_column(Category, 'name')} "
        f"FROM {_table(Trial)} t "
        f"LEFT JOIN {answer} a ON a.{_column(Answer, 'trial')} = t.{_q('id')} "
        f"LEFT JOIN {_table(GoldPair)} g ON g.{_q('id')} = t.{_column(Trial, 'gold_pair')} "
        f"LEFT JOIN {answer} o ON o.{_column(Answer, 'trial')} = t.{_column(Trial, 'duplicate_of')} "
        f"JOIN {_table(Sketch)} k ON k.{_q('id')} = t.{_column(Trial, 'left_sketch')} "
        f"JOIN {_table(Category)} c ON c.{_q('id')} = k.{_column(Sketch, 'category')} "
        f"WHERE t.{_column(Trial, 'participant')} = {participant} AND (t.{_q('token')} = %s "
        f"OR (NOT t.{_q('is_practice')} AND t.{_q('position')} = {next_position}))"
    )


@cache
def _trials_sql(vendor: str) -> str:
    return f"{_trials_select(vendor, '%s', '%s')} ORDER BY t.{_q('is_practice')}, t.{_q('position')}"


def _load_trials(rows) -> list[Trial]:
    loader = _loaders(connection.vendor)["trial"]
    trials = []
    for row in rows:
        trial = loader.load(row[: len(loader)])
        trial.answer_id, trial.gold_better_id, trial.first_chosen_id, trial.category_name = row[len(loader) :]
        trials.append(trial)
    return trials


def trial_and_next_rows(participant_id: int, token: str, next_position: int) -> list[Trial]:
    """The trial ``token`` and the main trial at ``next_position``, each annotated with
    ``answer_id``, ``gold_better_id`` (sentinels), ``first_chosen_id`` (a duplicate's
    original answer; None also for "no difference") and ``category_name``."""
    with prepared_cursor() as cursor:
        cursor.execute(_trials_sql(connection.vendor), [participant_id, token, next_position])
        return _load_trials(cursor.fetchall())


def next_position_of(participant: Participant) -> int:
    """The position of the main trial due once the current one is answered (-1: none, the
    participant is not active). ``read_participant_and_trials`` computes the same in SQL."""
    return participant.current_position + 1 if participant.status == ParticipantStatus.ACTIVE else -1


@cache
def _participant_and_trials_sql(vendor: str, with_slug: bool) -> str:
    """The participant row with its version and study, and ``_trials_select`` joined beside it, in
    one statement: one row per trial found, or one row with no trial; none without the participant."""
    columns, tables, where = _participant_parts(vendor, with_slug, versioned=True)
    status, position = _column(Participant, "status"), _column(Participant, "current_position")
    next_position = f"CASE WHEN p.{status} = %s THEN p.{position} + 1 ELSE -1 END"
    trials = _trials_select(vendor, f"p.{_q('id')}", next_position)
    return (
        f"SELECT {columns}, x.* FROM {tables} LEFT JOIN LATERAL ({trials}) x ON true "
        f"WHERE {where} ORDER BY x.{_q('is_practice')}, x.{_q('position')}"
    )


def read_participant_and_trials(
    pk: int, study_slug: str | None, token: str
) -> tuple[Participant, str, list[Trial]]:
    """The participant row, not locked, with ``.study`` (as ``lock_participant``), its version
    (PostgreSQL's ``xmin`` of the row read, which any later UPDATE of the row changes:
    ``store_answer_if_unchanged``), and what ``trial_and_next_rows`` gives at the participant's
    ``next_position_of``: in one statement and one round trip, from one snapshot. PostgreSQL only."""
    params = [token, ParticipantStatus.ACTIVE.value, pk] + ([study_slug] if study_slug is not None else [])
    with prepared_cursor() as cursor:
        cursor.execute(_participant_and_trials_sql(connection.vendor, study_slug is not None), params)
        rows = cursor.fetchall()
    if not rows:
        raise Participant.DoesNotExist(f"participant {pk} not found")
    loaders = _loaders(connection.vendor)
    end = 1 + len(loaders["participant"]) + len(loaders["study"])
    found = [row[end:] for row in rows if row[end] is not None]  # a trial's id is never NULL
    return _load_participant(rows[0][1:]), rows[0][0], _load_trials(found)


@cache
def _answer_fields(vendor: str) -> tuple:
    return tuple(f for f in Answer._meta.concrete_fields if not f.primary_key)


@cache
def _participant_fields(names: tuple[str, ...]) -> tuple:
    return tuple(Participant._meta.get_field(name) for name in names)


#: Fields whose value goes to the database as it is on the instance (every parameter is then sent
#: as text, ``_as_text``): ``get_db_prep_save`` of these only re-checks the Python type.
_PLAIN_FIELDS = (
    models.CharField,
    models.BooleanField,
    models.IntegerField,
    models.FloatField,
    models.ForeignKey,
)


@cache
def _is_plain(field, adding: bool) -> bool:
    if isinstance(field, models.DateTimeField):  # unchanged on PostgreSQL unless set by auto_now(_add)
        return not field.auto_now and not (adding and field.auto_now_add)
    return isinstance(field, _PLAIN_FIELDS) and not field.primary_key


def _saved_value(field, instance, adding: bool):
    """What ``field.get_db_prep_save(field.pre_save(instance, adding))`` gives, cheaply for plain fields."""
    if _is_plain(field, adding):
        return getattr(instance, field.attname)
    return field.get_db_prep_save(field.pre_save(instance, adding), connection)


@cache
def _savers(fields: tuple, adding: bool) -> tuple:
    """Per field, ``_saved_value``'s choice made once: (attname, None) for a plain field, whose value
    goes as it is, else (attname, the field) for the ORM's ``pre_save`` and ``get_db_prep_save``."""
    return tuple((f.attname, None if _is_plain(f, adding) else f) for f in fields)


def _saved_texts(instance, fields: tuple, adding: bool) -> list:
    """``_as_text(_saved_value(field, instance, adding))`` for each field, in order."""
    values = []
    for attname, field in _savers(fields, adding):
        if field is None:
            value = getattr(instance, attname)
        else:
            value = field.get_db_prep_save(field.pre_save(instance, adding), connection)
        values.append(_as_text(value))
    return values


def _cast(field) -> str:
    return f"%s::{field.db_type(connection)}"


def _as_text(value):
    """Every parameter of the store statement goes as text (or NULL), cast in the SQL: psycopg keys
    a prepared statement on its parameter types, and NULL, True or a float would each make a new one."""
    if value is None or isinstance(value, str):
        return value
    if type(value) is int:  # the most common after text (bool, a subclass, is below)
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _answer_and_update_sql(vendor: str, update_fields: tuple[str, ...]) -> tuple[str, str, str]:
    """The answer's column list and its placeholders, and the participant's ``SET`` list."""
    fields = _answer_fields(vendor)
    columns = ", ".join(_q(f.column) for f in fields)
    values = ", ".join(_cast(f) for f in fields)
    updates = ", ".join(
        f"{_q(Participant._meta.get_field(n).column)} = {_cast(Participant._meta.get_field(n))}"
        for n in update_fields
    )
    return columns, values, updates


@cache
def _store_sql(vendor: str, update_fields: tuple[str, ...]) -> str:
    columns, values, updates = _answer_and_update_sql(vendor, update_fields)
    return (
        f"WITH a AS (INSERT INTO {_table(Answer)} ({columns}) VALUES ({values}) RETURNING {_q('id')}) "
        f"UPDATE {_table(Participant)} SET {updates} FROM a "
        f"WHERE {_table(Participant)}.{_q('id')} = %s::bigint RETURNING a.{_q('id')}"
    )


def store_answer(answer: Answer, participant: Participant, update_fields: list[str]) -> None:
    """INSERT ``answer`` and save ``update_fields`` of the (locked) participant: one statement on
    PostgreSQL, the ORM's two elsewhere. Sets ``answer.pk``."""
    if connection.vendor != "postgresql":
        answer.save(force_insert=True)
        participant.save(update_fields=update_fields)
        return
    params = _saved_texts(answer, _answer_fields(connection.vendor), True)
    params += _saved_texts(participant, _participant_fields(tuple(update_fields)), False)
    params.append(_as_text(participant.pk))
    with prepared_cursor() as cursor:
        cursor.execute(_store_sql(connection.vendor, tuple(update_fields)), params)
        answer.pk = cursor.fetchone()[0]
    answer._state.adding, answer._state.db = False, connection.alias


@cache
def _store_if_unchanged_sql(vendor: str, update_fields: tuple[str, ...]) -> str:
    columns, values, updates = _answer_and_update_sql(vendor, update_fields)
    return (
        f"WITH p AS (UPDATE {_table(Participant)} SET {updates} "
        f"WHERE {_q('id')} = %s::bigint AND xmin = %s::xid RETURNING {_q('id')}) "
        f"INSERT INTO {_table(Answer)} ({columns}) SELECT {values} FROM p RETURNING {_q('id')}"
    )


def store_answer_if_unchanged(
    answer: Answer, participant: Participant, update_fields: list[str], version: str
) -> bool:
    """``store_answer`` in one statement outside any lock, applied only if the participant row is
    still the version ``read_participant_and_trials`` returned (no request, of this participant or
    of anyone else, has updated it since): then the UPDATE and the INSERT are one atomic statement,
    and True. Otherwise neither is written, and False (the caller goes the locked way). A
    concurrent writer holding the row makes this statement wait for it, and then find the row
    changed. PostgreSQL only."""
    params = _saved_texts(participant, _participant_fields(tuple(update_fields)), False)
    params += [_as_text(participant.pk), version]
    params += _saved_texts(answer, _answer_fields(connection.vendor), True)
    with prepared_cursor() as cursor:
        cursor.execute(_store_if_unchanged_sql(connection.vendor, tuple(update_fields)), params)
        row = cursor.fetchone()
    if row is None:
        return False
    answer.pk = row[0]
    answer._state.adding, answer._state.db = False, connection.alias
    return True


@cache
def _answer_count_sql(vendor: str) -> str:
    return (
        f"UPDATE {_table(Participant)} SET {_column(Participant, 'answer_window')} = %s, "
        f"{_column(Participant, 'answers_in_window')} = %s WHERE {_q('id')} = %s"
    )


def save_answer_count(participant: Participant) -> None:
    """Save the (locked) participant's answer rate count alone: for an answer request that stores
    no answer (a replay, a refusal); a stored answer saves it in its own statement."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _answer_count_sql(connection.vendor),
            [participant.answer_window, participant.answers_in_window, participant.pk],
        )


@cache
def _stimulus_sql(vendor: str, side: str) -> str:  # side: left, right, third or fourth
    sketch = _column(Trial, f"{side}_sketch")
    strokes = f"k.{_column(Sketch, 'strokes')}"
    as_text = f"{strokes}::text" if vendor == "postgresql" else strokes
    return (
        f"SELECT k.{_q('id')}, {as_text} FROM {_table(Trial)} t "
        f"JOIN {_table(Participant)} p ON p.{_q('id')} = t.{_column(Trial, 'participant')} "
        f"JOIN {_table(Study)} s ON s.{_q('id')} = p.{_column(Participant, 'study')} "
        f"JOIN {_table(Sketch)} k ON k.{_q('id')} = t.{sketch} "
        f"WHERE t.{_q('token')} = %s AND s.{_column(Study, 'slug')} = %s"
    )


def stimulus_row(slug: str, token: str, side: str) -> tuple[int, str] | None:
    """(sketch id, strokes as JSON text) of one side of the trial ``token`` of study ``slug``."""
    with prepared_cursor() as cursor:
        cursor.execute(_stimulus_sql(connection.vendor, side), [token, slug])
        return cursor.fetchone()


@cache
def _strokes_sql(vendor: str) -> str:
    return (
        f"SELECT {_q('id')}, {_column(Sketch, 'strokes')}::text FROM {_table(Sketch)} "
        f"WHERE {_q('id')} = ANY(%s::bigint[])"
    )


def strokes_rows(sketch_ids: list[int]) -> list[tuple[int, str]]:
    """(sketch id, strokes as JSON text) of these sketches, in one statement (the pictures of a
    screen not yet cached by ``annotation.pictures``)."""
    if connection.vendor != "postgresql":
        import json

        rows = Sketch.objects.filter(pk__in=sketch_ids).values_list("pk", "strokes")
        return [(pk, json.dumps(strokes)) for pk, strokes in rows]
    with prepared_cursor() as cursor:
        cursor.execute(_strokes_sql(connection.vendor), [[int(pk) for pk in sketch_ids]])
        return cursor.fetchall()
