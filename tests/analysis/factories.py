"""Answered studies for the analysis tests, built through the real annotation actions.

Workers answer by rule (no randomness), so the expected numbers can be counted by hand:
``follower`` picks the higher q of the pair's scorer, ``contrarian`` the lower one; both get
every sentinel right and repeat themselves on duplicates. ``sentinel_failer`` is blocked;
``flipper`` contradicts itself on every duplicate and ends unqualified.
"""

from __future__ import annotations

from annotation.actions import do_enter_study, do_submit_answer
from annotation.models import Answer, Participant, ParticipantStatus, Trial, TrialKind
from tests.annotation.factories import at_trials, make_running_study, right_choice, wrong_choice


def _higher_side(trial: Trial) -> str:
    pair = trial.planned_pair
    q = {pair.sketch_a_id: pair.q_a, pair.sketch_b_id: pair.q_b}
    return "left" if q[trial.left_sketch_id] >= q[trial.right_sketch_id] else "right"


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def follower(trial: Trial) -> str:
    return right_choice(trial) if trial.kind == TrialKind.SENTINEL else _higher_side(trial)


def contrarian(trial: Trial) -> str:
    return right_choice(trial) if trial.kind == TrialKind.SENTINEL else _other(_higher_side(trial))


def sentinel_failer(trial: Trial) -> str:
    return wrong_choice(trial) if trial.kind == TrialKind.SENTINEL else _higher_side(trial)


def flipper(trial: Trial) -> str:
    if trial.kind == TrialKind.SENTINEL:
        return right_choice(trial)
    if trial.kind == TrialKind.DUPLICATE:
        first = Answer.objects.get(trial_id=trial.duplicate_of_id).chosen_sketch_id
        return "right" if first == trial.left_sketch_id else "left"
    return _higher_side(trial)


def undecided(trial: Trial) -> str:
    """'No difference' on every regular trial and its duplicates (needs allow_no_difference)."""
    return right_choice(trial) if trial.kind == TrialKind.SENTINEL else "none"


def answer_all(study, panel_id: str, chooser) -> Participant:
    """Enter, consent, practise correctly, then answer every trial with ``chooser`` until the end."""
    participant = at_trials(study, panel_id)
    trials = participant.trials.filter(is_practice=False).select_related("planned_pair", "gold_pair")
    for trial in trials.order_by("position"):
        result = do_submit_answer(participant, trial.token, chooser(trial), client_ms=900 + trial.position)
        participant = result.participant
        if participant.status != ParticipantStatus.ACTIVE:
            break
    participant.refresh_from_db()
    return participant


def answered_study(slug: str = "answered-study", owner=None, **config):
    """A live study with a follower, a contrarian, a blocked, an unqualified and a not-started worker."""
    study = make_running_study(slug, owner=owner, **config)
    workers = {
        "follower": answer_all(study, "FOLLOW", follower),
        "contrarian": answer_all(study, "CONTRA", contrarian),
        "blocked": answer_all(study, "BLOCKED", sentinel_failer),
        "unqualified": answer_all(study, "FLIP", flipper),
        "not_started": do_enter_study(study, "LATE"),
    }
    return study, workers
