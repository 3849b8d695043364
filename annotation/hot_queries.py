"""The two reads of the answer path, as fixed SQL.

Every answer runs them (hundreds per second in a live study). Built through the ORM
they cost about 3 ms of CPU per answer just to compile (joins, annotations); as fixed
SQL, built once from the models' table and column names, almost nothing. Loading still
goes through ``Model.raw`` / ``Model.from_db``, so values are converted as usual.
"""

from __future__ import annotations

from functools import cache

from django.db import connection

from annotation.models import Answer, Participant, Trial
from studies.models import GoldPair, Study

#: What answering (and the screen that follows it) reads of the study; the rest is deferred.
#: In the model's field order, as ``Model.from_db`` expects.
STUDY_FIELDS = [
    f.name
    for f in Study._meta.concrete_fields
    if f.name
    in {
        "id",
        "name",
        "slug",
        "question",
        "state",
        "panel",
        "allow_no_difference",
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
]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _lock_sql(with_slug: bool) -> str:
    study_columns = ", ".join(
        f"s.{_q(Study._meta.get_field(n).column)} AS {_q('study_' + n)}" for n in STUDY_FIELDS
    )
    slug = f" AND s.{_q('slug')} = %s" if with_slug else ""
    lock = " FOR UPDATE OF p" if connection.features.has_select_for_update_of else ""
    return (
        f"SELECT p.*, {study_columns} FROM {_q(Participant._meta.db_table)} p "
        f"JOIN {_q(Study._meta.db_table)} s ON s.{_q('id')} = p.{_q('study_id')} "
        f"WHERE p.{_q('id')} = %s{slug}{lock}"
    )


def lock_participant(pk: int, study_slug: str | None = None) -> Participant:
    """The participant row, locked until the end of the transaction (the study row is only
    read), with ``.study`` loaded (fields ``STUDY_FIELDS``). ``Participant.DoesNotExist`` if
    there is no such participant (in that study)."""
    params = [pk, study_slug] if study_slug is not None else [pk]
    rows = list(Participant.objects.raw(_lock_sql(study_slug is not None), params))
    if not rows:
        raise Participant.DoesNotExist(f"participant {pk} not found")
    participant = rows[0]
    values = [getattr(participant, f"study_{name}") for name in STUDY_FIELDS]
    values[STUDY_FIELDS.index("allow_no_difference")] = bool(
        values[STUDY_FIELDS.index("allow_no_difference")]
    )
    participant.study = Study.from_db(participant._state.db, STUDY_FIELDS, values)
    return participant


@cache
def _trials_sql() -> str:
    trial, answer, gold = _q(Trial._meta.db_table), _q(Answer._meta.db_table), _q(GoldPair._meta.db_table)
    return (
        f"SELECT t.*, a.{_q('id')} AS answer_id, g.{_q('better_id')} AS gold_better_id, "
        f"o.{_q('chosen_sketch_id')} AS first_chosen_id "
        f"FROM {trial} t "
        f"LEFT JOIN {answer} a ON a.{_q('trial_id')} = t.{_q('id')} "
        f"LEFT JOIN {gold} g ON g.{_q('id')} = t.{_q('gold_pair_id')} "
        f"LEFT JOIN {answer} o ON o.{_q('trial_id')} = t.{_q('duplicate_of_id')} "
        f"WHERE t.{_q('participant_id')} = %s AND (t.{_q('token')} = %s "
        f"OR (NOT t.{_q('is_practice')} AND t.{_q('position')} IN (%s, %s))) "
        f"ORDER BY t.{_q('is_practice')}, t.{_q('position')}"
    )


def trial_and_next_rows(participant_id: int, token: str, next_positions: tuple[int, int]) -> list[Trial]:
    """The trial ``token`` and the main trials at ``next_positions``, each annotated with
    ``answer_id``, ``gold_better_id`` (sentinels) and ``first_chosen_id`` (a duplicate's
    original answer; None also for "no difference")."""
    return list(Trial.objects.raw(_trials_sql(), [participant_id, token, *next_positions]))
