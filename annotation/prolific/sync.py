"""Actions that talk to Prolific: read submissions and places, send decisions, pay bonuses.

Each calls Prolific first and writes locally only what Prolific accepted, so a failed call
changes nothing here and raises ``ProlificError`` saying why.

* ``do_sync_submissions(study)``: lists the study's submissions, records each one's status, and
  gives the pairs of participants who RETURNED or TIMED-OUT back to the pool, exactly once
  (the participant moves from in progress to ``returned`` under a row lock; a second sync, or
  the idle sweep, finds nothing left to release).
* ``do_read_study(study)``: Prolific's status and places for the study.
* ``do_send_decisions(study)``: bulk approve, then reject one by one with category and message.
* ``do_pay_bonuses(study)``: one bulk bonus batch (``participant_id,amount`` lines), then pay it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.answering import do_release_pairs_of_excluded
from annotation.models import IN_PROGRESS, Participant, ParticipantStatus
from annotation.panel_models import PanelDecision, PanelSubmission
from annotation.prolific.client import ProlificClient, ProlificError
from annotation.prolific.export import bonus_lines, submission_rows
from studies.models import Study

GONE = {"RETURNED", "TIMED-OUT"}


def client_from_settings() -> ProlificClient:
    return ProlificClient(
        settings.PROLIFIC_API_TOKEN,
        settings.PROLIFIC_API_URL,
        timeout=settings.PROLIFIC_API_TIMEOUT,
        retries=settings.PROLIFIC_API_RETRIES,
    )


def prolific_study_id(study: Study) -> str:
    if not study.prolific_study_id:
        raise ProlificError(
            f"{study.slug}: set the study's Prolific id (Studies › the study › Running it) first"
        )
    return study.prolific_study_id


@dataclass
class SyncReport:
    submissions: int = 0
    statuses: dict = field(default_factory=dict)
    returned: list = field(default_factory=list)
    pairs_released: int = 0
    unknown: list = field(default_factory=list)  # on Prolific, never opened our link

    def as_dict(self) -> dict:
        return {
            "submissions": self.submissions,
            "statuses": self.statuses,
            "returned": self.returned,
            "pairs_released": self.pairs_released,
            "unknown": self.unknown,
        }


def do_sync_submissions(study: Study, client: ProlificClient | None = None) -> SyncReport:
    study_id = prolific_study_id(study)
    remote = (client or client_from_settings()).list_submissions(study_id)  # nothing written before
    report = SyncReport(submissions=len(remote))
    now = timezone.now()
    participants = {p.panel_id: p.pk for p in Participant.objects.filter(study=study).only("pk", "panel_id")}
    for item in remote:
        pid, status = str(item.get("participant_id") or ""), str(item.get("status") or "")
        if not pid:
            continue
        report.statuses[status] = report.statuses.get(status, 0) + 1
        with transaction.atomic():
            submission, _ = PanelSubmission.objects.select_for_update().get_or_create(
                study=study, panel_id=pid, defaults={"participant_id": participants.get(pid)}
            )
            submission.submission_id = str(item.get("id") or submission.submission_id)
            submission.panel_status, submission.status_read_at = status, now
            if submission.participant_id is None and pid in participants:
                submission.participant_id = participants[pid]
            fields = ["submission_id", "panel_status", "status_read_at", "participant"]
            if status in GONE and submission.participant_id is not None:
                released = _release_returned(submission.participant_id)
                if released is not None:
                    report.returned.append(pid)
                    report.pairs_released += released
                    submission.pairs_released_at = now
                    fields.append("pairs_released_at")
            submission.save(update_fields=fields)
        if pid not in participants:
            report.unknown.append(pid)
    return report


def _release_returned(participant_pk: int) -> int | None:
    """In progress → returned, and its pairs back to the pool (never analysed); None if not in progress."""
    participant = (
        Participant.objects.select_for_update().filter(pk=participant_pk, status__in=IN_PROGRESS).first()
    )
    if participant is None:
        return None
    participant.status = ParticipantStatus.RETURNED
    participant.save(update_fields=["status"])
    return do_release_pairs_of_excluded(participant)  # a returned session is never analysed


def do_read_study(study: Study, client: ProlificClient | None = None) -> dict:
    data = (client or client_from_settings()).get_study(prolific_study_id(study))
    maximum = data.get("maximum_allowed_time")
    warning = ""
    if isinstance(maximum, int) and study.idle_timeout_minutes and study.idle_timeout_minutes > maximum:
        warning = (
            f"the idle timeout ({study.idle_timeout_minutes} min) is longer than Prolific's maximum time "
            f"allowed ({maximum} min): set it to {maximum} or less so places come back when Prolific times out"
        )
    return {
        "status": data.get("status", ""),
        "total_available_places": data.get("total_available_places"),
        "places_taken": data.get("places_taken"),
        "maximum_allowed_time": maximum,
        "idle_timeout_minutes": study.idle_timeout_minutes,
        "warning": warning,
    }


@dataclass
class DecisionReport:
    approved: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"approved": self.approved, "rejected": self.rejected, "errors": self.errors}


def do_send_decisions(study: Study, client: ProlificClient | None = None) -> DecisionReport:
    """Send the unsent decisions. Approvals go in one bulk call; rejections one call each, and a
    failed rejection is reported (and left unsent) without undoing the ones Prolific accepted."""
    study_id = prolific_study_id(study)
    client = client or client_from_settings()
    pending = PanelSubmission.objects.filter(study=study, decision_sent_at__isnull=True)
    report = DecisionReport()
    approve = list(pending.filter(decision=PanelDecision.APPROVE).order_by("panel_id"))
    if approve:
        client.bulk_approve(study_id, [s.panel_id for s in approve])  # raises: nothing written
        PanelSubmission.objects.filter(pk__in=[s.pk for s in approve]).update(decision_sent_at=timezone.now())
        report.approved = [s.panel_id for s in approve]
    for submission in pending.filter(decision=PanelDecision.REJECT).order_by("panel_id"):
        if not submission.submission_id:
            report.errors.append(
                f"{submission.panel_id}: no Prolific submission id yet (sync submissions first)"
            )
            continue
        try:
            client.reject(
                submission.submission_id, submission.rejection_category, submission.rejection_message
            )
        except ProlificError as error:
            report.errors.append(f"{submission.panel_id}: {error}")
            continue
        PanelSubmission.objects.filter(pk=submission.pk).update(decision_sent_at=timezone.now())
        report.rejected.append(submission.panel_id)
    return report


def do_pay_bonuses(study: Study, client: ProlificClient | None = None) -> dict:
    """Set up one bulk bonus batch with every unpaid bonus, pay it, and mark those bonuses paid."""
    study_id = prolific_study_id(study)
    client = client or client_from_settings()
    rows = [r for r in submission_rows(study) if Decimal(r["bonus"]) > 0 and not r["bonus_paid"]]
    if not rows:
        return {"paid": [], "total": "0.00", "batch": ""}
    lines = bonus_lines(rows)
    batch = client.create_bonuses(study_id, lines)
    batch_id = str(batch.get("id") or "")
    if not batch_id:
        raise ProlificError("Prolific set up the bonuses but returned no batch id: nothing was paid")
    client.pay_bonuses(batch_id)  # not retried: paying twice pays twice
    now = timezone.now()
    participants = {p.panel_id: p.pk for p in Participant.objects.filter(study=study)}
    with transaction.atomic():
        for row in rows:
            submission, _ = PanelSubmission.objects.get_or_create(
                study=study,
                panel_id=row["participant_id"],
                defaults={"participant_id": participants.get(row["participant_id"])},
            )
            submission.bonus = Decimal(row["bonus"])
            submission.bonus_batch_id, submission.bonus_paid_at = batch_id, now
            submission.save(update_fields=["bonus", "bonus_batch_id", "bonus_paid_at"])
    total = sum(Decimal(r["bonus"]) for r in rows)
    return {"paid": [r["participant_id"] for r in rows], "total": f"{total:.2f}", "batch": batch_id}
