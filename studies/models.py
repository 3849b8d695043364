"""Pairwise quality studies: configuration, the frozen pair plan, and gold pairs.

Participants, their trials and answers belong to the annotation app, downstream.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from scoring.models import Scorer
from sketches.models import Category, Sketch, Split
from studies import bot_flags, seeds

DEFAULT_QUESTION = "Select the sketch with better visual quality"
#: What participants see as the page title when a study sets none: neutral, never the internal name.
DEFAULT_PUBLIC_TITLE = "Sketch comparison"


class StudyState(models.TextChoices):
    DRAFT = "draft"
    PILOT = "pilot"
    LIVE = "live"
    PAUSED = "paused"
    CLOSED = "closed"


class SamplingMode(models.TextChoices):
    BALANCED = "balanced", "balanced: equal pairs per level"
    NATURAL = "natural", "natural: random pairs, then binned (as the paper)"
    ADAPTIVE = "adaptive", "adaptive: a balanced plan, handed out by expected information"


class AdaptiveTarget(models.TextChoices):
    RANKING = "ranking", "Bradley–Terry ranking per category"
    AGREEMENT = "agreement", "agreement interval per level and method"


class Allocation(models.TextChoices):
    UNASSIGNED = "", "not handed out"
    RANDOM_START = "random_start", "random start"
    CONTROL = "control", "random control slice"
    ADAPTIVE = "adaptive", "adaptively chosen"


class TrialType(models.TextChoices):
    PAIR = "pair", "pair: which of two sketches is better"
    BEST_OF_K = "best_of_k", "best of K: choose the best of K sketches (K = 2–4)"
    SINGLE = "single", "single: is this a good drawing of the category? (yes/no, paper §4.4)"


#: K of a best-of-K study: at least 2, at most 4 sketches per trial.
MIN_OPTIONS, MAX_OPTIONS = 2, 4


class Panel(models.TextChoices):
    PROLIFIC = "prolific", "Prolific"
    GENERIC = "generic", "generic panel (id in ?pid=)"


def validate_bot_checks(value) -> None:
    problems = bot_flags.check_config(value)
    if problems:
        raise ValidationError(problems)


def new_entry_secret() -> str:
    """A per-study key for signed entry links (``studies/entry_links.py``)."""
    return secrets.token_urlsafe(32)


class ScreeningRule(models.TextChoices):
    AUTO = "auto", "automatic: the paper's fixed rules at the paper's scale, else decide on evidence"
    PAPER = "paper", "the paper's fixed rules (> max mistakes blocks; < min agreement unqualifies)"
    EVIDENCE = "evidence", "decide only with enough evidence (Beta posterior), else undecided"


#: The paper's scale: 40 sentinels and 40 duplicates per participant (paper §4.1).
PAPER_SCALE = 40


class StudyQuerySet(models.QuerySet):
    def visible_to(self, user):
        if user.is_superuser:
            return self
        return self.filter(Q(owner=user) | Q(shared_with=user)).distinct()

    def accepting(self):
        return self.filter(state__in=[StudyState.PILOT, StudyState.LIVE])


class Study(models.Model):
    # content
    name = models.CharField(max_length=200, help_text="Internal: researchers see it, participants never.")
    public_title = models.CharField(
        max_length=120,
        blank=True,
        default=DEFAULT_PUBLIC_TITLE,
        help_text="What participants see as the page title and heading. Keep it neutral: never name "
        f'the conditions or methods compared. Empty: "{DEFAULT_PUBLIC_TITLE}".',
    )
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
    adaptive_target = models.CharField(
        max_length=10,
        choices=AdaptiveTarget.choices,
        default=AdaptiveTarget.RANKING,
        help_text="Adaptive sampling: what the next pairs should inform.",
    )
    adaptive_random_start = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Adaptive sampling: share of the expected answers (target participants × regular trials, "
        "at most the plan) handed out at random before adapting.",
    )
    adaptive_control_share = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Adaptive sampling: share of later slots kept as a uniform random control slice.",
    )
    adaptive_target_width = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0)],
        help_text="Adaptive sampling: stop adapting for a category/cell once its 95% interval width "
        "is at or below this (ranking: mean width of θ; agreement: width of the rate). 0: never stop.",
    )
    adaptive_refit_every = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(1)],
        help_text="Adaptive sampling: refit on the answers every this many answers.",
    )
    trial_type = models.CharField(
        max_length=10,
        choices=TrialType.choices,
        default=TrialType.PAIR,
        help_text="What one trial asks. Best of K: sets of K sketches, spread over levels by their "
        "largest gap. Single: one sketch at a time, spread over q; the question names the category.",
    )
    options_per_trial = models.PositiveSmallIntegerField(
        "K (sketches per trial)",
        default=3,
        validators=[MinValueValidator(MIN_OPTIONS), MaxValueValidator(MAX_OPTIONS)],
        help_text="Best of K only: how many sketches each trial shows (2–4).",
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
    degradation_gold_pairs = models.PositiveIntegerField(
        default=40,
        help_text="Degradation gold made when the plan is frozen: a held-out sketch against a heavily "
        "degraded copy of itself, as sentinels (plus the practice pool). 0: none.",
    )
    # screening (studies/screening.py; the defaults are argued in the studies README)
    screening_rule = models.CharField(
        max_length=10, choices=ScreeningRule.choices, default=ScreeningRule.AUTO
    )
    sequential_screening = models.BooleanField(
        default=True,
        help_text="Block a worker as soon as a sequential test (sentinels and duplicates together, and "
        "side bias) is sure they answer at random or always on one side.",
    )
    screening_alpha = models.FloatField(
        default=0.02,
        validators=[MinValueValidator(0.0001), MaxValueValidator(0.2)],
        help_text="Bound on the share of good workers the sequential tests ever block (all tests together).",
    )
    too_fast_ms = models.PositiveIntegerField(
        default=350, help_text="An answer faster than this (ms) counts as too fast. 0: no response-time rule."
    )
    too_fast_share = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="More than this share of too-fast answers flags the worker (unqualified at the end).",
    )
    too_fast_block_after = models.PositiveIntegerField(
        default=50,
        help_text="Block live once this many trials are answered and the too-fast share is exceeded. "
        "0: flag at the end only.",
    )
    allow_no_difference = models.BooleanField(
        default=False,
        help_text='Pairs and best of K: offer "no difference / can\'t tell" (an abstention). Single: unused.',
    )
    show_category = models.BooleanField(
        default=True,
        help_text='Name the category on the trial screen ("Which cat is drawn better?"). '
        "Turn off when the category is part of what is judged.",
    )
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
    prolific_study_id = models.CharField(
        "Prolific study id",
        max_length=64,
        blank=True,
        help_text="Prolific: the study's id there (its STUDY_ID). When set, links with another STUDY_ID are "
        "refused, and the Prolific API (sync, approve, bonus) works on this study.",
    )
    require_signed_entry = models.BooleanField(
        default=False,
        help_text="Generic panels: admit only links signed with this study's entry key "
        "(make them under Annotation › Study links, the API or manage.py make_entry_links).",
    )
    entry_secret = models.CharField(
        max_length=64,
        default=new_entry_secret,
        editable=False,
        help_text="The key that signs this study's entry links; never shown to participants.",
    )
    new_entries_per_network_hour = models.PositiveIntegerField(
        default=10,
        help_text="At most this many new participants per hour from one network (/24 IPv4, /48 IPv6), "
        "and never more than a fifth of the places (at least 1). 0: no cap.",
    )
    bot_checks = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_bot_checks],
        help_text="Bot and model-driven answering flags (analysis.bot_flags): a threshold per flag "
        'overrides its default, null turns it off, e.g. {"too_fast_median_ms": 500, "max_per_device": null}. '
        "Empty: the defaults.",
    )
    exclude_flagged = models.BooleanField(
        default=True,
        help_text="Leave participants with a bot flag out of the analysis (a researcher can include one "
        "again). Flags never reject anyone on the panel.",
    )
    instruction_probe = models.BooleanField(
        default=False,
        help_text="Probe for text-reading agents: the instructions carry a line no person sees, asking "
        "an automated reader to fill in a hidden field. Off by default.",
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
            models.CheckConstraint(
                condition=Q(options_per_trial__gte=MIN_OPTIONS) & Q(options_per_trial__lte=MAX_OPTIONS),
                name="study_options_per_trial_2_to_4",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def participant_title(self) -> str:
        """The title on the participant pages (``public_title``, else a neutral default)."""
        return self.public_title.strip() or DEFAULT_PUBLIC_TITLE

    @property
    def is_accepting(self) -> bool:
        return self.state in (StudyState.PILOT, StudyState.LIVE)

    @property
    def seed_scheme(self) -> int:
        """The seed scheme this study draws with (see ``studies.seeds``)."""
        return seeds.scheme_of(self.plan_summary, frozen=self.plan_frozen_at is not None)

    def rng(self, purpose: str, *index: int):
        """The ``numpy.random.Generator`` of one purpose of ``studies.seeds``, from ``self.seed``."""
        return seeds.rng(self.seed_scheme, purpose, self.seed, *index)

    @property
    def effective_screening_rule(self) -> str:
        """``paper`` or ``evidence``: AUTO is the paper's fixed rules at the paper's scale."""
        if self.screening_rule != ScreeningRule.AUTO:
            return self.screening_rule
        paper_scale = min(self.sentinels_per_participant, self.duplicates_per_participant) >= PAPER_SCALE
        return ScreeningRule.PAPER if paper_scale else ScreeningRule.EVIDENCE

    def screening_rules(self):
        """The study's screening settings for the pure rules in ``studies.screening``."""
        from studies.screening import Rules

        return Rules(
            rule=self.effective_screening_rule,
            n_sentinels=self.sentinels_per_participant,
            max_mistakes=self.max_sentinel_mistakes,
            n_duplicates=self.duplicates_per_participant,
            min_agreement=self.min_duplicate_agreement,
            sequential=self.sequential_screening,
            alpha=self.screening_alpha,
            too_fast_ms=self.too_fast_ms,
            too_fast_share=self.too_fast_share,
            too_fast_block_after=self.too_fast_block_after,
        )

    @property
    def plan_mode(self) -> str:
        """The plan an adaptive study freezes is a balanced one (the universe it adapts within)."""
        return SamplingMode.BALANCED if self.sampling_mode == SamplingMode.ADAPTIVE else self.sampling_mode

    def adaptive_settings(self) -> dict:
        """The adaptive parameters, as the plan summary records them (empty unless adaptive)."""
        if self.sampling_mode != SamplingMode.ADAPTIVE:
            return {}
        return {
            "adaptive": {
                "target": self.adaptive_target,
                "random_start": self.adaptive_random_start,
                "control_share": self.adaptive_control_share,
                "target_width": self.adaptive_target_width,
                "refit_every": self.adaptive_refit_every,
            }
        }

    @property
    def sketches_per_trial(self) -> int:
        """1 (single), 2 (pair) or K (best of K)."""
        return {TrialType.SINGLE: 1, TrialType.PAIR: 2}.get(self.trial_type, self.options_per_trial)

    @property
    def regular_trials_per_participant(self) -> int:
        return self.trials_per_participant - self.sentinels_per_participant - self.duplicates_per_participant


