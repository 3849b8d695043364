"""Celery tasks of the analysis app: they take ids and call the actions."""

from __future__ import annotations

from celery import shared_task

from analysis import actions
from studies.models import Study


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


@shared_task(acks_late=True)
def build_report_cache(study_id: int, include_excluded: bool, fingerprint: str, links: dict) -> bool:
    """Build a study's full report (bootstraps, figures) into the cache, with progress (idempotent:
    re-running writes the same cache entry)."""
    from analysis import live

    study = Study.objects.filter(pk=study_id).first()
    return (
        False if study is None else live.build_report_for_cache(study, include_excluded, fingerprint, links)
    )
