"""Redis restarted while scoring: the tasks complete.

The broker is a private Redis with an append-only file, as in docker-compose.yml
(`redis-server --appendonly yes`): queued and unacknowledged messages survive the
restart, the worker and the producer reconnect, and every sketch is scored once.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from config.celery import app
from scoring.actions import do_start_scoring_run
from scoring.models import JobStatus
from tests import services
from tests.celery_workers import Worker
from tests.scoring.test_celery_worker import (  # noqa: F401 - fixture
    _assert_scored_exactly_once,
    _wait_for,
    scorer,
)

pytestmark = [
    pytest.mark.real_celery,
    pytest.mark.slow,
    services.requires_redis(),
    services.requires_postgres(),
    pytest.mark.django_db(transaction=True),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self, folder):
        self.port, self.folder = free_port(), folder
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file, like a restart
            self.process.wait(timeout=30)


@pytest.fixture
def broker(tmp_path, monkeypatch):
    redis = PrivateRedis(tmp_path)
    redis.start()
    monkeypatch.setenv("CELERY_BROKER_URL", redis.url)  # the worker subprocess reads it
    previous = app.conf.broker_url
    use_broker(redis.url)  # the producer in this process
    yield redis
    use_broker(previous)
    redis.stop()


def use_broker(url: str) -> None:
    """Point this process's Celery producer at ``url``: forget its cached pools (kombu keeps
    them per broker URL, so they are reused, not closed, when we switch back)."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


def test_scoring_completes_when_redis_restarts_mid_run(broker, media_root, scorer, tmp_path):  # noqa: F811 - scorer is imported
    worker = Worker(media_root, tmp_path / "worker.log")
    try:
        worker.wait_until_ready()
        run = do_start_scoring_run(scorer, task_batch_size=1)  # 120 small tasks
        run = _wait_for(run, lambda r: r.done >= 10, 180, "the first batches")
        broker.stop()
        time.sleep(1)
        broker.start()
        run.refresh_from_db()
        assert run.done < run.total, "the run finished before the restart; it is meant to be cut short"
        run = _wait_for(run, lambda r: r.status != JobStatus.RUNNING, 240, "the run after the restart")
        _assert_scored_exactly_once(run)
    finally:
        worker.stop()
