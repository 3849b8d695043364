"""Handing out planned pairs to participants, safely under concurrency.

The rule: every planned pair of a study is handed out once before any is handed out
twice (lowest ``times_assigned`` first, then lowest ``order``, the plan's seeded
hand-out order). Two participants drawing at the same moment never get the same pair
while pairs that nobody has seen are left.

* PostgreSQL: ``SELECT ... WHERE times_assigned = k ORDER BY order LIMIT n FOR UPDATE
  SKIP LOCKED``. Rows another transaction is handing out are skipped, and PostgreSQL
  re-checks ``times_assigned = k`` on a row that changed while we waited, so a pair
  just handed out elsewhere is not taken again. Then one UPDATE adds 1.
* Other databases (SQLite, which has no row locks): a conditional
  ``UPDATE ... SET times_assigned = k + 1 WHERE id IN (...) AND times_assigned = k
  RETURNING id``, keeping only the rows this statement hit (without RETURNING: one
  such UPDATE per candidate, keeping those whose row count is 1).

Must run inside the caller's transaction (``transaction.atomic``): the increments
are only visible to others when the participant's whole trial list is stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F, Min

from studies.models import PlannedPair

CHUNK = 500


def do_claim_planned_pairs(study_id: int, n: int, exclude: Iterable[int] = ()) -> list[int]:
    """Ids of ``n`` distinct planned pairs, least handed-out first; their counts go up by 1.

    Pairs in ``exclude`` (already claimed by this participant) are left alone. The caller
    must have checked that the plan holds at least ``n`` pairs besides them.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("do_claim_planned_pairs must run inside transaction.atomic()")
    pairs = PlannedPair.objects.filter(study_id=study_id)
    excluded = list(exclude)
    if excluded:
        pairs = pairs.exclude(pk__in=excluded)
    claimed: list[int] = []
    level = pairs.aggregate(low=Min("times_assigned"))["low"]
    while len(claimed) < n and level is not None:
        claimed += _claim_at(pairs, level, n - len(claimed), claimed)
        level = pairs.filter(times_assigned__gt=level).aggregate(low=Min("times_assigned"))["low"]
    if len(claimed) < n:
        # Every remaining pair is being handed out by someone else right now:
        # wait for them (no SKIP LOCKED), then take the least handed-out ones.
        rest = list(
            pairs.exclude(pk__in=claimed)
            .select_for_update()
            .order_by("times_assigned", "order")
            .values_list("pk", flat=True)[: n - len(claimed)]
        )
        pairs.filter(pk__in=rest).update(times_assigned=F("times_assigned") + 1)
        claimed += rest
    return claimed


def do_release_planned_pairs(planned_pair_ids: Iterable[int]) -> int:
    """Give planned pairs back to the pool (e.g. a participant who abandoned): each count goes
    down by 1, never below 0. Pass each regular trial's ``planned_pair_id`` once (not the
    duplicates'). Returns the number of pairs whose count went down."""
    ids = set(planned_pair_ids)
    if not ids:
        return 0
    return PlannedPair.objects.filter(pk__in=ids, times_assigned__gt=0).update(
        times_assigned=F("times_assigned") - 1
    )


def _claim_at(pairs, level: int, need: int, already: list[int]) -> list[int]:
    at_level = pairs.filter(times_assigned=level).exclude(pk__in=already).order_by("order")
    if connection.features.has_select_for_update_skip_locked:
        ids = list(at_level.select_for_update(skip_locked=True).values_list("pk", flat=True)[:need])
        pairs.filter(pk__in=ids).update(times_assigned=F("times_assigned") + 1)
        return ids
    won: list[int] = []
    while len(won) < need:
        candidates = list(at_level.exclude(pk__in=won).values_list("pk", flat=True)[: need - len(won)])
        if not candidates:
            break
        won += _conditional_increment(pairs, candidates, level)
    return won


def _conditional_increment(pairs, candidates: list[int], level: int) -> list[int]:
    """``UPDATE … SET times_assigned = k + 1 WHERE id IN (…) AND times_assigned = k``; the ids it hit.

    With ``RETURNING`` (SQLite >= 3.35, PostgreSQL) one statement per chunk says exactly
    which rows this transaction won; otherwise one statement per row, checking its count.
    """
    if not connection.features.can_return_columns_from_insert:
        return [
            pk
            for pk in candidates
            if pairs.filter(pk=pk, times_assigned=level).update(times_assigned=level + 1)
        ]
    table, quote = PlannedPair._meta.db_table, connection.ops.quote_name
    won = set()
    with connection.cursor() as cursor:
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start : start + CHUNK]
            cursor.execute(
                f"UPDATE {quote(table)} SET times_assigned = times_assigned + 1 "
                f"WHERE times_assigned = %s AND id IN ({', '.join(['%s'] * len(chunk))}) RETURNING id",
                [level, *chunk],
            )
            won.update(row[0] for row in cursor.fetchall())
    return [pk for pk in candidates if pk in won]