class PlannedPair(models.Model):
    """One trial of the frozen plan for a (category, method), with the scores it was drawn from.

    A pair fills ``sketch_a``/``sketch_b``. A best-of-K set also fills ``sketch_c`` (K ≥ 3) and
    ``sketch_d`` (K = 4); its ``gap`` is the largest normalised gap of the set. A single trial
    fills ``sketch_a`` only; its ``gap`` is the sketch's normalised q and ``level`` its q bin."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="planned_pairs")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    scorer = models.ForeignKey(Scorer, on_delete=models.PROTECT, related_name="+")
    sketch_a = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    sketch_b = models.ForeignKey(Sketch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sketch_c = models.ForeignKey(Sketch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sketch_d = models.ForeignKey(Sketch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    q_a = models.FloatField()
    q_b = models.FloatField(null=True, blank=True)
    q_c = models.FloatField(null=True, blank=True)
    q_d = models.FloatField(null=True, blank=True)
    gap = models.FloatField(help_text="Normalised |q_a − q_b| in [0, 1].")
    level = models.PositiveSmallIntegerField()
    order = models.PositiveIntegerField(help_text="Seeded hand-out order within the study.")
    times_assigned = models.PositiveIntegerField(default=0)
    allocation = models.CharField(
        max_length=12,
        choices=Allocation.choices,
        blank=True,
        default=Allocation.UNASSIGNED,
        help_text="How the pair was first handed out (random_start, control, adaptive); "
        "balanced and natural studies: control.",
    )

    class Meta:
        ordering = ["study", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "scorer", "sketch_a", "sketch_b"],
                condition=Q(sketch_c__isnull=True),
                name="plannedpair_unique",
            ),
            models.UniqueConstraint(
                fields=["study", "scorer", "sketch_a", "sketch_b", "sketch_c"],
                condition=Q(sketch_c__isnull=False, sketch_d__isnull=True),
                name="plannedpair_unique_triple",
            ),
            models.UniqueConstraint(
                fields=["study", "scorer", "sketch_a", "sketch_b", "sketch_c", "sketch_d"],
                condition=Q(sketch_d__isnull=False),
                name="plannedpair_unique_quadruple",
            ),
            models.UniqueConstraint(
                fields=["study", "scorer", "sketch_a"],
                condition=Q(sketch_b__isnull=True),
                name="plannedpair_unique_single",
            ),
            models.UniqueConstraint(fields=["study", "order"], name="plannedpair_unique_order"),
            models.CheckConstraint(condition=~Q(sketch_a=F("sketch_b")), name="plannedpair_no_self_pair"),
            models.CheckConstraint(condition=Q(gap__gte=0) & Q(gap__lte=1), name="plannedpair_gap_in_unit"),
        ]
        indexes = [models.Index(fields=["study", "times_assigned", "order"], name="plannedpair_handout")]

    def __str__(self) -> str:
        return f"{self.study}: {self.sketch_a_id} vs {self.sketch_b_id} (level {self.level})"


class GoldQuerySet(models.QuerySet):
    def sentinel_pool(self, live: bool):
        """Gold a participant's sentinels are drawn from: accepted, and also unreviewed
        candidates in a pilot (a live launch refuses while candidates remain)."""
        reviews = [GoldPair.Review.ACCEPTED] + ([] if live else [GoldPair.Review.CANDIDATE])
        return self.filter(use=GoldPair.Use.SENTINEL, review__in=reviews)

    def practice_pool(self):
        """Practice trials and the instructions' example: accepted practice gold only."""
        return self.filter(use=GoldPair.Use.PRACTICE, review=GoldPair.Review.ACCEPTED)


