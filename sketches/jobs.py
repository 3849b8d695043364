"""Claiming jobs with a lease, renewing it while working, and settling expired ones.

Used by import batches (``sketches.imports``), scoring runs (``scoring.runs``) and report exports
(``analysis.export_jobs``). The rule itself is ``sketches.leases``. Settings:
``SKETCHQ_JOB_LEASE_SECONDS`` (default 300) and ``SKETCHQ_JOB_MAX_ATTEMPTS`` (default 3).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from sketches import leases

log = logging.getLogger(__name__)


def lease_seconds() -> float:
    return float(getattr(settings, "SKETCHQ_JOB_LEASE_SECONDS", 300))


def max_attempts() -> int:
    return int(getattr(settings, "SKETCHQ_JOB_MAX_ATTEMPTS", 3))


def claimable(pending: str, running: str, now=None) -> Q:
    """Pending, or running under a lease that has run out."""
    now = now or timezone.now()
    expired = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - timedelta(seconds=lease_seconds()))
    return Q(status=pending) | (Q(status=running) & expired)


def claim(model, pk: int, *, pending: str, running: str, **fields) -> int | None:
    """Claim the job with a conditional UPDATE; the attempt number it now holds, or None.

    A job past its attempts is not claimed (the sweep fails it with a message).
    """
    now = timezone.now()
    claimed = model.objects.filter(
        claimable(pending, running, now), pk=pk, attempts__lt=max_attempts()
    ).update(status=running, heartbeat_at=now, attempts=F("attempts") + 1, **fields)
    if not claimed:
        return None
    return model.objects.values_list("attempts", flat=True).get(pk=pk)


def _beat(model, pk: int, attempt: int, running: str) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # never wait behind a lock: the next beat will do
                cursor.execute("SET LOCAL lock_timeout = '2s'")
        model.objects.filter(pk=pk, attempts=attempt, status=running).update(heartbeat_at=timezone.now())


@contextmanager
def heartbeat(model, pk: int, attempt: int, *, running: str, interval: float | None = None):
    """Renew the lease every ``interval`` seconds (a fifth of the lease) while the block runs.

    A daemon thread: it dies with the process, so a killed worker stops renewing and its
    lease runs out. A failed beat is logged and retried at the next interval.
    """
    interval = interval if interval is not None else max(1.0, lease_seconds() / 5)
    stop = threading.Event()

    def beat_until_stopped():
        try:
            while not stop.wait(interval):
                try:
                    _beat(model, pk, attempt, running)
                except Exception as error:  # a missed beat is not fatal
                    log.warning("heartbeat of %s %s failed: %s", model.__name__, pk, error)
        finally:
            connection.close()

    thread = threading.Thread(target=beat_until_stopped, name=f"heartbeat-{model.__name__}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 5)


def do_settle(
    job,
    *,
    running: str,
    pending: str,
    requeue: Callable[[int], None],
    give_up: Callable[[str], dict],
    what: str,
    now=None,
) -> str:
    """Apply the lease rule to one job; returns the verdict.

    ``reclaim``: back to pending (conditionally, so two sweeps act once) and ``requeue(pk)``;
    ``fail``: the job is updated with ``give_up(message)`` (status, message, finished_at).
    """
    if job.status != running:
        return leases.HELD
    now = now or timezone.now()
    verdict = leases.lease_verdict(job.heartbeat_at, now, lease_seconds(), job.attempts, max_attempts())
    same = job.__class__.objects.filter(
        pk=job.pk, status=running, attempts=job.attempts, heartbeat_at=job.heartbeat_at
    )
    if verdict == leases.RECLAIM:
        if same.update(status=pending):
            log.warning("%s %s: lease expired (attempt %s), queued again", what, job.pk, job.attempts)
            transaction.on_commit(lambda: requeue(job.pk))
    elif verdict == leases.FAIL:
        message = leases.given_up_message(what, lease_seconds(), job.attempts)
        if same.update(**give_up(message)):
            log.warning("%s %s: %s", what, job.pk, message)
    return verdict


def expired_running(model, running: str, now=None):
    """Running jobs whose lease has run out (what the sweep looks at)."""
    now = now or timezone.now()
    return model.objects.filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - timedelta(seconds=lease_seconds())),
        status=running,
    )


def do_sweep(model, running: str, settle_one: Callable[..., str], now=None) -> dict[str, int]:
    """Settle every running job of ``model`` whose lease ran out; counts per verdict."""
    counts: dict[str, int] = {}
    for job in expired_running(model, running, now):
        verdict = settle_one(job, now)
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts
