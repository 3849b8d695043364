"""The zip link through a real Celery worker and Redis: the request only starts the job, the
worker builds it with progress, the progress page then offers the download."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analysis.models import ExportJob, ExportStatus
from tests import services
from tests.analysis.factories import answered_study

pytestmark = [
    pytest.mark.real_celery,
    services.requires_redis(),
    services.requires_postgres(),
    pytest.mark.django_db(transaction=True),
]


def test_the_zip_link_returns_at_once_and_a_real_worker_builds_the_export(workers):
    owner = User.objects.create_user(
        "owner", "o@example.org", "owner-password-1", is_staff=True, is_superuser=True
    )
    study, _ = answered_study(owner=owner)
    workers()
    client = Client()
    client.force_login(owner)
    response = client.get(f"/analysis/studies/{study.slug}/report.zip")
    assert response.status_code == 302  # the request did not build anything
    job = ExportJob.objects.get(study=study)
    assert response["Location"] == f"/analysis/exports/{job.pk}/"
    seen = set()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job.refresh_from_db()
        seen.add((job.status, round(job.progress, 2)))
        if job.status in (ExportStatus.DONE, ExportStatus.FAILED):
            break
        page = client.get(response["Location"], headers={"HX-Request": "true"})
        assert page.status_code == 200 and 'id="export-status"' in page.content.decode()
        time.sleep(0.2)
    assert job.status == ExportStatus.DONE, job.error
    assert any(0 < p < 1 for status, p in seen if status == ExportStatus.RUNNING) or len(seen) > 1
    page = client.get(response["Location"]).content.decode()
    assert f"/analysis/exports/{job.pk}/download/" in page and "hx-trigger" not in page
    download = client.get(f"/analysis/exports/{job.pk}/download/")
    names = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
    assert f"{study.slug}-report/report.html" in names
    again = client.get(f"/analysis/studies/{study.slug}/report.zip")  # same answers: the same export
    assert again["Location"] == f"/analysis/exports/{job.pk}/" and ExportJob.objects.count() == 1
