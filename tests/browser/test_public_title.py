"""In a real browser, the tab and the headings carry the study's public title, never its internal name."""

from __future__ import annotations

import pytest

from tests import services
from tests.annotation.factories import make_running_study

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]

INTERNAL = "GACL-cos vs softmax (condition B)"


def test_the_tab_shows_the_public_title_through_consent_and_instructions(page, live_server):
    study = make_running_study(name=INTERNAL, public_title="Compare two drawings")
    page.goto(f"{live_server.url}/p/{study.slug}/?pid=browser-title")
    page.wait_for_selector('#step[data-step="consent"]')
    assert page.title() == "Compare two drawings"
    assert page.inner_text("h1") == "Compare two drawings: before you start"
    page.get_by_role("button", name="I agree, start").click()
    page.wait_for_selector('#step[data-step="instructions"]')  # swapped in by htmx
    assert page.title() == "Compare two drawings"
    assert INTERNAL not in page.content()
