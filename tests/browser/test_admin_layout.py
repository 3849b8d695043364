"""Researcher pages at 1280 px: nothing overlaps, the key columns of the long lists are in view."""

import pytest
from playwright.sync_api import expect

from annotation.actions import do_submit_answer
from tests import services
from tests.annotation.factories import at_trials, main_trials, make_running_study, right_choice

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]

KEY_COLUMNS = {
    "/admin/annotation/participant/": [
        "Panel id",
        "Study",
        "Status",
        "Qualified",
        "Progress",
        "Sentinel mistakes",
        "Duplicate agreement",
    ],
    "/admin/analysis/workerquality/": [
        "Panel id",
        "Study",
        "Status",
        "Analysed",
        "Trials",
        "Sentinel mistakes",
        "Duplicate consistency",
        "Median",
    ],
    "/admin/sketches/sketch/": ["Sketch", "Id", "Category", "Split", "Stroke count"],
}


def _box(locator):
    box = locator.bounding_box()
    assert box is not None
    return box


def _overlap(a, b) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_the_study_page_buttons_do_not_overlap_the_title_and_launch_asks_first(
    page, live_server, researcher, login_as, screenshot
):
    study = make_running_study("layout-study", owner=researcher)
    at_trials(study, "L-1")
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    title = _box(page.locator("#content h1").first)
    tools = page.locator(".object-tools li")
    assert tools.count() >= 3
    for i in range(tools.count()):
        box = _box(tools.nth(i))
        assert not _overlap(title, box), (i, title, box)
        assert box["x"] + box["width"] <= 1280
    screenshot(page, "study-1280")


def test_a_dismissed_launch_confirmation_launches_nothing(page, live_server, researcher, login_as):
    from tests.factories import make_scored_study

    study = make_scored_study("confirm-launch", owner=researcher)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Launch as pilot").click()
    expect(page.locator(".study-state")).to_have_text("draft", ignore_case=True)
    assert messages and "Participants with the link can start at once" in messages[0]
    study.refresh_from_db()
    assert study.state == "draft"


def test_the_long_lists_show_their_key_columns_at_1280_px(
    page, live_server, researcher, login_as, screenshot
):
    study = make_running_study("layout-lists", owner=researcher)
    participant = at_trials(study, "L-1")
    for trial in main_trials(participant)[:5]:
        do_submit_answer(participant, trial.token, right_choice(trial))
    login_as(page, researcher)
    for path, columns in KEY_COLUMNS.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("#result_list")).to_be_visible()
        for name in columns:
            header = page.locator("#result_list thead th", has_text=name).first
            box = _box(header)
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (path, name, box)
        screenshot(page, path.strip("/").replace("/", "-"))
