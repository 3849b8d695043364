"""The Content-Security-Policy forbids inline script, and every kind of page still works under it:
the admin, the participant pages with htmx, and Swagger UI (drf-spectacular-sidecar)."""

import pytest
from playwright.sync_api import expect

from tests import services
from tests.annotation.factories import make_running_study

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]


def test_every_response_carries_a_policy_without_inline_script(client):
    policy = client.get("/admin/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and "unsafe" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_swagger_ui_renders_the_api_under_the_policy(page, live_server):
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert page.console_errors == []


def test_the_participant_flow_with_htmx_runs_under_the_policy(page, live_server):
    study = make_running_study("csp-study")
    page.goto(f"{live_server.url}/p/{study.slug}/?PROLIFIC_PID=CSP-1&STUDY_ID=S1")
    page.get_by_role("button", name="I agree, start").click()
    expect(page.locator("[data-step]")).not_to_have_attribute("data-step", "consent")
    assert page.console_errors == []


def test_the_study_admin_confirms_a_dangerous_action_without_inline_script(
    page, live_server, researcher, login_as
):
    study = make_running_study("csp-admin", owner=researcher)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Close").first.click()
    assert dialogs and dialogs[0].startswith("Close")
    expect(page.locator(".study-state")).to_have_text("live", ignore_case=True)  # dismissed: unchanged
    assert page.console_errors == []
