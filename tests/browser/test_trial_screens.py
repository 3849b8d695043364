"""The trial screens as a crowdworker sees them, at 390 px (a phone) and 1280 px (a laptop):
wording that follows the layout, the category named, a stale tab's notice, and no layout shift
(Cumulative Layout Shift measured by the browser, with the pictures arriving late)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from annotation.models import Answer, Participant, Trial
from tests import services
from tests.annotation.factories import make_running_study

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]

READY = "form[data-trial][data-ready]"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
}
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
#: Layout shifts, as the browser reports them (the CLS definition: shifts without recent input).
CLS_OBSERVER = """
window.__cls = 0; window.__shifts = [];
new PerformanceObserver(list => {
  for (const e of list.getEntries()) {
    window.__shifts.push({value: e.value, recent: e.hadRecentInput});
    if (!e.hadRecentInput) window.__cls += e.value;
  }
}).observe({type: 'layout-shift', buffered: true});
"""


@pytest.fixture(params=["phone", "laptop"])
def device(request, browser):
    context = browser.new_context(**(PHONE if request.param == "phone" else LAPTOP))
    context.set_default_timeout(15_000)
    context.add_init_script(CLS_OBSERVER)
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield request.param, page
    context.close()


def slow_pictures(page, seconds=0.7):
    """Any picture fetched by URL arrives well after the screen (longer than the 500 ms CLS grace
    after a click). Participant screens carry their pictures inline (issue 13), so on them this
    only guards against a return to linked pictures; the boxes are sized either way."""

    def delayed(route):
        time.sleep(seconds)
        route.continue_()

    page.route("**/s/*/*.svg", delayed)


def current_trial(page, previous=None) -> Trial:
    page.wait_for_function(
        "prev => { const f = document.querySelector('form[data-trial][data-ready]');"
        " return f && f.elements.token.value !== prev; }",
        arg=previous,
    )
    return Trial.objects.select_related("left_sketch__category").get(
        token=page.eval_on_selector(READY, "f => f.elements.token.value")
    )


def visible_text(page, selector) -> str:
    return page.locator(selector).first.inner_text()


def test_words_follow_the_layout_the_category_is_named_and_nothing_shifts(device, live_server, screenshot):
    kind, page = device
    study = make_running_study(f"screens-{kind}")
    slow_pictures(page)
    page.goto(f"{live_server.url}/p/{study.slug}/?PROLIFIC_PID=SCREENS-{kind}")
    page.get_by_role("button", name="I agree, start").click()
    page.wait_for_selector('#step[data-step="instructions"] img')
    page.wait_for_timeout(1500)  # the example pictures arrive late
    text = visible_text(page, "#step")
    if kind == "phone":
        assert "one above the other" in text and "side by side" not in text
        assert "Tap the better one" in text and "← or F" not in text and "(left)" not in text
    else:
        assert "side by side" in text and "one above the other" not in text
        assert "F (left)" in text and "Tap the better one" not in text
    screenshot(page, f"{kind}-instructions")

    page.get_by_role("button", name="Start the practice").click()
    trial = current_trial(page)
    for _ in range(study.practice_trials):
        better = trial.practice_better_sketch_id == trial.left_sketch_id
        page.locator(f'{READY} button[value="{"left" if better else "right"}"]').click()
        page.wait_for_selector('#step[data-step="feedback"]')
        page.wait_for_timeout(1500)
        feedback = visible_text(page, "#step")
        words = ("top", "bottom") if kind == "phone" else ("left", "right")
        assert f"The {words[0 if better else 1]} sketch is the better one" in feedback
        screenshot(page, f"{kind}-feedback")
        page.get_by_role("button", name="Continue").click()
        trial = current_trial(page, trial.token)

    for _ in range(4):
        page.wait_for_timeout(1200)
        category = page.locator("[data-category]")
        expect(category).to_have_text(f"Both are drawings of: {trial.left_sketch.category.name}")
        keys_shown = page.locator(f"{READY} .key").first.is_visible()
        assert keys_shown is (kind == "laptop")
        page.locator(f'{READY} button[value="left"]').click()
        trial = current_trial(page, trial.token)
    screenshot(page, f"{kind}-trial")
    cls = page.evaluate("window.__cls")
    assert cls < 0.05, page.evaluate("window.__shifts")
    assert page.console_errors == []


def test_a_stale_tab_is_told_where_the_participant_is_and_nothing_counts_twice(
    device, live_server, screenshot
):
    kind, first = device
    study = make_running_study(f"stale-{kind}", practice_trials=0)
    first.goto(f"{live_server.url}/p/{study.slug}/?PROLIFIC_PID=STALE-{kind}")
    first.get_by_role("button", name="I agree, start").click()
    first.get_by_role("button", name="Start", exact=True).click()
    shown = current_trial(first)
    second = first.context.new_page()  # the same browser: a second tab on the same screen
    second.goto(f"{live_server.url}/p/{study.slug}/task/")
    assert current_trial(second).token == shown.token

    first.locator(f'{READY} button[value="left"]').click()
    now = current_trial(first, shown.token)
    second.locator(f'{READY} button[value="right"]').click()  # the stale tab answers the same pair
    notice = second.locator("#step .notice")
    expect(notice).to_contain_text("This tab was behind")
    assert current_trial(second, shown.token).token == now.token  # it shows where the participant is
    screenshot(second, f"{kind}-stale-tab")

    participant = Participant.objects.get(study=study, panel_id=f"STALE-{kind}")
    answers = Answer.objects.filter(trial__participant=participant)
    assert [(a.trial_id, a.choice) for a in answers] == [(shown.pk, "left")]
    second.locator(f'{READY} button[value="right"]').click()  # answering on from the second tab works
    current_trial(second, now.token)
    assert answers.all().count() == 2 and answers.all().get(trial=now).choice == "right"


def test_leaving_mid_study_asks_for_confirmation(page, live_server):
    study = make_running_study("leave-confirm", practice_trials=0)
    page.goto(f"{live_server.url}/p/{study.slug}/?PROLIFIC_PID=LEAVER")
    page.get_by_role("button", name="I agree, start").click()
    page.get_by_role("button", name="Start", exact=True).click()
    first = current_trial(page)
    page.locator(f'{READY} button[value="left"]').click()  # a user gesture: beforeunload may ask
    current_trial(page, first.token)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(1500)  # the page stays: leaving was not confirmed
    assert dialogs == ["beforeunload"] and not page.is_closed()
    assert page.locator(READY).is_visible()
