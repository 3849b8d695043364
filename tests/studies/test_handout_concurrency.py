"""Concurrent participants on PostgreSQL: no pair goes to two of them while unseen pairs remain."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction

from studies.actions import do_draw_trial_list, do_freeze_plan
from studies.models import PlannedPair, Study
from tests.factories import make_scored_study
from tests.services import requires_postgres

N_THREADS = 5


def draw_concurrently(study_id: int, indices: list[int]) -> dict[int, list[int]]:
    barrier = threading.Barrier(len(indices))
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def participant(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                trials = do_draw_trial_list(Study.objects.get(pk=study_id), index)
                time.sleep(0.05)  # hold the locks a little, so the transactions overlap
            results[index] = [t.planned_pair_id for t in trials if t.kind == "regular"]
        except BaseException as error:  # noqa: BLE001 - re-raised in the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=participant, args=(i,)) for i in indices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_concurrent_participants_never_share_a_pair_before_every_pair_is_handed_out():
    # 160 planned pairs, 32 regular trials each: five participants use up the plan exactly.
    study = make_scored_study(pairs_per_cell=40)
    do_freeze_plan(study)
    n_pairs = PlannedPair.objects.filter(study=study).count()
    assert n_pairs == N_THREADS * study.regular_trials_per_participant

    first_round = draw_concurrently(study.pk, list(range(N_THREADS)))
    handed = Counter(pk for ids in first_round.values() for pk in ids)
    assert len(handed) == n_pairs and set(handed.values()) == {1}

    second_round = draw_concurrently(study.pk, list(range(N_THREADS, 2 * N_THREADS)))
    handed.update(pk for ids in second_round.values() for pk in ids)
    assert set(handed.values()) == {2}
    assert set(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True)) == {2}
