"""Scoring through a real Celery worker and Redis, including a worker SIGKILLed mid-run.

A real ``celery -A config worker -Q gpu,default`` subprocess runs against the test
database (PostgreSQL) and a Redis broker; checkpoints live in a temporary
MEDIA_ROOT that the test and the worker share.
"""

from __future__ import annotations

import pytest

from scoring.actions import do_start_scoring_run
from scoring.models import JobStatus, ScoringRun, SketchScore
from sketches.models import Sketch
from tests import services
from tests.celery_workers import wait_for_job
from tests.factories import SAMPLE_SCORER_CATEGORIES, make_sketches, make_trained_scorer, sample_checkpoint

pytestmark = [
    pytest.mark.real_celery,
    services.requires_redis(),
    services.requires_postgres(),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def scorer(media_root, db):
    sketches = [s for name in SAMPLE_SCORER_CATEGORIES for s in make_sketches(name, 30)]
    return make_trained_scorer(
        "worker-cos", list(dict.fromkeys(s.category for s in sketches)), checkpoint=sample_checkpoint("cos")
    )


def _wait_for(run: ScoringRun, condition, timeout: float, what: str) -> ScoringRun:
    return wait_for_job(run, condition, timeout, what, lambda r: f"{r.status} {r.done}/{r.total} {r.errors}")


def _assert_scored_exactly_once(run: ScoringRun) -> None:
    sketch_ids = set(Sketch.objects.values_list("pk", flat=True))
    scores = SketchScore.objects.filter(scorer=run.scorer)
    assert scores.count() == len(sketch_ids) == run.total == run.done == 120
    assert set(scores.values_list("sketch_id", flat=True)) == sketch_ids
    assert scores.filter(run=run).count() == 120
    assert run.status == JobStatus.DONE and run.errors == []


def test_a_real_worker_scores_every_sketch_through_redis(workers, scorer):
    workers()
    run = do_start_scoring_run(scorer, task_batch_size=25)
    run = _wait_for(
        run, lambda r: r.status != JobStatus.PENDING and r.status != JobStatus.RUNNING, 180, "the run"
    )
    _assert_scored_exactly_once(run)


def test_a_worker_killed_mid_run_is_restarted_and_every_sketch_is_scored_exactly_once(workers, scorer):
    worker = workers()
    run = do_start_scoring_run(scorer, task_batch_size=1)  # 120 small tasks: the kill lands mid-run
    run = _wait_for(run, lambda r: r.done >= 10, 180, "the first batches")
    worker.kill()
    run.refresh_from_db()
    assert 10 <= run.done < run.total, "the run finished before the kill; it is meant to be cut short"
    assert run.status == JobStatus.RUNNING
    workers()  # a fresh worker: the killed one's unacknowledged messages are redelivered to it
    run = _wait_for(run, lambda r: r.status != JobStatus.RUNNING, 240, "the run after the restart")
    _assert_scored_exactly_once(run)
