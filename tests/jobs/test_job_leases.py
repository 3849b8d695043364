"""Jobs whose worker died: exports, imports and scoring runs are claimed again or failed with a
message once their lease runs out (sweep, command, or reading the job), and a live one is left alone."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from analysis.actions import do_request_export, do_run_export, do_sweep_stuck_jobs
from analysis.models import ExportJob, ExportStatus
from scoring.actions import do_start_scoring_run
from scoring.models import JobStatus, ScoringRun, SketchScore
from sketches import jobs
from sketches.actions import do_run_import_batch
from sketches.models import ImportBatch, Sketch
from tests.analysis.factories import answered_study

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(minutes=30)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SKETCHQ_JOB_LEASE_SECONDS = 300
    settings.SKETCHQ_JOB_MAX_ATTEMPTS = 3


def abandoned(model, pk, attempts=1, **fields):
    """What a killed worker leaves: claimed (running), its heartbeat long stopped."""
    model.objects.filter(pk=pk).update(
        status="running", attempts=attempts, heartbeat_at=timezone.now() - LONG_AGO, **fields
    )


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# -- exports -------------------------------------------------------------------------------------


@pytest.fixture
def export_job(researcher, django_capture_on_commit_callbacks):
    study, _ = answered_study(owner=researcher)
    with django_capture_on_commit_callbacks(execute=False):  # the worker never gets to it
        job = do_request_export(study, researcher)
    return job


def test_an_export_cut_off_mid_build_is_built_again_when_read(
    researcher, export_job, django_capture_on_commit_callbacks
):
    abandoned(ExportJob, export_job.pk, started_at=timezone.now() - LONG_AGO)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(researcher).get(f"/api/exports/{export_job.pk}/")
    assert response.status_code == 200
    job = ExportJob.objects.get(pk=export_job.pk)
    assert job.status == ExportStatus.DONE and job.attempts == 2 and job.size > 0


def test_an_export_out_of_attempts_fails_with_a_message(export_job):
    abandoned(ExportJob, export_job.pk, attempts=3)
    out = io.StringIO()
    call_command("sweep_stuck_jobs", stdout=out)
    job = ExportJob.objects.get(pk=export_job.pk)
    assert job.status == ExportStatus.FAILED and job.finished_at is not None
    assert "the export stopped: its worker sent no heartbeat for 300 s" in job.error
    assert "exports: 1 fail" in out.getvalue()


def test_a_live_export_is_left_alone_and_a_redelivered_message_does_nothing(export_job):
    ExportJob.objects.filter(pk=export_job.pk).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(seconds=30)
    )
    assert do_sweep_stuck_jobs()["exports"] == {}
    assert do_run_export(export_job.pk).status == ExportStatus.RUNNING  # another worker holds it
    job = ExportJob.objects.get(pk=export_job.pk)
    assert (job.status, job.attempts) == (ExportStatus.RUNNING, 1)


def test_a_worker_whose_lease_was_taken_over_stores_nothing(export_job, monkeypatch):
    """The first worker is slow, not dead: its lease runs out and a second claim takes the job.
    When the first one finishes, its result is dropped; the second one's stands."""
    from analysis import reports

    real = reports.build_report

    def slow_then_overtaken(study, **kwargs):
        ExportJob.objects.filter(pk=export_job.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
        monkeypatch.setattr(reports, "build_report", real)
        assert do_run_export(export_job.pk).status == ExportStatus.DONE  # the second claim
        return real(study, **kwargs)

    monkeypatch.setattr(reports, "build_report", slow_then_overtaken)
    do_run_export(export_job.pk)
    job = ExportJob.objects.get(pk=export_job.pk)
    assert job.status == ExportStatus.DONE and job.attempts == 2
    assert job.file.name.endswith(f"-report-{job.pk}.zip")


# -- imports -------------------------------------------------------------------------------------


@pytest.fixture
def batch(researcher, sample_dir):
    batch = ImportBatch(filename="pig.ndjson", created_by=researcher)
    batch.file.save("pig.ndjson", ContentFile((sample_dir / "pig.ndjson").read_bytes()), save=False)
    batch.save()
    return batch


def test_an_import_whose_worker_died_is_queued_again_by_the_sweep(batch, django_capture_on_commit_callbacks):
    abandoned(ImportBatch, batch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        result = do_sweep_stuck_jobs()
    assert result["imports"] == {"reclaim": 1}
    batch.refresh_from_db()
    assert batch.status == "done" and batch.attempts == 2 and batch.n_new == 60
    assert Sketch.objects.count() == 60


def test_an_import_out_of_attempts_fails_and_says_why(researcher, batch):
    abandoned(ImportBatch, batch.pk, attempts=3)
    response = api_for(researcher).get(f"/api/imports/{batch.pk}/")  # reading settles it
    assert response.data["status"] == "failed"
    assert "the import stopped" in response.data["messages"][0]
    assert do_run_import_batch(batch.pk).status == "failed"  # and a late message cannot revive it


@pytest.mark.django_db(transaction=True)  # the heartbeat thread writes on its own connection
def test_a_worker_renews_its_lease_while_it_works(batch):
    attempt = jobs.claim(ImportBatch, batch.pk, pending="pending", running="running")
    first = ImportBatch.objects.get(pk=batch.pk).heartbeat_at
    with jobs.heartbeat(ImportBatch, batch.pk, attempt, running="running", interval=0.05):
        deadline = time.monotonic() + 10
        while ImportBatch.objects.get(pk=batch.pk).heartbeat_at == first and time.monotonic() < deadline:
            time.sleep(0.05)
    assert ImportBatch.objects.get(pk=batch.pk).heartbeat_at > first


# -- scoring runs --------------------------------------------------------------------------------


def test_a_scoring_run_whose_batches_were_lost_is_finished_by_the_sweep(django_capture_on_commit_callbacks):
    from tests.factories import SAMPLE_SCORER_CATEGORIES, make_sketches, make_trained_scorer

    sketches = [s for name in SAMPLE_SCORER_CATEGORIES for s in make_sketches(name, 10)]
    scorer = make_trained_scorer("lease-cos", list(dict.fromkeys(s.category for s in sketches)))
    with django_capture_on_commit_callbacks(execute=False):  # every batch lost with its worker
        run = do_start_scoring_run(scorer, task_batch_size=7)
    abandoned(ScoringRun, run.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_sweep_stuck_jobs()["scoring_runs"] == {"reclaim": 1}
    run.refresh_from_db()
    assert run.status == JobStatus.DONE and run.done == run.total == len(sketches) and run.attempts == 2
    assert SketchScore.objects.filter(run=run).count() == len(sketches)


def test_a_scoring_run_out_of_attempts_fails_with_a_message(researcher, django_capture_on_commit_callbacks):
    from tests.factories import make_scorer

    run = ScoringRun.objects.create(scorer=make_scorer("lease-failing"), total=10)
    abandoned(ScoringRun, run.pk, attempts=3)
    response = api_for(researcher).get(f"/api/scoring-runs/{run.pk}/")
    assert response.data["status"] == "failed"
    assert any("the scoring run stopped" in error for error in response.data["errors"])


def test_the_admin_pages_settle_the_job_they_show(researcher, client, batch, export_job):
    from tests.factories import make_scorer

    run = ScoringRun.objects.create(scorer=make_scorer("lease-admin"), total=10, created_by=researcher)
    for model, pk in ((ImportBatch, batch.pk), (ExportJob, export_job.pk), (ScoringRun, run.pk)):
        abandoned(model, pk, attempts=3)
    client.force_login(researcher)
    assert client.get(f"/admin/sketches/importbatch/{batch.pk}/change/").status_code == 200
    assert client.get(f"/admin/analysis/exportjob/{export_job.pk}/change/").status_code == 200
    assert client.get(f"/scoring/runs/{run.pk}/progress/").status_code == 200
    assert ImportBatch.objects.get(pk=batch.pk).status == "failed"
    assert ExportJob.objects.get(pk=export_job.pk).status == ExportStatus.FAILED
    assert ScoringRun.objects.get(pk=run.pk).status == JobStatus.FAILED