class GoldPair(models.Model):
    """A pair with a known answer: a sentinel, or practice material kept apart from every sentinel."""

    class Source(models.TextChoices):
        AUTOMATIC = "automatic", "model-suggested (largest model gap, scorers agree): needs review"
        DEGRADED = "degraded", "degradation gold (a sketch against a degraded copy of itself)"
        CURATED = "curated", "curated by the researcher"

    class Review(models.TextChoices):
        CANDIDATE = "candidate", "candidate: not reviewed yet"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    class Use(models.TextChoices):
        SENTINEL = "sentinel", "sentinel (hidden gold trial)"
        PRACTICE = "practice", "practice and the instructions' example (never a sentinel)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="gold_pairs")
    better = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    worse = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CURATED)
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.ACCEPTED)
    use = models.CharField(max_length=10, choices=Use.choices, default=Use.SENTINEL)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    objects = GoldQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "better", "worse"], name="goldpair_unique"),
            models.CheckConstraint(condition=~Q(better=F("worse")), name="goldpair_two_sketches"),
            models.CheckConstraint(
                condition=~Q(source="automatic", use="practice"), name="goldpair_model_gold_never_practice"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.better_id} beats {self.worse_id}"


# Outcome codes and panel terms live in their own module; imported here so Django registers them.
from studies.outcomes import OutcomeCode, PanelTerms  # noqa: E402, F401
from studies.questionnaires import Question  # noqa: E402, F401
