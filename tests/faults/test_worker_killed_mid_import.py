"""A real Celery worker SIGKILLed in the middle of an import: the lease runs out, the sweep
queues the batch again, a fresh worker imports it, and every sketch is stored exactly once.

The broker's own redelivery is pushed out of the way (visibility timeout of an hour), so
only the lease can bring the job back.
"""

from __future__ import annotations

import time

import pytest
from django.core.files.base import ContentFile

from analysis.actions import do_sweep_stuck_jobs
from sketches.models import ImportBatch, Sketch
from sketches.tasks import run_import_batch
from tests import services
from tests.celery_workers import wait_for_job

pytestmark = [
    pytest.mark.real_celery,
    pytest.mark.slow,
    services.requires_redis(),
    services.requires_postgres(),
    pytest.mark.django_db(transaction=True),
]

LEASE_SECONDS = 4


@pytest.fixture
def start_worker(workers, monkeypatch, settings):
    """Workers whose broker never redelivers within the test, under a short job lease."""
    from config.celery import app

    monkeypatch.setenv("SKETCHQ_JOB_LEASE_SECONDS", str(LEASE_SECONDS))
    settings.SKETCHQ_JOB_LEASE_SECONDS = LEASE_SECONDS
    yield lambda: workers(visibility_timeout=3600)
    with app.connection_for_write() as conn:  # the killed worker's unacknowledged message
        conn.default_channel.client.delete("unacked", "unacked_index")


def _batch_state(batch: ImportBatch) -> str:
    return f"{batch.status} ({batch.messages})"


def test_an_import_whose_worker_was_killed_is_reclaimed_after_its_lease(start_worker, shared_data_dir):
    source = shared_data_dir / "pig.ndjson"
    lines = sum(1 for line in source.open() if line.strip())
    batch = ImportBatch(filename="pig.ndjson")
    batch.file.save("pig.ndjson", ContentFile(source.read_bytes()), save=False)
    batch.save()

    worker = start_worker()
    run_import_batch.delay(batch.pk)
    batch = wait_for_job(batch, lambda b: b.status == "running", 120, "the claim", _batch_state)
    worker.kill()
    batch.refresh_from_db()
    assert batch.status == "running" and batch.attempts == 1, "the import finished before the kill"
    assert Sketch.objects.count() == 0  # one transaction: nothing half-written

    assert do_sweep_stuck_jobs()["imports"] == {}  # the lease has not run out yet
    time.sleep(LEASE_SECONDS + 1)
    assert do_sweep_stuck_jobs()["imports"] == {"reclaim": 1}
    start_worker()
    batch = wait_for_job(
        batch, lambda b: b.status not in ("pending", "running"), 240, "the re-claimed import", _batch_state
    )
    assert batch.status == "done" and batch.attempts == 2, batch.messages
    assert batch.n_new == lines == Sketch.objects.count()
