"""The panel side of a participant, and the researcher's review log.

* ``PanelSubmission``: what Prolific knows about a participant (its submission id and status, as
  last read through the API) and what the researcher decided to tell Prolific (approve, or reject
  with a category and message; a bonus). Decisions are recorded here first and sent later; the
  ``*_sent_at`` / ``bonus_paid_at`` stamps are written only after Prolific accepted the call.
* ``ReviewDecision``: the audit log. Every override of the analysis (include / exclude) and every
  panel decision (approve / reject / bonus) is one row: who, when, why, and the participant's
  figures at that moment. Exclusion from the analysis and rejection on the panel are separate
  decisions with separate rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from studies.models import Study


class PanelDecision(models.TextChoices):
    NONE = "", "not decided"
    APPROVE = "approve", "approve"
    REJECT = "reject", "reject"


class RejectionCategory(models.TextChoices):
    """Prolific's ``rejection_category`` values (docs.prolific.com, "Approve or reject a submission")."""

    TOO_QUICKLY = "TOO_QUICKLY", "too quickly"
    TOO_SLOWLY = "TOO_SLOWLY", "too slowly"
    FAILED_INSTRUCTIONS = "FAILED_INSTRUCTIONS", "did not follow the instructions"
    INCOMP_LONGITUDINAL = "INCOMP_LONGITUDINAL", "incomplete longitudinal study"
    FAILED_CHECK = "FAILED_CHECK", "failed attention checks"
    LOW_EFFORT = "LOW_EFFORT", "low effort"
    MALINGERING = "MALINGERING", "malingering"
    NO_CODE = "NO_CODE", "no completion code"
    BAD_CODE = "BAD_CODE", "wrong completion code"
    NO_DATA = "NO_DATA", "no data"
    UNSUPP_DEVICE = "UNSUPP_DEVICE", "unsupported device"
    OTHER = "OTHER", "other"


#: Prolific requires a rejection message of at least this many characters.
MIN_REJECTION_MESSAGE = 100


class PanelSubmission(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="panel_submissions")
    panel_id = models.CharField(max_length=64)
    participant = models.OneToOneField(
        "annotation.Participant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="panel_submission",
    )
    submission_id = models.CharField(max_length=64, blank=True, help_text="Prolific's SESSION_ID.")
    panel_status = models.CharField(max_length=24, blank=True, help_text="As last read from Prolific.")
    status_read_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=7, choices=PanelDecision.choices, blank=True, default="")
    rejection_category = models.CharField(max_length=24, choices=RejectionCategory.choices, blank=True)
    rejection_message = models.TextField(blank=True)
    decision_sent_at = models.DateTimeField(null=True, blank=True)
    bonus = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    bonus_batch_id = models.CharField(max_length=64, blank=True)
    bonus_paid_at = models.DateTimeField(null=True, blank=True)
    pairs_released_at = models.DateTimeField(
        null=True, blank=True, help_text="When a return or time-out gave this participant's pairs back."
    )

    class Meta:
        ordering = ["study", "panel_id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "panel_id"], name="panelsubmission_unique_panel_id"),
            models.CheckConstraint(condition=Q(bonus__gte=0), name="panelsubmission_bonus_not_negative"),
            models.CheckConstraint(
                condition=~Q(decision="reject") | ~Q(rejection_category=""),
                name="panelsubmission_reject_has_category",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.panel_id} in {self.study_id}: {self.panel_status or 'unknown'} / {self.decision or '–'}"
        )


class ReviewKind(models.TextChoices):
    ANALYSIS = "analysis", "analysis (include / exclude)"
    PANEL = "panel", "panel (approve / reject / bonus)"


class ReviewDecision(models.Model):
    """One decision of the researcher about one participant, never edited afterwards."""

    participant = models.ForeignKey(
        "annotation.Participant", on_delete=models.CASCADE, related_name="review_decisions"
    )
    kind = models.CharField(max_length=8, choices=ReviewKind.choices)
    decision = models.CharField(
        max_length=16, help_text="include / exclude / none, or approve / reject / bonus."
    )
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150, blank=True, help_text="Kept if the user is deleted.")
    decided_at = models.DateTimeField(auto_now_add=True)
    figures = models.JSONField(
        default=dict, help_text="The participant's figures when the decision was made."
    )

    class Meta:
        ordering = ["participant", "decided_at", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="reviewdecision_has_reason")]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.kind} {self.decision} by {self.decided_by_name} at {self.decided_at:%Y-%m-%d %H:%M}"
