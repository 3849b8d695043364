"""A single-process server with no worker (`make demo`) builds the full report in a thread of its
own: the page answers at once with the quick report and its progress, then serves the full one."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from analysis import live, results
from tests.analysis.factories import answered_study
from tests.factories import grant_researcher_permissions

pytestmark = pytest.mark.django_db(transaction=True)  # the build thread reads on its own connection


@pytest.fixture
def study_and_client(settings, monkeypatch):
    for name in ("AGREEMENT_BOOT", "BT_BOOT", "CORRELATION_BOOT"):
        monkeypatch.setattr(results, name, 10)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SKETCHQ_REPORT_BUILD_THREAD = True
    cache.clear()
    owner = User.objects.create_user("owner", "owner@example.org", "owner-password-1", is_staff=True)
    grant_researcher_permissions(owner)
    study, _ = answered_study(owner=owner)
    client = Client()
    client.force_login(owner)
    return study, client


def _wait_until(condition, seconds: float = 120.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_the_page_answers_with_the_quick_report_while_a_thread_builds_the_full_one(study_and_client):
    study, client = study_and_client
    url = f"/analysis/studies/{study.slug}/report/"
    quick = client.get(url).content.decode()
    assert 'id="report-progress"' in quick and 'id="figure-agreement"' not in quick
    assert client.get(url).status_code == 200  # a second load joins the build, starts none
    assert [t.name for t in threading.enumerate()].count(f"report-{study.pk}") <= 1
    assert _wait_until(lambda: live.report_progress(study, False)["done"])
    full = client.get(url).content.decode()
    assert 'id="report-progress"' not in full and 'id="figure-agreement"' in full


def test_a_failed_build_is_logged_and_the_next_load_starts_again(study_and_client, monkeypatch, caplog):
    study, client = study_and_client
    url = f"/analysis/studies/{study.slug}/report/"
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("figure backend missing")

    monkeypatch.setattr(live, "build_report_for_cache", broken)  # the full build only
    first = client.get(url)
    assert first.status_code == 200 and 'id="report-progress"' in first.content.decode()
    assert _wait_until(lambda: live.report_progress(study, False)["stage"] == "not started")
    assert "building the report of study" in caplog.text and "figure backend missing" in caplog.text
    client.get(url)
    assert _wait_until(lambda: len(calls) == 2)
