"""Running studies and participants at a given point of the flow, built through the real actions."""

from __future__ import annotations

from django.db.models import F

from annotation.actions import (
    do_accept_consent,
    do_enter_study,
    do_finish_instructions,
    do_submit_answer,
)
from annotation.models import Participant, ParticipantStatus, Trial
from studies.actions import do_launch_study
from tests.factories import make_scored_study

#: Small but complete: 3 practice, 30 trials (22 regular, 4 sentinels, 4 duplicates).
SMALL = {
    "trials_per_participant": 30,
    "practice_trials": 3,
    "sentinels_per_participant": 4,
    "duplicates_per_participant": 4,
    "max_sentinel_mistakes": 2,
    "min_duplicate_distance": 8,
    "screening_rule": "paper",  # these tests are about the paper's fixed rules (> 2 mistakes blocks)
}


def make_running_study(slug: str = "trial-flow", *, pilot: bool = False, **config):
    """A launched study over real sample sketches (pig and face, scored by feature-based q)."""
    study = make_scored_study(slug, **{**SMALL, **config})
    return do_launch_study(study, pilot=pilot)


def admitted(study, panel_id: str = "PID-A") -> Participant:
    """Entered and consented: trial list drawn, on the instructions screen."""
    return do_accept_consent(do_enter_study(study, panel_id, prolific_study_id=study.prolific_study_id))


def at_trials(study, panel_id: str = "PID-A") -> Participant:
    """Through instructions and practice (answered correctly): on the first trial."""
    participant = do_finish_instructions(admitted(study, panel_id))
    for trial in participant.trials.filter(
        is_practice=True, position__lt=F("participant__n_practice")
    ).order_by("position"):
        do_submit_answer(participant, trial.token, right_choice(trial))
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ACTIVE
    return participant


def known_better(trial: Trial) -> int | None:
    if trial.is_practice:
        return trial.practice_better_sketch_id
    if trial.gold_pair_id:
        return trial.gold_pair.better_id
    return None


def unbiased_choice(trial: Trial) -> str:
    """The correct side on sentinels and practice; elsewhere the sketch with the lower id,
    whichever side it is on (consistent on duplicates, no side bias)."""
    if known_better(trial) is not None:
        return right_choice(trial)
    return "left" if trial.left_sketch_id < trial.right_sketch_id else "right"


def right_choice(trial: Trial) -> str:
    """The correct side for sentinels and practice; "left" for anything else."""
    better = known_better(trial)
    return "right" if better == trial.right_sketch_id else "left"


def wrong_choice(trial: Trial) -> str:
    return "left" if right_choice(trial) == "right" else "right"


def main_trials(participant: Participant) -> list[Trial]:
    return list(participant.trials.filter(is_practice=False).select_related("gold_pair").order_by("position"))
