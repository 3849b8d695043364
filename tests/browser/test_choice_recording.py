"""What a participant chooses in the browser is what the server stores, trial by trial.

A whole session in Chromium, answered from the trial's own data (the better sketch by the study's
scorer on ordinary trials, the known better one on sentinels and practice), by keys and by a
person-like pointer, with a short pause before each answer as a careful person or an agent makes.
Each stored answer is compared with the choice made for that trial's token.
"""

from __future__ import annotations

import pytest

from annotation.models import Answer, Participant
from scoring.models import SketchScore
from tests import services
from tests.annotation.factories import known_better, make_running_study
from tests.browser.test_telemetry_browser import _begin, click_like_a_person
from tests.browser.test_trial_flow import wait_for_step, wait_for_trial

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]

KEYS = {"left": "f", "right": "j"}


def side_by_scorer(trial, q: dict[int, float]) -> str:
    better = known_better(trial)
    if better is None:
        better = max((trial.left_sketch_id, trial.right_sketch_id), key=lambda sketch: q[sketch])
    return "left" if better == trial.left_sketch_id else "right"


@pytest.mark.parametrize("answer_by", ["keys", "pointer"])
def test_every_choice_made_in_the_browser_is_stored_as_made(page, live_server, answer_by):
    study = make_running_study(f"choices-{answer_by}", break_every=0, practice_trials=2, too_fast_ms=0)
    q = dict(
        SketchScore.objects.filter(scorer=study.scorers.order_by("pk").first()).values_list("sketch_id", "q")
    )
    _begin(page, live_server, study, answer_by.upper())
    page.get_by_role("button", name="Start the practice").click()
    made: dict[str, str] = {}
    previous = None
    for _ in range(study.practice_trials + study.trials_per_participant):
        trial = wait_for_trial(page, previous)
        made[trial.token] = side = side_by_scorer(trial, q)
        page.wait_for_timeout(250)  # a pause before answering, as a person (or an agent) takes
        if answer_by == "keys":
            page.keyboard.press(KEYS[side])
        else:
            click_like_a_person(page, side)
        if trial.is_practice:
            wait_for_step(page, "feedback")
            page.get_by_role("button", name="Continue").click()
        previous = trial.token
    participant = Participant.objects.get(panel_id=answer_by.upper())
    for _ in range(100):  # the last answer's request may still be on its way
        if Answer.objects.filter(trial__participant=participant).count() == len(made):
            break
        page.wait_for_timeout(100)
    participant.refresh_from_db()
    stored = dict(Answer.objects.filter(trial__participant=participant).values_list("trial__token", "choice"))
    assert stored == made
    assert participant.status == "completed"
