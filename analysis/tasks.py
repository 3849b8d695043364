"""Celery tasks of the analysis app: they take ids and call the actions."""

from __future__ import annotations

from celery import shared_task

from analysis import actions


@shared_task(acks_late=True)
def run_export(job_id: int) -> str | None:
    """Build an export job's zip (idempotent: a job that is not pending is left alone)."""
    job = actions.do_run_export(job_id)
    return None if job is None else job.status


@shared_task
def sweep_stuck_jobs() -> dict:
    """Re-claim or fail imports, scoring runs and exports whose worker died (lease expired).

    Scheduled by Celery beat (``CELERY_BEAT_SCHEDULE``); ``manage.py sweep_stuck_jobs`` does the same.
    """
    return actions.do_sweep_stuck_jobs()
