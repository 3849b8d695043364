"""State changes of the analysis app (each one transaction): QA snapshots and report exports.

* ``do_refresh_worker_quality(study)`` → rows upserted (skips when nothing changed)
* ``do_request_export(study, user, include_excluded)`` → ExportJob, task enqueued on commit
* ``do_run_export(job_id)`` → the job, done or failed (idempotent; the task calls it)
* ``do_remove_simulated_participants(study)`` → how many simulated participants were removed
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from analysis import selectors, services
from analysis.models import ExportJob, ExportStatus, WorkerQuality
from annotation.answering import release_pairs_of_excluded
from annotation.models import Answer, Participant, ParticipantStatus, RefusedSubmission, Trial
from sketches import jobs
from studies.models import Study

logger = logging.getLogger(__name__)
REUSE_MINUTES = 15  # a pending or running export younger than this is joined instead of repeated

QUALITY_FIELDS = [
    "panel_id", "flow_status", "status", "analysed", "trials", "sentinels", "sentinel_mistakes", "duplicates",
    "duplicate_consistency", "median_rt_ms", "fast_share", "left_rate", "majority_trials", "majority_agreement",
    "model_skill", "model_skill_lo", "model_skill_hi", "model_bias", "simulated",
]  # fmt: skip


def do_refresh_worker_quality(study: Study, *, force: bool = False) -> int:
    """Recompute the study's worker-quality snapshot if its answers or participants changed."""
    fingerprint = selectors.study_progress(study).fingerprint
    current = WorkerQuality.objects.filter(study=study).values_list("fingerprint", flat=True).first()
    if current == fingerprint and not force:
        return 0
    rows = services.worker_quality(services.load_frame(study))
    now = timezone.now()
    objects = [
        WorkerQuality(
            participant_id=r["participant_id"],
            study=study,
            fingerprint=fingerprint,
            computed_at=now,
            **{name: r[name] for name in QUALITY_FIELDS},
        )
        for r in rows
    ]
    with transaction.atomic():
        WorkerQuality.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["participant"],
            update_fields=[*QUALITY_FIELDS, "fingerprint", "computed_at"],
        )
    return len(objects)


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


def settle_export(job: ExportJob, now=None) -> str:
    """The lease rule for one export: queue it again if its worker died, or fail it with a message."""
    from analysis.tasks import run_export

    return jobs.settle(
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


def do_sweep_stuck_jobs(now=None) -> dict[str, dict[str, int]]:
    """Settle every claimed job whose lease ran out: imports, scoring runs and exports.

    Run by ``manage.py sweep_stuck_jobs`` and the beat task ``analysis.tasks.sweep_stuck_jobs``
    (the most downstream app sweeps for all three).
    """
    from scoring.run_actions import do_sweep_scoring_runs
    from sketches.actions import do_sweep_import_batches

    exports: dict[str, int] = {}
    for job in jobs.expired_running(ExportJob, ExportStatus.RUNNING, now):
        verdict = settle_export(job, now)
        exports[verdict] = exports.get(verdict, 0) + 1
    return {
        "imports": do_sweep_import_batches(now),
        "scoring_runs": do_sweep_scoring_runs(now),
        "exports": exports,
    }


def do_remove_simulated_participants(study: Study) -> int:
    """Delete every simulated participant of the study (``Participant.simulated``) with their
    trials and answers, giving back the planned pairs they still held. Real participants are
    never touched. One transaction; returns how many were removed."""
    with transaction.atomic():
        Study.objects.select_for_update().only("pk").get(pk=study.pk)
        simulated = list(Participant.objects.select_for_update().filter(study=study, simulated=True))
        for participant in simulated:
            counted = participant.status not in (
                ParticipantStatus.BLOCKED,
                ParticipantStatus.ABANDONED,
            ) and not (participant.status == ParticipantStatus.COMPLETED and participant.qualified is False)
            if counted and participant.status not in (
                ParticipantStatus.CONSENTING,
                ParticipantStatus.DECLINED,
            ):
                release_pairs_of_excluded(participant)  # their pairs still counted as covered
        ids = [p.pk for p in simulated]
        Answer.objects.filter(trial__participant_id__in=ids).delete()
        RefusedSubmission.objects.filter(participant_id__in=ids).delete()
        WorkerQuality.objects.filter(participant_id__in=ids).delete()
        Trial.objects.filter(participant_id__in=ids, duplicate_of__isnull=False).delete()
        Trial.objects.filter(participant_id__in=ids).delete()
        Participant.objects.filter(pk__in=ids).delete()
    return len(ids)
