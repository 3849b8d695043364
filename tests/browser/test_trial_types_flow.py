"""Best-of-K and single-sketch trials in a real browser: keys, taps, layout at 390 and 1280 px, resume."""

from __future__ import annotations

import pytest

from annotation.models import Answer, Participant, ParticipantStatus
from annotation.trial_types import option_sketch_ids
from tests import services
from tests.annotation.factories import known_better, make_running_study
from tests.browser.harness import _new_page
from tests.browser.test_trial_flow import start, wait_for_step, wait_for_trial

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone_390(browser):
    context, page = _new_page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    yield page
    context.close()


def best_option(trial) -> str:
    """A careful worker: the known best on gold and practice, else the lowest sketch id wherever it is."""
    options = option_sketch_ids(trial)
    better = known_better(trial)
    return str(options.index(better if better is not None else min(options)) + 1)


def yes_or_no(trial) -> str:
    better = known_better(trial)
    if better is not None:
        return "yes" if trial.left_sketch_id == better else "no"
    return "yes" if trial.left_sketch_id % 2 == 0 else "no"


def wait_for_next(page, previous: str) -> None:
    page.wait_for_function(
        "() => document.querySelector('#step').dataset.step !== 'trial' || "
        f"document.querySelector('form[data-trial]').elements.token.value !== '{previous}'"
    )


def no_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def through_practice(page, study, answer_key):
    previous = None
    for _ in range(study.practice_trials):
        trial = wait_for_trial(page, previous)
        answer_key(trial)
        wait_for_step(page, "feedback")
        assert "Right!" in page.inner_text("#step")
        page.get_by_role("button", name="Continue").click()
        previous = trial.token
    return previous


def test_best_of_four_by_keyboard_at_1280_with_abstain_and_resume(page, live_server, screenshot):
    study = make_running_study(
        "best-of-4-keys", trial_type="best_of_k", options_per_trial=4, allow_no_difference=True
    )
    start(page, live_server, study, "K-KEYS")
    page.get_by_role("button", name="I agree, start").click()
    wait_for_step(page, "instructions")
    text = page.inner_text("#step")
    assert "4 sketches" in text and "An example. Here sketch" in text
    assert page.locator(".options.example figure").count() == 4
    screenshot(page, "kway-instructions")
    page.get_by_role("button", name="Start the practice").click()
    previous = through_practice(page, study, lambda t: page.keyboard.press(best_option(t)))
    for position in range(study.trials_per_participant):
        trial = wait_for_trial(page, previous)
        assert trial.position == position
        if position == 0:
            boxes = [page.locator(f'button[value="{n}"] img').bounding_box() for n in "1234"]
            assert len({round(b["y"]) for b in boxes}) == 1, "four options side by side at 1280 px"
            assert all(b["width"] >= 150 for b in boxes)
            assert no_overflow(page)
            screenshot(page, "kway-trial-1280")
        if position == 5:  # reload: the same trial comes back, nothing answered
            page.reload()
            assert wait_for_trial(page).token == trial.token
            assert not Answer.objects.filter(trial=trial).exists()
        if position == 6 and trial.kind == "regular":
            page.keyboard.press("n")  # abstain
        else:
            page.keyboard.press(best_option(trial))
        previous = trial.token
        wait_for_next(page, previous)
    wait_for_step(page, "complete")
    participant = Participant.objects.get(panel_id="K-KEYS")
    assert participant.status == ParticipantStatus.COMPLETED and participant.qualified
    answers = Answer.objects.filter(trial__participant=participant, trial__is_practice=False)
    assert answers.count() == study.trials_per_participant
    assert set(answers.values_list("choice", flat=True)) <= {"1", "2", "3", "4", "none"}
    assert page.console_errors == []


