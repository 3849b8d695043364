"""Staff pages: who may see them, and what they show."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analysis import results
from analysis.models import ExportJob
from studies.actions import do_close_study
from tests.analysis.factories import answer_all, follower

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_bootstraps(monkeypatch):
    for name in ("AGREEMENT_BOOT", "BT_BOOT", "CORRELATION_BOOT"):
        monkeypatch.setattr(results, name, 10)


def _pages(slug):
    return [
        f"/analysis/studies/{slug}/",
        f"/analysis/studies/{slug}/rankings/face/",
        f"/analysis/studies/{slug}/report/",
        f"/analysis/studies/{slug}/report.zip",
    ]


@pytest.fixture
def owner_client(answered):
    client = Client()
    client.force_login(User.objects.get(username="owner"))
    return client


def test_the_owner_sees_every_page_and_can_download_the_zip(
    answered, owner_client, django_capture_on_commit_callbacks
):
    study, _ = answered
    with django_capture_on_commit_callbacks(execute=True):
        for url in _pages(study.slug):
            assert owner_client.get(url, follow=True).status_code == 200, url
    # the zip link starts (or joins) an export job and shows its progress page, then the download
    response = owner_client.get(f"/analysis/studies/{study.slug}/report.zip")
    assert response.status_code == 302 and response["Location"].startswith("/analysis/exports/")
    page = owner_client.get(response["Location"])
    job = ExportJob.objects.filter(study=study, status="done").get()
    assert job.status == "done" and job.progress == 1.0  # tests run Celery eagerly
    assert f"/analysis/exports/{job.pk}/download/" in page.content.decode()
    download = owner_client.get(f"/analysis/exports/{job.pk}/download/")
    assert download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
    assert f"{study.slug}-report/answers.csv" in names


def test_the_report_page_is_quick_first_then_complete_from_the_cache(answered, owner_client, settings):
    """Without eager Celery the page shows the quick version and its progress poller; the task,
    once run, puts the full report in the cache and the next load serves it."""
    from django.core.cache import cache

    from analysis import live
    from analysis.tasks import build_report_cache

    study, _ = answered
    cache.clear()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build_report_cache, "delay_on_commit", lambda *args: queued.append(args))
        mp.setattr(live, "shared_cache", lambda: True)  # the "worker" below runs in this process
        quick = owner_client.get(f"/analysis/studies/{study.slug}/report/").content.decode()
        assert (
            'id="report-progress"' in quick and "hx-trigger" in quick and 'id="figure-agreement"' not in quick
        )
        owner_client.get(f"/analysis/studies/{study.slug}/report/")
    assert len(queued) == 1  # one build per answer fingerprint
    status = owner_client.get(f"/analysis/studies/{study.slug}/report/status/")
    assert status.status_code == 200 and "HX-Refresh" not in status
    build_report_cache(*queued[0])
    assert live.report_progress(study, False)["done"]
    status = owner_client.get(f"/analysis/studies/{study.slug}/report/status/")
    assert status["HX-Refresh"] == "true"
    full = owner_client.get(f"/analysis/studies/{study.slug}/report/").content.decode()
    assert 'id="report-progress"' not in full and 'id="figure-agreement"' in full


def test_without_a_shared_cache_the_page_builds_the_full_report_itself(answered, owner_client, settings):
    """A worker writing to its own memory could never deliver: the request builds it (slow, correct)."""
    from analysis import live

    study, _ = answered
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert not live.shared_cache()  # locmem cache in the tests
    html = owner_client.get(f"/analysis/studies/{study.slug}/report/").content.decode()
    assert 'id="report-progress"' not in html and 'id="figure-agreement"' in html


def test_another_researcher_gets_404_until_the_study_is_shared(answered, client, other_researcher):
    study, _ = answered
    client.force_login(other_researcher)
    for url in _pages(study.slug):
        assert client.get(url).status_code == 404, url
    study.shared_with.add(other_researcher)
    assert client.get(_pages(study.slug)[0]).status_code == 200


def test_signed_in_non_staff_and_anonymous_users_are_refused(answered, client, outsider):
    study, _ = answered
    for url in _pages(study.slug):
        response = client.get(url)
        assert response.status_code == 403 and b"sign in" in response.content, url
    client.force_login(outsider)
    for url in _pages(study.slug):
        response = client.get(url)
        assert response.status_code == 403 and b"not a researcher" in response.content, url


def test_the_study_list_shows_only_visible_studies(answered, owner_client, client, other_researcher):
    study, _ = answered
    assert study.name.encode() in owner_client.get("/analysis/").content
    client.force_login(other_researcher)
    assert study.name.encode() not in client.get("/analysis/").content


def test_the_dashboard_shows_progress_quality_and_the_curve(answered, owner_client):
    study, _ = answered
    response = owner_client.get(f"/analysis/studies/{study.slug}/")
    html = response.content.decode()
    assert '<script src="/static/django_htmx/htmx' in html  # served by us, not a CDN
    assert 'hx-trigger="every 5s"' in html  # a live study refreshes itself
    assert 'id="agreement-curve"' in html and "<svg" in html
    assert "FOLLOW" in html and "BLOCKED" in html and 'id="table-worker_qa"' in html
    assert 'data-col="blocked">1<' in html


def test_the_dashboard_partial_is_what_htmx_polls(answered, owner_client):
    study, _ = answered
    response = owner_client.get(
        f"/analysis/studies/{study.slug}/?scope=analysable", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="live"') and "<html" not in html
    assert 'data-metric="answers"' in html


def test_new_answers_show_up_at_the_next_poll(answered, owner_client):
    study, _ = answered
    url = f"/analysis/studies/{study.slug}/?scope=analysable"
    before = owner_client.get(url, headers={"HX-Request": "true"}).content.decode()
    answer_all(study, "LATECOMER", follower)
    after = owner_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "LATECOMER" not in before and "LATECOMER" in after


def test_a_closed_study_stops_polling(answered, owner_client):
    study, _ = answered
    do_close_study(study)
    html = owner_client.get(f"/analysis/studies/{study.slug}/").content.decode()
    assert "hx-trigger" not in html


def test_the_ranking_page_puts_the_human_order_beside_the_q_order(answered, owner_client):
    study, _ = answered
    response = owner_client.get(f"/analysis/studies/{study.slug}/rankings/")
    assert response.status_code == 302 and response["Location"].endswith("/rankings/face/")
    html = owner_client.get(
        f"/analysis/studies/{study.slug}/rankings/pig/?scorer=test-softmax"
    ).content.decode()
    assert 'id="by-bt"' in html and 'id="by-q"' in html and "By q of test-softmax" in html
    assert html.count('class="sketch-thumb"') >= 2 and 'src="/sketches/' in html
    assert "Kendall τ" in html


def test_an_unknown_category_is_a_404(answered, owner_client):
    study, _ = answered
    assert owner_client.get(f"/analysis/studies/{study.slug}/rankings/cactus/").status_code == 404


def test_the_report_page_is_the_exported_report_with_links(answered, owner_client):
    study, _ = answered
    html = owner_client.get(f"/analysis/studies/{study.slug}/report/").content.decode()
    assert 'id="table-agreement_by_method"' in html and "Reproducing these numbers" in html
    assert f'href="/analysis/studies/{study.slug}/"' in html
    everyone = owner_client.get(f"/analysis/studies/{study.slug}/report/?include_excluded=1").content.decode()
    assert "every worker, blocked, unqualified and unfinished included" in everyone


def test_pages_accept_only_get(answered, owner_client):
    study, _ = answered
    assert owner_client.post(f"/analysis/studies/{study.slug}/").status_code == 405
