"""A researcher watches the dashboard while answers arrive, then opens a ranking (real browser, live server)."""

from __future__ import annotations

import pytest

from analysis import results
from tests import services as test_services
from tests.analysis.factories import answer_all, follower
from tests.annotation.factories import make_running_study

pytestmark = [pytest.mark.browser, test_services.requires_chromium(), pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _small_bootstraps(monkeypatch):
    for name in ("AGREEMENT_BOOT", "BT_BOOT", "CORRELATION_BOOT"):
        monkeypatch.setattr(results, name, 10)


def test_the_dashboard_refreshes_itself_as_answers_arrive(
    page, live_server, researcher, login_as, screenshot
):
    study = make_running_study("watched-study", owner=researcher)
    answer_all(study, "FIRST", follower)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/analysis/studies/{study.slug}/")
    answers = page.locator("[data-metric='answers']")
    before = int(answers.inner_text())
    assert page.locator("#agreement-curve svg").count() == 1
    answer_all(study, "SECOND", follower)
    page.wait_for_function(
        f"() => Number(document.querySelector(\"[data-metric='answers']\").textContent) > {before}",
        timeout=15_000,
    )
    assert page.get_by_text("SECOND").count() >= 1
    screenshot(page, "dashboard")
    assert page.console_errors == []


def test_the_ranking_page_shows_both_orders_with_real_thumbnails(
    page, live_server, researcher, login_as, screenshot
):
    study = make_running_study("ranked-study", owner=researcher)
    answer_all(study, "ONLY", follower)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/analysis/studies/{study.slug}/rankings/")
    assert page.url.endswith("/rankings/face/")
    assert page.locator("#by-bt tbody tr").count() == page.locator("#by-q tbody tr").count() > 10
    page.locator("#by-bt img.sketch-thumb").first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('#by-bt img.sketch-thumb'); return i.complete && i.naturalWidth > 0 }"
    )
    screenshot(page, "ranking")
    page.get_by_role("link", name="pig").click()
    assert page.url.split("?")[0].endswith("/rankings/pig/")
    assert page.console_errors == []
