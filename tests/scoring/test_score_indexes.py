"""The scores table keeps one index per way it is searched: the upsert of every scoring task
writes an entry into each, so none may duplicate the leading column of another (migration 0005)."""

from __future__ import annotations

import pytest
from django.db import connection

from scoring.models import SketchScore

pytestmark = pytest.mark.django_db


def _indexed_columns() -> list[list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, SketchScore._meta.db_table)
    return [c["columns"] for c in found.values() if c["index"] or c["unique"]]


def test_every_lookup_by_sketch_or_scorer_has_an_index_and_no_index_is_a_prefix_of_another():
    indexed = _indexed_columns()
    assert ["sketch_id", "scorer_id"] in indexed  # the upsert's conflict target; lookups by sketch
    assert ["scorer_id", "q"] in indexed  # a scorer's scores, by q
    for columns in indexed:
        longer = [
            other for other in indexed if len(other) > len(columns) and other[: len(columns)] == columns
        ]
        assert not longer, f"index on {columns} duplicates the lead of {longer}"
