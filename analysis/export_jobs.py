"""Report exports as jobs: request one (joined when an identical one exists), build it under a lease, settle a stuck one."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from analysis import selectors
from analysis.models import ExportJob, ExportStatus
from sketches import jobs
from studies.models import Study

logger = logging.getLogger(__name__)


REUSE_MINUTES = 15  # a pending or running export younger than this is joined instead of repeated


def do_request_export(
    study: Study, user=None, include_excluded: bool = False, *, reuse: bool = False
) -> ExportJob:
    """Queue a report export; the zip is built by ``analysis.tasks.run_export`` after commit.
    ``reuse``: return a finished export of exactly the current answers, or a recent pending or
    running one of the same study and scope, instead of starting another."""
    from analysis.tasks import run_export

    if reuse:
        fingerprint = str(selectors.study_progress(study).fingerprint)
        same = ExportJob.objects.filter(study=study, include_excluded=include_excluded)
        done = same.filter(status=ExportStatus.DONE, summary__fingerprint=fingerprint).first()
        if done is not None:  # already exported from exactly these answers
            return done
        recent = timezone.now() - timedelta(minutes=REUSE_MINUTES)  # an older one may be stuck
        active = same.filter(
            created_at__gte=recent, status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]
        ).first()
        if active is not None:
            return active
    with transaction.atomic():
        job = ExportJob.objects.create(study=study, requested_by=user, include_excluded=include_excluded)
        run_export.delay_on_commit(job.pk)
    return job


def do_run_export(job_id: int) -> ExportJob | None:
    """Build and store the job's zip. Claims the job under a lease (``sketches.jobs``):
    pending, or running with a lease that ran out (its worker died, or the web request
    that ran it in embedded mode was cut off), so two workers never build the same export
    at once. Renews the lease while building; the result is stored only while this claim
    still holds the job. A finished job is left as it is."""
    from analysis.exports import report_zip
    from analysis.reports import build_report

    attempt = jobs.claim(
        ExportJob,
        job_id,
        pending=ExportStatus.PENDING,
        running=ExportStatus.RUNNING,
        started_at=timezone.now(),
    )
    job = ExportJob.objects.select_related("study").filter(pk=job_id).first()
    if job is None or attempt is None:
        return job
    mine = ExportJob.objects.filter(pk=job_id, attempts=attempt, status=ExportStatus.RUNNING)
    fingerprint = str(selectors.study_progress(job.study).fingerprint)  # the answers this export reads
    try:

        def progress(share: float, stage: str) -> None:
            mine.update(progress=0.9 * share, stage=stage[:80])

        with jobs.heartbeat(ExportJob, job_id, attempt, running=ExportStatus.RUNNING):
            report = build_report(job.study, include_excluded=job.include_excluded, progress=progress)
            progress(0.9, "writing the files (figures in SVG, PNG and PDF)")
            data = report_zip(report)
    except Exception as error:  # recorded on the job for the researcher; not retried
        logger.exception("export %s of study %s failed", job_id, job.study.slug)
        mine.update(
            status=ExportStatus.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        job.refresh_from_db()
        return job
    with transaction.atomic():
        if not mine.select_for_update().exists():
            return job  # the lease ran out and another claim holds the job now
        job.file.save(f"{job.study.slug}-report-{job.pk}.zip", ContentFile(data), save=False)
        job.sha256 = hashlib.sha256(data).hexdigest()
        job.size = len(data)
        job.summary = {**report.meta["counts"], "fingerprint": fingerprint}
        job.status = ExportStatus.DONE
        job.finished_at = timezone.now()
        job.progress, job.stage = 1.0, "done"
        job.save(
            update_fields=["file", "sha256", "size", "summary", "status", "finished_at", "progress", "stage"]
        )
    return job


def do_settle_export(job: ExportJob, now=None) -> str:
    """The lease rule for one export: queue it again if its worker died, or fail it with a message."""
    from analysis.tasks import run_export

    return jobs.do_settle(
        job,
        running=ExportStatus.RUNNING,
        pending=ExportStatus.PENDING,
        requeue=run_export.delay,
        give_up=lambda message: {
            "status": ExportStatus.FAILED,
            "error": message,
            "finished_at": timezone.now(),
        },
        what="the export",
        now=now,
    )
