"""Which outcome a participant's session ended with, and what the worker sees for it.

``participant_outcome(participant)`` maps the participant's state to one of
``studies.outcomes.Outcome`` (or None while the session goes on, and for an idle time-out,
which Prolific times out itself). ``outcome_context(study, outcome, trials_done)`` is what the
end page shows: the code, the redirect URL (on Prolific, its completion page with the code),
what Prolific will do with it, and how many trials count.
"""

from __future__ import annotations

from functools import lru_cache

from annotation.models import Participant, ParticipantStatus
from studies.models import Panel, Study, StudyState
from studies.outcomes import Outcome, ProlificAction, resolve_codes

PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete?cc="

#: What the worker is told will happen, per Prolific action.
ACTION_TEXT = {
    ProlificAction.AUTOMATICALLY_APPROVE: "Your submission will be approved automatically.",
    ProlificAction.MANUALLY_REVIEW: "The researchers will review your submission and approve it.",
    ProlificAction.FIXED_SCREENOUT_PAYMENT: "You will be paid the screen-out reward for your time.",
    ProlificAction.REQUEST_RETURN: "Please return your submission; this will not count against you.",
}
#: The entry / consent refusals that end with a code.
NOTICE_OUTCOMES = {
    "full": Outcome.NO_PLACES,
    "closed": Outcome.NO_PLACES,
    "not_qualified": Outcome.SCREENED_OUT,
    "paused": Outcome.INTERRUPTED,
}


def participant_outcome(participant: Participant) -> str | None:
    status = participant.status
    if status == ParticipantStatus.COMPLETED:
        # Unqualified at the end (the duplicate or time rule): the screen-out code, never the
        # completion code that approves the work as usable (issue 11).
        return Outcome.SCREENED_OUT if participant.qualified is False else Outcome.COMPLETED
    if status == ParticipantStatus.BLOCKED:
        return Outcome.SCREENED_OUT
    if status == ParticipantStatus.DECLINED:
        return Outcome.DECLINED
    if participant.study.state == StudyState.CLOSED and status not in (
        ParticipantStatus.ABANDONED,
        ParticipantStatus.RETURNED,
    ):
        return Outcome.INTERRUPTED
    return None


def outcome_url(study: Study, code: str, url: str) -> str:
    """The redirect: the configured URL, else Prolific's completion page with the code."""
    if url:
        return url
    if study.panel == Panel.PROLIFIC and code:
        return PROLIFIC_COMPLETE + _quote(code)
    return ""


@lru_cache(maxsize=256)
def _quote(code: str) -> str:
    from urllib.parse import quote

    return quote(code, safe="")


def outcome_context(study: Study, outcome: str, trials_done: int = 0) -> dict:
    resolved = resolve_codes(study)[outcome]
    return {
        "key": outcome,
        "code": resolved.code,
        "url": outcome_url(study, resolved.code, resolved.url),
        "action": resolved.action,
        "action_text": ACTION_TEXT.get(resolved.action, "") if study.panel == Panel.PROLIFIC else "",
        "trials_done": trials_done,
        "panel_is_prolific": study.panel == Panel.PROLIFIC,
    }
