"""Every way a session ends, in a real browser: the right page, code and way back to the panel."""

from __future__ import annotations

import pytest

from annotation.actions import do_decline_consent, do_enter_study, do_submit_answer
from annotation.models import ParticipantStatus
from studies.actions import do_close_study
from studies.models import Panel
from studies.outcomes import Outcome, OutcomeCode, default_code
from tests import services
from tests.annotation.factories import (
    at_trials,
    main_trials,
    make_running_study,
    right_choice,
    unbiased_choice,
    wrong_choice,
)

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]

PROLIFIC = "https://app.prolific.com/submissions/complete?cc="


def open_as(page, live_server, study, pid):
    page.goto(f"{live_server.url}/p/{study.slug}/?PROLIFIC_PID={pid}&STUDY_ID=s1&SESSION_ID=x-{pid}")
    page.wait_for_selector("#step")


def shown(page) -> dict:
    link = page.query_selector("[data-outcome-link]")
    return {
        "outcome": page.get_attribute("[data-outcome]", "data-outcome")
        if page.query_selector("[data-outcome]")
        else None,
        "code": page.inner_text("[data-outcome-code]"),
        "href": link.get_attribute("href") if link else None,
        "text": page.inner_text("#step"),
    }


def test_a_completed_session_shows_the_completion_code_and_prolific_link(page, live_server, screenshot):
    study = make_running_study("ends-completed")
    participant = at_trials(study, "DONE")
    for trial in main_trials(participant):  # consistent and without side bias: a qualified worker
        do_submit_answer(participant, trial.token, unbiased_choice(trial))
    open_as(page, live_server, study, "DONE")
    seen = shown(page)
    assert seen["code"] == "C0DE1234" and seen["href"] == PROLIFIC + "C0DE1234"
    assert "review your submission" in seen["text"]
    screenshot(page, "outcome-completed")


def test_a_worker_blocked_by_sentinels_gets_the_screen_out_code(page, live_server, screenshot):
    study = make_running_study("ends-screened")
    participant = at_trials(study, "SLOPPY")
    for trial in main_trials(participant):
        if participant.status == ParticipantStatus.BLOCKED:
            break
        choice = wrong_choice(trial) if trial.kind == "sentinel" else "left"
        participant = do_submit_answer(participant, trial.token, choice).participant
    assert participant.status == ParticipantStatus.BLOCKED
    open_as(page, live_server, study, "SLOPPY")
    seen = shown(page)
    code = default_code(study.slug, study.seed, Outcome.SCREENED_OUT)
    assert seen["outcome"] == "screened_out" and seen["code"] == code and seen["href"] == PROLIFIC + code
    assert "screen-out reward" in seen["text"]
    screenshot(page, "outcome-screened-out")


def test_a_study_closed_mid_session_shows_the_trials_done_and_its_code(page, live_server, screenshot):
    study = make_running_study("ends-closed")
    participant = at_trials(study, "CUT")
    for trial in main_trials(participant)[:7]:
        participant = do_submit_answer(participant, trial.token, right_choice(trial)).participant
    do_close_study(study)
    open_as(page, live_server, study, "CUT")
    seen = shown(page)
    code = default_code(study.slug, study.seed, Outcome.INTERRUPTED)
    assert seen["outcome"] == "interrupted" and seen["code"] == code and seen["href"] == PROLIFIC + code
    assert page.get_attribute("[data-trials-done]", "data-trials-done") == "7"
    assert "You answered 7 trials" in seen["text"]
    screenshot(page, "outcome-interrupted")


def test_declining_consent_gives_the_no_consent_code(page, live_server):
    study = make_running_study("ends-declined")
    do_decline_consent(do_enter_study(study, "NO-THANKS"))
    open_as(page, live_server, study, "NO-THANKS")
    seen = shown(page)
    code = default_code(study.slug, study.seed, Outcome.DECLINED)
    assert seen["outcome"] == "declined" and seen["code"] == code and seen["href"] == PROLIFIC + code
    assert "return your submission" in seen["text"]


def test_a_full_study_gives_the_no_places_code(page, live_server):
    study = make_running_study("ends-full", target_participants=1)
    at_trials(study, "FIRST")
    open_as(page, live_server, study, "LATE")
    assert page.get_attribute("#step", "data-step") == "notice-full"
    seen = shown(page)
    code = default_code(study.slug, study.seed, Outcome.NO_PLACES)
    assert seen["outcome"] == "no_places" and seen["code"] == code and seen["href"] == PROLIFIC + code


def test_a_generic_panel_uses_the_studys_own_codes_and_urls(page, live_server):
    study = make_running_study(
        "ends-generic", panel=Panel.GENERIC, completion_url="https://panel.example.org/done?c=OK"
    )
    OutcomeCode.objects.create(
        study=study, outcome=Outcome.DECLINED, code="GEN-NOC", url="https://panel.example.org/done?c=NOC"
    )
    do_decline_consent(do_enter_study(study, "GEN-1"))
    page.goto(f"{live_server.url}/p/{study.slug}/?pid=GEN-1")
    page.wait_for_selector("#step")
    seen = shown(page)
    assert seen["code"] == "GEN-NOC" and seen["href"] == "https://panel.example.org/done?c=NOC"
    assert "Prolific" not in seen["text"]


def test_a_comprehension_check_asks_twice_then_ends_with_the_screen_out_code(page, live_server, screenshot):
    from studies.questionnaires import Question

    study = make_running_study("ends-comprehension")
    Question.objects.create(
        study=study,
        phase="pre",
        kind="comprehension",
        text="What do you pick?",
        choices=["the better drawn sketch", "the larger sketch"],
        correct="the better drawn sketch",
    )
    page.goto(f"{live_server.url}/p/{study.slug}/?PROLIFIC_PID=QUIZ&STUDY_ID=s1&SESSION_ID=x")
    page.get_by_role("button", name="I agree, start").click()
    page.wait_for_selector('#step[data-step="questions"]')
    page.get_by_label("the larger sketch").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("[data-retry]")
    screenshot(page, "comprehension-retry")
    page.get_by_label("the larger sketch").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector('#step[data-step="blocked"]')
    seen = shown(page)
    code = default_code(study.slug, study.seed, Outcome.SCREENED_OUT)
    assert seen["code"] == code and "comprehension question" in seen["text"]
    assert page.console_errors == []
