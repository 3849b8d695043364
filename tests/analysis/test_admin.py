"""The admin: study results with export actions, export jobs, and worker quality with filters and sorting."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analysis import actions, results
from analysis.models import ExportJob, ExportStatus, WorkerQuality

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    for name in ("AGREEMENT_BOOT", "BT_BOOT", "CORRELATION_BOOT"):
        monkeypatch.setattr(results, name, 10)


@pytest.fixture
def owner_client(answered):
    client = Client()
    client.force_login(User.objects.get(username="owner"))
    return client


def test_study_results_list_only_the_researchers_studies_with_links(
    answered, owner_client, client, other_researcher
):
    study, _ = answered
    html = owner_client.get("/admin/analysis/studyresults/").content.decode()
    assert study.name in html and f'href="/analysis/studies/{study.slug}/"' in html
    client.force_login(other_researcher)
    assert study.name not in client.get("/admin/analysis/studyresults/").content.decode()


def test_the_export_action_builds_a_zip_the_owner_can_download(
    answered, owner_client, client, other_researcher, django_capture_on_commit_callbacks
):
    study, _ = answered
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/admin/analysis/studyresults/",
            {"action": "export_report", "_selected_action": [study.pk]},
            follow=True,
        )
    assert b"1 export(s) queued" in response.content
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.DONE and job.size > 0 and len(job.sha256) == 64
    assert job.summary["participants_analysed"] == 2 and not job.include_excluded
    listing = owner_client.get("/admin/analysis/exportjob/").content.decode()
    assert f"/analysis/exports/{job.pk}/download/" in listing
    download = owner_client.get(f"/analysis/exports/{job.pk}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert f"{study.slug}-report/report.html" in archive.namelist()
    client.force_login(other_researcher)
    assert client.get(f"/analysis/exports/{job.pk}/download/").status_code == 404


def test_the_export_with_excluded_workers_is_recorded_as_such(
    answered, owner_client, django_capture_on_commit_callbacks, monkeypatch
):
    study, _ = answered
    monkeypatch.setattr("analysis.exports.report_zip", lambda report: b"PK-not-really")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            "/admin/analysis/studyresults/",
            {"action": "export_report_all_workers", "_selected_action": [study.pk]},
        )
    job = ExportJob.objects.get()
    assert job.include_excluded and job.summary["participants_analysed"] == 5


def test_running_an_export_twice_builds_it_once(answered, monkeypatch):
    study, _ = answered
    built = []
    monkeypatch.setattr(
        "analysis.exports.report_zip", lambda report: built.append(report) or b"PK-not-really"
    )
    job = ExportJob.objects.create(study=study)
    first = actions.do_run_export(job.pk)
    again = actions.do_run_export(job.pk)
    assert first.status == again.status == ExportStatus.DONE and again.sha256 == first.sha256
    assert again.finished_at == first.finished_at and len(built) == 1


def test_a_failing_export_is_marked_failed_with_the_reason(answered, monkeypatch):
    study, _ = answered

    def broken(*args, **kwargs):
        raise ValueError("no disk left")

    monkeypatch.setattr("analysis.reports.build_report", broken)
    job = actions.do_run_export(ExportJob.objects.create(study=study).pk)
    assert job.status == ExportStatus.FAILED and "no disk left" in job.error and not job.file


def test_worker_quality_is_refreshed_filtered_and_sorted_in_the_admin(answered, owner_client):
    study, _ = answered
    html = owner_client.get("/admin/analysis/workerquality/").content.decode()
    assert WorkerQuality.objects.filter(study=study).count() == 4
    assert "FOLLOW" in html and "BLOCKED" in html
    blocked = owner_client.get("/admin/analysis/workerquality/?status=blocked").content.decode()
    assert "BLOCKED" in blocked and "FOLLOW" not in blocked
    assert owner_client.get("/admin/analysis/workerquality/?o=-10").status_code == 200  # sort by < 300 ms
    row = WorkerQuality.objects.get(panel_id="FLIP")
    assert row.status == "unqualified" and row.duplicate_consistency == 0 and not row.analysed


def test_other_researchers_see_no_worker_quality_rows(answered, client, other_researcher):
    client.force_login(other_researcher)
    html = client.get("/admin/analysis/workerquality/").content.decode()
    assert "FOLLOW" not in html
