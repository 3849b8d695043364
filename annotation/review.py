"""The researcher's review of participants: analysis overrides and panel decisions, each audited.

* ``do_override_analysis(participant, decision, reason, user)``: include a completed participant
  whom the duplicate rule left out, exclude anyone, or go back to the rules (``""``).
* ``do_decide_on_panel(participant, decision, reason, user, category=, message=)``: approve, or
  reject with one of Prolific's categories and a message of at least 100 characters.
* ``do_set_bonus(participant, amount, reason, user)``: the bonus to pay on the panel.

Each is one transaction that locks the participant, changes the state and appends a
``ReviewDecision`` with the participant's figures at that moment. Exclusion from the analysis
and rejection on the panel never imply each other. Bad input raises ``ReviewError`` (nothing
written).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from annotation.models import AnalysisOverride, Participant, ParticipantStatus
from annotation.panel_models import (
    MIN_REJECTION_MESSAGE,
    PanelDecision,
    PanelSubmission,
    RejectionCategory,
    ReviewDecision,
    ReviewKind,
)

MAX_BONUS = Decimal("1000.00")


class ReviewError(ValueError):
    def __init__(self, messages):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))


def participant_figures(p: Participant) -> dict:
    """What the researcher saw when deciding: status, progress and screening counters."""
    return {
        "status": p.status,
        "qualified": p.qualified,
        "trials_done": p.current_position,
        "n_trials": p.n_trials,
        "sentinels_answered": p.sentinels_answered,
        "sentinel_mistakes": p.sentinel_mistakes,
        "duplicates_answered": p.duplicates_answered,
        "duplicates_consistent": p.duplicates_consistent,
        "duplicate_agreement": p.duplicate_agreement,
        "analysis_override": p.analysis_override,
    }


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("give a reason: it is kept in the review log")
    return reason


def _log(participant: Participant, kind: str, decision: str, reason: str, user) -> ReviewDecision:
    return ReviewDecision.objects.create(
        participant=participant,
        kind=kind,
        decision=decision or "none",
        reason=reason,
        decided_by=user if getattr(user, "pk", None) else None,
        decided_by_name=getattr(user, "get_username", lambda: "")() if user is not None else "",
        figures=participant_figures(participant),
    )


def _submission(participant: Participant) -> PanelSubmission:
    submission, _ = PanelSubmission.objects.get_or_create(
        study_id=participant.study_id,
        panel_id=participant.panel_id,
        defaults={"participant": participant, "submission_id": participant.prolific_session_id},
    )
    if submission.participant_id is None:
        submission.participant = participant
        submission.save(update_fields=["participant"])
    return submission


def do_override_analysis(participant: Participant, decision: str, reason: str, user) -> Participant:
    if decision not in AnalysisOverride.values:
        raise ReviewError(f"decision must be one of include, exclude or empty, got {decision!r}")
    reason = _reason(reason)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if decision == AnalysisOverride.INCLUDE and locked.status != ParticipantStatus.COMPLETED:
            raise ReviewError(
                f"only a participant who completed the trials can be included; {locked.panel_id} is {locked.status}"
            )
        _log(locked, ReviewKind.ANALYSIS, decision, reason, user)  # figures before the change
        locked.analysis_override = decision
        locked.analysis_override_reason = reason[:500] if decision else ""
        locked.save(update_fields=["analysis_override", "analysis_override_reason"])
    return locked


def do_decide_on_panel(
    participant: Participant, decision: str, reason: str, user, *, category: str = "", message: str = ""
) -> PanelSubmission:
    if decision not in PanelDecision.values:
        raise ReviewError(f"decision must be approve, reject or empty, got {decision!r}")
    reason = _reason(reason)
    problems = []
    if decision == PanelDecision.REJECT:
        if category not in RejectionCategory.values:
            problems.append(f"choose a rejection category ({', '.join(RejectionCategory.values)})")
        if len((message or "").strip()) < MIN_REJECTION_MESSAGE:
            problems.append(
                f"the message to the participant must be at least {MIN_REJECTION_MESSAGE} characters "
                f"(Prolific's rule), got {len((message or '').strip())}"
            )
    if problems:
        raise ReviewError(problems)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        submission = _submission(locked)
        if submission.decision_sent_at is not None:
            raise ReviewError(
                f"the decision ({submission.decision}) was already sent to the panel on "
                f"{submission.decision_sent_at:%Y-%m-%d %H:%M}; Prolific does not undo it"
            )
        _log(locked, ReviewKind.PANEL, decision, reason, user)
        submission.decision = decision
        submission.rejection_category = category if decision == PanelDecision.REJECT else ""
        submission.rejection_message = message.strip() if decision == PanelDecision.REJECT else ""
        submission.save(update_fields=["decision", "rejection_category", "rejection_message"])
    return submission


def parse_amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ReviewError(f"the bonus must be an amount such as 1.50, got {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_BONUS:
        raise ReviewError(f"the bonus must be between 0 and {MAX_BONUS}, got {value!r}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ReviewError(f"the bonus has at most 2 decimals (cents), got {value!r}")
    return amount


def do_set_bonus(participant: Participant, amount, reason: str, user) -> PanelSubmission:
    value = parse_amount(amount)
    reason = _reason(reason)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        submission = _submission(locked)
        if submission.bonus_paid_at is not None:
            raise ReviewError(
                f"a bonus of {submission.bonus} was already paid; Prolific pays each bonus once"
            )
        _log(locked, ReviewKind.PANEL, f"bonus {value}", reason, user)
        submission.bonus = value
        submission.save(update_fields=["bonus"])
    return submission


def do_review(participant: Participant, kind: str, data: dict, user):
    """One review decision of ``kind`` ("analysis", "panel" or "bonus") from form or API data
    (``decision``, ``reason``, and for the panel ``category`` and ``message``, for a bonus ``amount``).
    The admin's review page and the API both call this; each decision is its own action above."""
    if kind == "analysis":
        return do_override_analysis(participant, data["decision"], data["reason"], user)
    if kind == "panel":
        return do_decide_on_panel(
            participant,
            data["decision"],
            data["reason"],
            user,
            category=data["category"],
            message=data["message"],
        )
    if kind == "bonus":
        return do_set_bonus(participant, data["amount"], data["reason"], user)
    raise ReviewError([f"unknown review decision {kind!r}"])
