"""How a participant's session ends, per study: a code (or URL) for each outcome, and the pay terms.

Prolific lets a study have several completion codes, each with an action that Prolific takes
when a participant enters it (approve automatically, put up for manual review, pay the fixed
screen-out reward, ask the participant to return the submission). SketchQ shows the right
code for each way a session can end:

* ``completed``: every trial answered;
* ``screened_out``: blocked by the sentinel rule, too fast, or not qualified;
* ``interrupted``: the study was closed (or paused before admission) while the worker was in it;
  they are paid pro rata for the trials done (``PanelTerms.reward``);
* ``declined``: consent declined;
* ``no_places``: the study was full.

A study without an ``OutcomeCode`` row for an outcome gets ``default_code`` for it: the
study's completion code and URL for ``completed``, and a code derived from the study's slug
and seed for the others (stable, so it can be pasted into Prolific once).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from studies.models import Study


class Outcome(models.TextChoices):
    COMPLETED = "completed", "completed"
    SCREENED_OUT = "screened_out", "screened out (sentinels, too fast, not qualified)"
    INTERRUPTED = "interrupted", "study closed or paused while the worker was in it"
    DECLINED = "declined", "consent declined"
    NO_PLACES = "no_places", "no places left"


class ProlificAction(models.TextChoices):
    """The actions Prolific offers on a completion code (docs.prolific.com, Study object,
    ``completion_codes[].actions``)."""

    AUTOMATICALLY_APPROVE = "AUTOMATICALLY_APPROVE", "approve automatically"
    MANUALLY_REVIEW = "MANUALLY_REVIEW", "put up for manual review"
    FIXED_SCREENOUT_PAYMENT = "FIXED_SCREENOUT_PAYMENT", "screen out with the fixed screen-out reward"
    REQUEST_RETURN = "REQUEST_RETURN", "ask the participant to return the submission"


#: Prolific's code type for each outcome (what to choose when adding the code on Prolific).
PROLIFIC_CODE_TYPE = {
    Outcome.COMPLETED: "COMPLETED",
    Outcome.SCREENED_OUT: "FIXED_SCREENOUT",
    Outcome.INTERRUPTED: "OTHER",
    Outcome.DECLINED: "NO_CONSENT",
    Outcome.NO_PLACES: "OTHER",
}
DEFAULT_ACTION = {
    Outcome.COMPLETED: ProlificAction.MANUALLY_REVIEW,
    Outcome.SCREENED_OUT: ProlificAction.FIXED_SCREENOUT_PAYMENT,
    Outcome.INTERRUPTED: ProlificAction.MANUALLY_REVIEW,
    Outcome.DECLINED: ProlificAction.REQUEST_RETURN,
    Outcome.NO_PLACES: ProlificAction.REQUEST_RETURN,
}
CODE_PREFIX = {
    Outcome.SCREENED_OUT: "SCR",
    Outcome.INTERRUPTED: "INT",
    Outcome.DECLINED: "NOC",
    Outcome.NO_PLACES: "FULL",
}


class OutcomeCode(models.Model):
    """The code (and optional redirect URL) a study shows for one outcome."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="outcome_codes")
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    code = models.CharField(max_length=40, blank=True, help_text="Empty: the default code for this outcome.")
    url = models.URLField(
        blank=True, help_text="Empty on Prolific: https://app.prolific.com/submissions/complete?cc=CODE"
    )
    action = models.CharField(
        max_length=24,
        choices=ProlificAction.choices,
        blank=True,
        help_text="What Prolific does with this code (set the same on Prolific). Empty: the default.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "outcome"], name="outcomecode_unique_per_study"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.outcome}"


class PanelTerms(models.Model):
    """What the panel pays (for the bonus export). The study's Prolific id is ``Study.prolific_study_id``,
    which the entry check and the Prolific API both use."""

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="panel_terms")
    reward = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The reward for a complete session, in the study currency; the pro-rata bonus of an "
        "interrupted session is reward × trials done / trials per participant.",
    )

    class Meta:
        verbose_name = "panel terms"
        verbose_name_plural = "panel terms"
        constraints = [
            models.CheckConstraint(condition=Q(reward__gte=0), name="panelterms_reward_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: reward {self.reward}"


@dataclass(frozen=True)
class ResolvedCode:
    outcome: str
    code: str
    url: str
    action: str
    prolific_code_type: str


def default_code(slug: str, seed: int, outcome: str) -> str:
    """A stable code for a non-completion outcome: ``SCR-1A2B3C`` from the study's slug and seed."""
    digest = hashlib.sha256(f"{slug}:{seed}:{outcome}".encode()).hexdigest()[:6].upper()
    return f"{CODE_PREFIX[outcome]}-{digest}"


def resolve_codes(study: Study, rows=None) -> dict[str, ResolvedCode]:
    """Every outcome's code, URL and action: the study's rows, else the defaults.

    The URL stays empty unless set (the panel module turns a Prolific code into Prolific's
    completion URL); the completion code and URL of the study are the ``completed`` defaults.
    """
    by_outcome = {row.outcome: row for row in (rows if rows is not None else study.outcome_codes.all())}
    resolved = {}
    for outcome in Outcome.values:
        row = by_outcome.get(outcome)
        if outcome == Outcome.COMPLETED:
            code = (row.code if row else "") or study.completion_code
            url = (row.url if row else "") or study.completion_url
        else:
            code = (row.code if row else "") or default_code(study.slug, study.seed, outcome)
            url = row.url if row else ""
        resolved[outcome] = ResolvedCode(
            outcome=outcome,
            code=code,
            url=url,
            action=(row.action if row else "") or DEFAULT_ACTION[outcome],
            prolific_code_type=PROLIFIC_CODE_TYPE[outcome],
        )
    return resolved


def pro_rata_bonus(reward: Decimal, trials_done: int, trials_total: int) -> Decimal:
    """``reward × done / total``, rounded down to the cent (never more than the reward)."""
    if trials_total <= 0 or trials_done <= 0 or reward <= 0:
        return Decimal("0.00")
    exact = reward * min(trials_done, trials_total) / Decimal(trials_total)
    return exact.quantize(Decimal("0.01"), rounding="ROUND_DOWN")
