"""The trial page's telemetry in a real browser (static/annotation/task.js → annotation.telemetry),
the bot flags it feeds, and the instructions' probe."""

from __future__ import annotations

import pytest

from analysis import results, selectors
from annotation.models import Answer, Participant
from tests import services
from tests.annotation.factories import make_running_study
from tests.browser.test_trial_flow import side_of_better, start, wait_for_step, wait_for_trial

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]


def _begin(page, live_server, study, panel_id):
    start(page, live_server, study, panel_id)
    page.get_by_role("button", name="I agree, start").click()
    wait_for_step(page, "instructions")


def click_like_a_person(page, side: str) -> None:
    """Move the mouse onto the sketch in steps and click it (trusted pointer events)."""
    box = page.locator(f'button[value="{side}"]').bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.down()
    page.mouse.up()


def test_keys_and_mouse_are_recorded_with_the_viewport_and_one_device_hash(page, live_server):
    study = make_running_study("tele-person", break_every=0, practice_trials=2)
    _begin(page, live_server, study, "PERSON")
    page.get_by_role("button", name="Start the practice").click()
    previous = None
    for number in range(study.practice_trials + 4):
        trial = wait_for_trial(page, previous)
        if number < study.practice_trials:
            side = side_of_better(trial)
        else:
            side = "left" if trial.left_sketch_id < trial.right_sketch_id else "right"
        if number % 2:
            page.keyboard.press("f" if side == "left" else "j")
        else:
            click_like_a_person(page, side)
        if trial.is_practice:
            wait_for_step(page, "feedback")
            page.get_by_role("button", name="Continue").click()
        previous = trial.token
    page.wait_for_function(
        f"() => document.querySelector('form[data-trial]').elements.token.value !== '{previous}'"
    )
    answers = list(
        Answer.objects.filter(trial__participant__panel_id="PERSON").order_by("trial__is_practice", "id")
    )
    assert len(answers) == study.practice_trials + 4
    viewport = page.viewport_size
    for number, answer in enumerate(
        Answer.objects.filter(trial__participant__panel_id="PERSON").order_by("id")
    ):
        assert answer.input_kind == ("k" if number % 2 else "p")
        assert (answer.viewport_w, answer.viewport_h) == (viewport["width"], viewport["height"])
        if answer.input_kind == "p":
            assert answer.pointer_moves >= 8 and answer.pointer_path_px > 0
        assert answer.hidden_count == 0 and answer.blur_count == 0
    assert len({a.device_hash for a in answers}) == 1 and len(answers[0].device_hash) == 16
    assert answers[0].network_hash == ""  # loopback: no network prefix to hash


def test_a_scripted_clicker_leaves_no_input_and_is_flagged(page, live_server):
    study = make_running_study("tele-script", break_every=0, practice_trials=2, too_fast_ms=0)
    _begin(page, live_server, study, "SCRIPT")
    page.get_by_role("button", name="Start the practice").click()
    previous = None
    participant = Participant.objects.get(panel_id="SCRIPT")
    total = study.practice_trials + study.trials_per_participant
    for number in range(total):
        trial = wait_for_trial(page, previous)
        side = side_of_better(trial) if trial.is_practice else ("left", "right")[number % 2]
        page.evaluate(f"document.querySelector('button[value=\"{side}\"]').click()")  # not the person's own
        if trial.is_practice:
            wait_for_step(page, "feedback")
            page.evaluate("document.querySelector('#step a, #step button').click()")
        previous = trial.token
        participant.refresh_from_db()
        if participant.status != "active" and not trial.is_practice:
            break
    page.wait_for_function("() => document.querySelector('#step').dataset.step !== 'trial' || true")
    answers = Answer.objects.filter(trial__participant=participant)
    assert answers.count() >= 10 and not answers.exclude(input_kind="").exists()
    codes = [f.code for f in results.load_frame(study, selectors.EVERYONE).flags.of(participant.pk)]
    assert "no_input" in codes and "too_fast" in codes


def test_the_instruction_probe_is_invisible_to_people_and_caught_when_an_agent_acts_on_it(page, live_server):
    study = make_running_study("tele-probe", break_every=0, instruction_probe=True)
    _begin(page, live_server, study, "READER")
    probe = page.locator(".probe")
    box = probe.bounding_box()
    assert probe.count() == 1 and box["x"] + box["width"] <= 0  # in the text, never on screen
    assert probe.get_attribute("aria-hidden") == "true"
    page.get_by_role("button", name="Start the practice").click()
    wait_for_trial(page)
    assert Participant.objects.get(panel_id="READER").probe_answer == ""

    agent = page.context.new_page()
    agent.goto(f"{live_server.url}/p/{study.slug}/?PROLIFIC_PID=AGENT&STUDY_ID=s1&SESSION_ID=x2")
    agent.get_by_role("button", name="I agree, start").click()
    agent.wait_for_selector('#step[data-step="instructions"]')
    agent.locator('input[name="reference"]').fill("heliotrope", force=True)  # what the hidden line asks
    agent.get_by_role("button", name="Start the practice").click()
    agent.wait_for_selector("form[data-trial][data-ready]")
    agent_id = Participant.objects.get(panel_id="AGENT", probe_answer="heliotrope").pk
    flags = results.load_frame(study, selectors.EVERYONE).flags
    assert [f.code for f in flags.of(agent_id)] == ["instruction_probe"]
    assert not flags.of(Participant.objects.get(panel_id="READER").pk)
