"""Scorers (trained checkpoints), their scores per sketch, and scoring runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from sketches.models import Category, Sketch


class Variant(models.TextChoices):
    COS = "cos", "GACL-cos  s·cosθ − q"
    ADD = "add", "GACL-add  s·cos(θ + q)"
    MUL = "mul", "GACL-mul  s·cos(qθ)"
    SCA = "sca", "GACL-sca  (1 − q)s·cosθ"
    SOFTMAX = "softmax", "softmax baseline (feature norm as q)"


class JobStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Scorer(models.Model):
    """A trained quality scorer: a checkpoint in Django storage plus its provenance."""

    name = models.SlugField(max_length=80, unique=True)
    variant = models.CharField(max_length=10, choices=Variant.choices, default=Variant.COS)
    soft_binning = models.BooleanField(default=True)
    encoder = models.CharField(max_length=40)
    config = models.JSONField(default=dict, blank=True, help_text="Full training configuration.")
    categories = models.ManyToManyField(Category, related_name="scorers", blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    device = models.CharField(max_length=20, blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    checkpoint = models.FileField(upload_to="checkpoints/", blank=True)
    checkpoint_sha256 = models.CharField(max_length=64, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    figure = models.FileField(upload_to="figures/", blank=True)
    heldout = models.FileField(
        upload_to="heldout/",
        blank=True,
        help_text="Held-out (test split) outputs of the training evaluation, as .npz: sketch ids, labels, q, cosθ_y.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ready(self) -> bool:
        return self.status == JobStatus.DONE and bool(self.checkpoint_sha256)


class ScoringRun(models.Model):
    """One request to score a set of sketches with a scorer; tracks progress live."""

    scorer = models.ForeignKey(Scorer, on_delete=models.CASCADE, related_name="runs")
    categories = models.ManyToManyField(Category, related_name="+", blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    task_batch_size = models.PositiveIntegerField(
        default=512, help_text="Sketches per Celery task (each task is one load → score → upsert)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Renewed by the worker holding the job (the lease, sketches/leases.py).",
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker claimed it.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.scorer} run #{self.pk} ({self.done}/{self.total})"


class SketchScoreQuerySet(models.QuerySet):
    def for_scorer(self, scorer):
        return self.filter(scorer=scorer)


class SketchScore(models.Model):
    """The scorer's verdict on one sketch. Upserted; unique per (sketch, scorer).

    ``sketch`` and ``scorer`` have no index of their own: the unique ``(sketch, scorer)`` and
    the ``(scorer, q)`` index lead with them and serve every lookup by either, so two more
    indexes would only slow each scoring task's upsert (measured in ``bench/RESULTS.md``)."""

    sketch = models.ForeignKey(Sketch, on_delete=models.CASCADE, related_name="scores", db_index=False)
    scorer = models.ForeignKey(Scorer, on_delete=models.CASCADE, related_name="scores", db_index=False)
    q = models.FloatField(help_text="Quality score: the feature norm ‖f(x)‖.")
    cos_theta_y = models.FloatField(help_text="Cosine to the true class weight.")
    predicted_class = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    correct = models.BooleanField()
    run = models.ForeignKey(ScoringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scored_at = models.DateTimeField(auto_now=True)

    objects = SketchScoreQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sketch", "scorer"], name="score_unique_sketch_scorer"),
            models.CheckConstraint(condition=Q(q__gte=0), name="score_q_non_negative"),
            models.CheckConstraint(
                condition=Q(cos_theta_y__gte=-1.0001) & Q(cos_theta_y__lte=1.0001), name="score_cos_in_range"
            ),
        ]
        indexes = [models.Index(fields=["scorer", "q"], name="score_scorer_q")]

    def __str__(self) -> str:
        return f"{self.scorer}: sketch {self.sketch_id} q={self.q:.3f}"


class EncoderInput(models.Model):
    """A sketch's encoder input, stored once (at first use) so scoring reads arrays, not JSON.

    ``data`` is the first ``length`` rows of the stroke-5 (+ absolute xy) array as float32
    bytes, ``(length, 7)`` in C order; rows past ``length`` are padding and not stored.
    ``version`` names the encoding (:data:`scoring.stored_input.ENCODING_VERSION`) and
    ``max_len`` its length cap: a row of another version or cap is re-encoded, never used.
    """

    sketch = models.OneToOneField(Sketch, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.PositiveSmallIntegerField()
    max_len = models.PositiveSmallIntegerField()
    length = models.PositiveSmallIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(length__gte=1) & Q(length__lte=models.F("max_len")),
                name="encoder_input_length_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"encoder input v{self.version} of sketch {self.sketch_id} ({self.length} points)"
