"""What to tell Prolific, per participant: the decisions export and the bulk bonus lines.

``submission_rows(study)`` is one row per participant who entered: panel id, Prolific
submission id and status, the outcome of the session, trials done, the analysis decision (the
screening rules or the researcher's override, with its reason), the panel decision (approve /
reject with category and message) and the bonus. The bonus is the researcher's, else the pro-rata
share of the reward for a session the study's close interrupted (``studies.outcomes.pro_rata_bonus``).
"""

from __future__ import annotations

from decimal import Decimal

from annotation.models import AnalysisOverride, Participant, ParticipantStatus
from annotation.outcomes import participant_outcome
from annotation.panel_models import PanelSubmission
from config.csvsafe import csv_bytes
from studies.models import Study
from studies.outcomes import Outcome, PanelTerms, pro_rata_bonus

COLUMNS = [
    "participant_id",
    "submission_id",
    "prolific_status",
    "status",
    "outcome",
    "trials_done",
    "n_trials",
    "analysed",
    "analysis_override",
    "analysis_reason",
    "decision",
    "rejection_category",
    "rejection_message",
    "bonus",
    "bonus_paid",
]


def reward_of(study: Study) -> Decimal:
    terms = PanelTerms.objects.filter(study=study).first()
    return terms.reward if terms else Decimal("0")


def submission_rows(study: Study) -> list[dict]:
    reward = reward_of(study)
    analysable = set(Participant.objects.filter(study=study).analysable().values_list("pk", flat=True))
    submissions = {s.panel_id: s for s in PanelSubmission.objects.filter(study=study)}
    rows = []
    participants = Participant.objects.filter(study=study).select_related("study").order_by("index")
    for p in participants:
        sub = submissions.get(p.panel_id)
        outcome = participant_outcome(p) or ""
        bonus = sub.bonus if sub is not None and sub.bonus > 0 else Decimal("0.00")
        if not bonus and outcome == Outcome.INTERRUPTED:
            bonus = pro_rata_bonus(reward, p.current_position, p.n_trials or study.trials_per_participant)
        rows.append(
            {
                "participant_id": p.panel_id,
                "submission_id": (sub.submission_id if sub else "") or p.prolific_session_id,
                "prolific_status": sub.panel_status if sub else "",
                "status": p.status,
                "outcome": outcome,
                "trials_done": p.current_position,
                "n_trials": p.n_trials,
                "analysed": p.pk in analysable,
                "analysis_override": p.analysis_override or "",
                "analysis_reason": p.analysis_override_reason or _rule_reason(p),
                "decision": sub.decision if sub else "",
                "rejection_category": sub.rejection_category if sub else "",
                "rejection_message": sub.rejection_message if sub else "",
                "bonus": f"{bonus:.2f}",
                "bonus_paid": bool(sub and sub.bonus_paid_at),
            }
        )
    return rows


def _rule_reason(p: Participant) -> str:
    if p.analysis_override == AnalysisOverride.NONE:
        if p.status == ParticipantStatus.BLOCKED:
            return "blocked by the sentinel rule"
        if p.status == ParticipantStatus.COMPLETED and p.qualified is False:
            return "below the duplicate agreement minimum"
    return ""


def decisions_csv(study: Study) -> str:
    return csv_bytes(submission_rows(study), COLUMNS).decode()


def bonus_lines(rows: list[dict], *, unpaid_only: bool = True) -> str:
    """Prolific's bulk bonus format: one ``participant_id,amount`` line per bonus above zero."""
    return "".join(
        f"{r['participant_id']},{r['bonus']}\n"
        for r in rows
        if Decimal(r["bonus"]) > 0 and not (unpaid_only and r["bonus_paid"])
    )


def approve_ids(rows: list[dict]) -> str:
    """The ids to paste into Prolific's "approve by upload" (decided approve), one per line."""
    return "".join(f"{r['participant_id']}\n" for r in rows if r["decision"] == "approve")


def questions_csv(study: Study) -> str:
    """Every answer to the study's pre- and post-task questions (``annotation.questionnaires``)."""
    from annotation.questionnaires import answer_rows

    columns = ["participant_id", "phase", "question", "kind", "attempt", "answer", "correct"]
    return csv_bytes(answer_rows(study), columns).decode()  # free text: formula cells escaped
