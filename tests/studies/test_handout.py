"""The conditional-update hand-out (SQLite's path): a pair taken meanwhile by someone else is not won."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from studies.actions import do_freeze_plan
from studies.handout import _conditional_increment, do_claim_planned_pairs
from studies.models import PlannedPair
from tests.factories import make_scored_study


@pytest.fixture
def pairs(db):
    study = make_scored_study()
    do_freeze_plan(study)
    return PlannedPair.objects.filter(study=study)


@pytest.mark.parametrize("returning", [True, False])
def test_only_pairs_still_at_the_expected_count_are_won(pairs, monkeypatch, returning):
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", returning)
    candidates = list(pairs.order_by("order").values_list("pk", flat=True)[:10])
    taken_meanwhile = candidates[::3]
    pairs.filter(pk__in=taken_meanwhile).update(times_assigned=1)  # another participant got these first
    won = _conditional_increment(pairs, candidates, level=0)
    assert won == [pk for pk in candidates if pk not in taken_meanwhile]
    assert set(pairs.filter(pk__in=candidates).values_list("times_assigned", flat=True)) == {1}


def test_claims_follow_the_plans_hand_out_order_within_the_lowest_count(pairs):
    first_ids = list(pairs.order_by("order").values_list("pk", flat=True)[:5])
    pairs.filter(pk__in=first_ids[:2]).update(times_assigned=1)
    with transaction.atomic():
        claimed = do_claim_planned_pairs(pairs.first().study_id, 5)
    expected = list(pairs.exclude(pk__in=first_ids[:2]).order_by("order").values_list("pk", flat=True)[:5])
    assert claimed == expected
