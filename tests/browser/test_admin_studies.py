"""A researcher designs a study in the admin: dry-run plan, freeze, launch, all by clicking."""

import pytest
from playwright.sync_api import expect

from tests import services
from tests.factories import make_scored_study

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]


def test_a_researcher_previews_freezes_and_launches_a_study(
    page, live_server, researcher, login_as, screenshot
):
    study = make_scored_study(owner=researcher)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    page.get_by_role("link", name="Plan preview").first.click()
    expect(page.get_by_text("Dry run:")).to_be_visible()
    expect(page.locator("#plan-cells tbody tr")).to_have_count(4)
    screenshot(page, "study-plan-dry-run")

    page.get_by_role("button", name="Freeze this plan").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Plan frozen: 160 pairs in 4 cells")
    expect(page.locator("input[name=pairs_per_cell]")).to_have_count(0)  # plan fields are read-only now

    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Launch live").click()
    expect(page.locator(".messagelist .success")).to_contain_text("is now live")
    expect(page.locator(".study-state")).to_have_text("live", ignore_case=True)
    assert dialogs and "Launch live" in dialogs[0]  # launching asks first, as closing does
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    screenshot(page, "study-live")
    assert page.console_errors == []


def test_a_refused_launch_is_explained_on_the_page(page, live_server, researcher, login_as):
    study = make_scored_study(owner=researcher, completion_code="", pairs_per_cell=1000)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Launch as pilot").click()
    errors = page.locator(".messagelist .error")
    expect(errors.first).to_be_visible()
    expect(errors.filter(has_text="short by").first).to_be_visible()
    expect(errors.filter(has_text="a Prolific study needs its completion code")).to_have_count(1)
    expect(page.locator(".study-state")).to_have_text("draft", ignore_case=True)


def test_a_study_too_big_for_its_data_is_fitted_in_one_click_and_launches(
    page, live_server, researcher, login_as
):
    study = make_scored_study("too-big", owner=researcher, pairs_per_cell=5000, trials_per_participant=1000)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    expect(page.locator("[data-feasible]")).to_contain_text("Pairs per cell: at most")
    expect(page.locator('[data-checklist] [data-item="plan frozen"]')).to_have_attribute("data-done", "no")
    expect(page.locator('[data-checklist] [data-item="scored"]')).to_have_attribute("data-done", "yes")
    page.get_by_role("button", name="Fit to data").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Fitted to the data: pairs per cell 5000 →")
    page.once("dialog", lambda dialog: dialog.accept())  # launching asks first
    page.get_by_role("button", name="Launch live").click()
    expect(page.locator(".messagelist .success")).to_contain_text("is now live")
    expect(page.locator('[data-checklist] [data-item="plan frozen"]')).to_have_attribute("data-done", "yes")
    assert page.console_errors == []