def test_best_of_three_by_tapping_at_390_px(phone_390, live_server, screenshot):
    page = phone_390
    study = make_running_study(
        "best-of-3-taps", trial_type="best_of_k", options_per_trial=3, practice_trials=2
    )
    start(page, live_server, study, "K-TAPS")
    page.get_by_role("button", name="I agree, start").tap()
    page.get_by_role("button", name="Start the practice").tap()
    previous = None
    for _ in range(study.practice_trials):
        trial = wait_for_trial(page, previous)
        page.locator(f'button[value="{best_option(trial)}"]').tap()
        page.get_by_role("button", name="Continue").tap()
        previous = trial.token
    for position in range(study.trials_per_participant):
        trial = wait_for_trial(page, previous)
        if position == 0:
            assert no_overflow(page)
            for n in "123":
                box = page.locator(f'button[value="{n}"]').bounding_box()
                assert box["width"] >= 44 and box["height"] >= 44, "tap target under 44 px"
                assert box["x"] >= 0 and box["x"] + box["width"] <= 390
            screenshot(page, "kway-trial-390")
        page.locator(f'button[value="{best_option(trial)}"]').tap()
        previous = trial.token
    wait_for_step(page, "complete")
    assert Participant.objects.get(panel_id="K-TAPS").status == ParticipantStatus.COMPLETED
    assert page.console_errors == []


def test_single_by_keyboard_y_n_with_resume_after_closing_the_tab(browser, page, live_server, screenshot):
    study = make_running_study("single-keys", trial_type="single")
    start(page, live_server, study, "S-KEYS")
    page.get_by_role("button", name="I agree, start").click()
    wait_for_step(page, "instructions")
    assert "Is this a good drawing" in page.inner_text("#step")
    page.get_by_role("button", name="Start the practice").click()
    previous = through_practice(
        page, study, lambda t: page.keyboard.press("y" if yes_or_no(t) == "yes" else "n")
    )
    url = page.url
    for position in range(study.trials_per_participant):
        trial = wait_for_trial(page, previous)
        if position == 0:
            assert "Is this a good drawing of a" in page.inner_text("h1")
            assert page.locator("button.sketch, figure.sketch").count() == 1
            assert no_overflow(page)
            screenshot(page, "single-trial-1280")
        if position == 3:  # close the tab, open the link again: the same trial
            cookies = page.context.cookies()
            page.context.close()
            context, page = _new_page(browser, viewport={"width": 1280, "height": 900})
            context.add_cookies(cookies)
            page.goto(url)
            assert wait_for_trial(page).token == trial.token
        page.keyboard.press("Y" if yes_or_no(trial) == "yes" else "N")
        previous = trial.token
        wait_for_next(page, previous)
    wait_for_step(page, "complete")
    participant = Participant.objects.get(panel_id="S-KEYS")
    assert participant.status == ParticipantStatus.COMPLETED and participant.qualified
    choices = set(Answer.objects.filter(trial__participant=participant).values_list("choice", flat=True))
    assert choices == {"yes", "no"}


def test_single_by_tapping_at_390_px_and_a_double_tap_is_stored_once(phone_390, live_server, screenshot):
    page = phone_390
    study = make_running_study("single-taps", trial_type="single", practice_trials=0)
    start(page, live_server, study, "S-TAPS")
    page.get_by_role("button", name="I agree, start").tap()
    page.get_by_role("button", name="Start", exact=True).tap()
    previous = None
    for position in range(study.trials_per_participant):
        trial = wait_for_trial(page, previous)
        button = page.get_by_role("button", name="Yes" if yes_or_no(trial) == "yes" else "No")
        if position == 0:
            assert no_overflow(page)
            img = page.locator(".single img").bounding_box()
            yes = page.get_by_role("button", name="Yes").bounding_box()
            assert yes["y"] + yes["height"] <= 844, "the answers are below the fold"
            assert img["width"] <= 390 and yes["height"] >= 44
            screenshot(page, "single-trial-390")
            button.dblclick()
        else:
            button.tap()
        previous = trial.token
    wait_for_step(page, "complete")
    participant = Participant.objects.get(panel_id="S-TAPS")
    assert participant.status == ParticipantStatus.COMPLETED
    assert Answer.objects.filter(trial__participant=participant).count() == study.trials_per_participant
    assert page.console_errors == []
