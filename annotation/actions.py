"""Every state change of the annotation app. Views, commands and tasks call these, nothing else.

* ``do_enter_study(study, panel_id, ...)`` → Participant (or ``EntryRefused``)
* ``do_accept_consent(participant)`` draws the practice and trial lists
* ``do_decline_consent``, ``do_finish_instructions``, ``do_end_break``
* ``do_submit_answer(participant, token, choice, client_ms)`` → ``SubmitResult``
* ``do_mark_served(participant)``: the current trial is sent out (starts its server clock)
* ``do_touch(participant)``: the participant is still there (idle timeout)
* ``do_expire_idle_participants(now)`` → ``ExpiryReport``
* ``do_release_pairs_of_excluded(participant)``: a blocked, abandoned, returned or removed
  participant's planned pairs (answered or not) go back to the pool (``annotation.answering``)
* ``do_answer_questions(participant, answers)``: the end-of-study questionnaire (``annotation.questionnaires``)
* ``do_review``, ``do_override_analysis``, ``do_decide_on_panel``, ``do_set_bonus``: a researcher's
  review of one participant (``annotation.review``); analysis exclusion and panel decisions stay separate
"""

from __future__ import annotations

from django.utils import timezone

from annotation.admission import (
    EntryRefused,
    do_accept_consent,
    do_decline_consent,
    do_end_break,
    do_enter_study,
    do_finish_instructions,
)
from annotation.answering import (
    ACCEPTED,
    RATE_LIMITED,
    REFUSED,
    REPLAYED,
    SubmitResult,
    do_release_pairs_of_excluded,
    do_submit_answer,
)
from annotation.expiry import ExpiryReport, do_expire_idle_participants
from annotation.models import Participant
from annotation.questionnaires import QuestionError, do_answer_questions
from annotation.review import ReviewError, do_decide_on_panel, do_override_analysis, do_review, do_set_bonus

__all__ = [
    "ACCEPTED",
    "RATE_LIMITED",
    "REFUSED",
    "REPLAYED",
    "EntryRefused",
    "QuestionError",
    "ReviewError",
    "ExpiryReport",
    "SubmitResult",
    "do_accept_consent",
    "do_answer_questions",
    "do_decide_on_panel",
    "do_decline_consent",
    "do_end_break",
    "do_enter_study",
    "do_expire_idle_participants",
    "do_finish_instructions",
    "do_mark_served",
    "do_override_analysis",
    "do_release_pairs_of_excluded",
    "do_review",
    "do_set_bonus",
    "do_submit_answer",
    "do_touch",
]


def do_mark_served(participant: Participant) -> None:
    """The current trial is being sent: start its server clock, unless a render (a reload,
    a second tab) or the answer that led here already did."""
    if participant.trial_served_at is None:
        now = timezone.now()
        Participant.objects.filter(pk=participant.pk, trial_served_at__isnull=True).update(
            trial_served_at=now
        )
        participant.trial_served_at = now


def do_touch(participant: Participant) -> None:
    """The participant is active (a page view): pushes back their idle timeout."""
    now = timezone.now()
    Participant.objects.filter(pk=participant.pk).update(last_seen_at=now)
    participant.last_seen_at = now
