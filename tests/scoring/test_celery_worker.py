"""Scoring through a real Celery worker and Redis, including a worker SIGKILLed mid-run.

A real ``celery -A config worker -Q gpu,default`` subprocess runs against the test
database (PostgreSQL) and a Redis broker; checkpoints live in a temporary
MEDIA_ROOT that the test and the worker share.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from scoring.models import JobStatus, ScoringRun, SketchScore
from scoring.run_actions import do_start_scoring_run
from sketches.models import Sketch
from tests import services
from tests.factories import SAMPLE_SCORER_CATEGORIES, make_sketches, make_trained_scorer, sample_checkpoint

pytestmark = [
    pytest.mark.real_celery,
    services.requires_redis(),
    services.requires_postgres(),
    pytest.mark.django_db(transaction=True),
]

#: Short, so a killed worker's unacknowledged messages come back within seconds.
VISIBILITY_TIMEOUT = 8
ROOT = Path(settings.BASE_DIR)


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """One ``celery worker`` process group (main process + 1 prefork child)."""

    def __init__(self, media_root: Path, log: Path):
        self.name = f"scoring-test-{uuid.uuid4().hex[:8]}@%h"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": services.redis_url(),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "SECRET_KEY": settings.SECRET_KEY,
            "MEDIA_ROOT": str(media_root),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
        }
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "gpu,default",
                "--pool",
                "prefork",
                "-c",
                "1",
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_ready(self, timeout: float = 120) -> None:
        from config.celery import app

        hostname = self.name.replace("%h", os.uname().nodename)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited with {self.process.returncode}; see {self.log.name}")
            replies = app.control.ping(destination=[hostname], timeout=1.0)
            if replies:
                return
        raise AssertionError(f"the worker did not answer ping within {timeout} s; see {self.log.name}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool child): nothing is acknowledged or cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def purged_queues():
    from config.celery import app

    app.control.purge()  # leftovers of an earlier run on this Redis database
    yield
    app.control.purge()


@pytest.fixture
def workers(media_root, tmp_path, purged_queues, db):
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(media_root, tmp_path / "worker.log")
        started.append(worker)
        worker.wait_until_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def scorer(media_root, db):
    sketches = [s for name in SAMPLE_SCORER_CATEGORIES for s in make_sketches(name, 30)]
    return make_trained_scorer(
        "worker-cos", list(dict.fromkeys(s.category for s in sketches)), checkpoint=sample_checkpoint("cos")
    )


def _wait_for(run: ScoringRun, condition, timeout: float, what: str) -> ScoringRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if condition(run):
            return run
        time.sleep(0.02)
    raise AssertionError(
        f"timed out waiting for {what}: run is {run.status} {run.done}/{run.total} {run.errors}"
    )


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
