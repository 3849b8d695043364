"""Pairwise quality studies: configuration, the frozen pair plan, and gold pairs.

Participants, their trials and answers belong to the annotation app, downstream.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from scoring.models import Scorer
from sketches.models import Category, Sketch, Split

DEFAULT_QUESTION = "Select the sketch with better visual quality"


class StudyState(models.TextChoices):
    DRAFT = "draft"
    PILOT = "pilot"
    LIVE = "live"
    PAUSED = "paused"
    CLOSED = "closed"


class SamplingMode(models.TextChoices):
    BALANCED = "balanced", "balanced: equal pairs per level"
    NATURAL = "natural", "natural: random pairs, then binned (as the paper)"


class Panel(models.TextChoices):
    PROLIFIC = "prolific", "Prolific"
    GENERIC = "generic", "generic panel (id in ?pid=)"


class StudyQuerySet(models.QuerySet):
    def visible_to(self, user):
        if user.is_superuser:
            return self
        return self.filter(Q(owner=user) | Q(shared_with=user)).distinct()

    def accepting(self):
        return self.filter(state__in=[StudyState.PILOT, StudyState.LIVE])


class Study(models.Model):
    # content
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    question = models.CharField(max_length=300, default=DEFAULT_QUESTION)
    instructions = models.TextField(blank=True, help_text="Markdown, shown before the practice trials.")
    consent_text = models.TextField(blank=True, help_text="Markdown; participants must accept it.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="studies"
    )
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_studies")

    # sampling
    categories = models.ManyToManyField(Category, related_name="studies")
    scorers = models.ManyToManyField(Scorer, related_name="studies", help_text="The methods compared.")
    split = models.CharField(max_length=5, choices=Split.choices, default=Split.TEST)
    pairs_per_cell = models.PositiveIntegerField(
        default=5000, validators=[MinValueValidator(1)], help_text="Pairs per (category, method)."
    )
    n_levels = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    level_edges = models.JSONField(
        null=True,
        blank=True,
        help_text="Edges on normalised |Δq|, n_levels + 1 increasing values from 0 to 1. "
        "Empty: equal widths.",
    )
    sampling_mode = models.CharField(
        max_length=10, choices=SamplingMode.choices, default=SamplingMode.BALANCED
    )
    auto_gold_pairs = models.PositiveIntegerField(
        default=100,
        help_text="Automatic gold pairs added when the plan is frozen: the largest model gaps on "
        "which every chosen scorer agrees, spread over the categories. 0: curated gold pairs only.",
    )

    # per-participant trial list
    trials_per_participant = models.PositiveIntegerField(default=1000, validators=[MinValueValidator(1)])
    practice_trials = models.PositiveSmallIntegerField(default=5)
    sentinels_per_participant = models.PositiveIntegerField(default=40)
    max_sentinel_mistakes = models.PositiveIntegerField(default=10)
    duplicates_per_participant = models.PositiveIntegerField(default=40)
    min_duplicate_agreement = models.FloatField(
        default=0.70, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    min_duplicate_distance = models.PositiveIntegerField(default=100)
    allow_no_difference = models.BooleanField(default=False)
    break_every = models.PositiveIntegerField(
        default=100, help_text="A break screen every N trials (0: none)."
    )
    idle_timeout_minutes = models.PositiveIntegerField(
        default=60, help_text="Unanswered pairs of a participant idle this long return to the pool."
    )

    # running it
    seed = models.PositiveBigIntegerField(default=0)
    state = models.CharField(max_length=10, choices=StudyState.choices, default=StudyState.DRAFT)
    paused_from = models.CharField(
        max_length=10,
        choices=StudyState.choices,
        blank=True,
        editable=False,
        help_text="The state a paused study resumes to (pilot or live).",
    )
    target_participants = models.PositiveIntegerField(default=40)
    panel = models.CharField(max_length=10, choices=Panel.choices, default=Panel.PROLIFIC)
    completion_code = models.CharField(max_length=40, blank=True)
    completion_url = models.URLField(
        blank=True, help_text="Prolific: https://app.prolific.com/submissions/complete?cc=CODE"
    )
    qualification_study = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="qualifies_for",
        help_text="Only participants who passed this study may enter.",
    )

    # the frozen plan
    plan_summary = models.JSONField(
        default=dict, blank=True, help_text="Counts per cell and level; scorer hashes."
    )
    plan_frozen_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = StudyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_duplicate_agreement__gte=0) & Q(min_duplicate_agreement__lte=1),
                name="study_duplicate_agreement_in_unit_interval",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_accepting(self) -> bool:
        return self.state in (StudyState.PILOT, StudyState.LIVE)

    @property
    def regular_trials_per_participant(self) -> int:
        return self.trials_per_participant - self.sentinels_per_participant - self.duplicates_per_participant


class PlannedPair(models.Model):
    """One pair of the frozen plan for a (category, method), with the scores it was drawn from."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="planned_pairs")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    scorer = models.ForeignKey(Scorer, on_delete=models.PROTECT, related_name="+")
    sketch_a = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    sketch_b = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    q_a = models.FloatField()
    q_b = models.FloatField()
    gap = models.FloatField(help_text="Normalised |q_a − q_b| in [0, 1].")
    level = models.PositiveSmallIntegerField()
    order = models.PositiveIntegerField(help_text="Seeded hand-out order within the study.")
    times_assigned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["study", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "scorer", "sketch_a", "sketch_b"], name="plannedpair_unique"
            ),
            models.UniqueConstraint(fields=["study", "order"], name="plannedpair_unique_order"),
            models.CheckConstraint(condition=~Q(sketch_a=F("sketch_b")), name="plannedpair_no_self_pair"),
            models.CheckConstraint(condition=Q(gap__gte=0) & Q(gap__lte=1), name="plannedpair_gap_in_unit"),
        ]
        indexes = [models.Index(fields=["study", "times_assigned", "order"], name="plannedpair_handout")]

    def __str__(self) -> str:
        return f"{self.study}: {self.sketch_a_id} vs {self.sketch_b_id} (level {self.level})"


class GoldPair(models.Model):
    """A sentinel: a pair with a known answer, automatic or curated by the researcher."""

    class Source(models.TextChoices):
        AUTOMATIC = "automatic", "automatic (largest model gap, scorers agree)"
        CURATED = "curated", "curated by the researcher"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="gold_pairs")
    better = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    worse = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CURATED)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "better", "worse"], name="goldpair_unique"),
            models.CheckConstraint(condition=~Q(better=F("worse")), name="goldpair_two_sketches"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.better_id} beats {self.worse_id}"


# Outcome codes and panel terms live in their own module; imported here so Django registers them.
from studies.outcomes import OutcomeCode, PanelTerms  # noqa: E402, F401
from studies.questionnaires import Question  # noqa: E402, F401
