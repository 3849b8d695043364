"""Real Celery workers for the integration tests: a ``celery -A config worker -Q gpu,default``
subprocess against the test database (PostgreSQL) and the Redis broker, sharing a temporary
MEDIA_ROOT with the test. Registered as a plugin in ``tests/conftest.py``, so the fixtures
``media_root``, ``purged_queues`` and ``workers`` are available to every test folder.
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

from tests import services

#: Short, so a killed worker's unacknowledged messages come back within seconds.
VISIBILITY_TIMEOUT = 8
ROOT = Path(settings.BASE_DIR)


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """One ``celery worker`` process group (main process + 1 prefork child)."""

    def __init__(self, media_root: Path, log: Path, visibility_timeout: int = VISIBILITY_TIMEOUT):
        self.name = f"scoring-test-{uuid.uuid4().hex[:8]}@%h"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": services.redis_url(),
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            # A Redis restarted during a restore sweep keeps the sweep's mutex (settings.py): seconds,
            # not kombu's 5 minutes, so the restart test's unacknowledged message comes back in time.
            "CELERY_UNACKED_MUTEX_EXPIRE": "10",
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

    def start(visibility_timeout: int = VISIBILITY_TIMEOUT) -> Worker:
        worker = Worker(media_root, tmp_path / "worker.log", visibility_timeout)
        started.append(worker)
        worker.wait_until_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for_job(job, condition, timeout: float, what: str, describe=None):
    """Re-read ``job`` (an import batch, scoring run, export …) until ``condition(job)`` holds;
    fail after ``timeout`` seconds naming ``what`` and the job's state (``describe(job)``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if condition(job):
            return job
        time.sleep(0.02)
    state = describe(job) if describe is not None else job.status
    raise AssertionError(f"timed out waiting for {what}: {type(job).__name__} is {state}")
