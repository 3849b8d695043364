"""The stimulus corpus: categories and their sketches."""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q
from django.utils.text import slugify


class Split(models.TextChoices):
    TRAIN = "train", "train"
    VAL = "val", "validation"
    TEST = "test", "test"
    #: Derived sketches (degradation gold): never in a split that a plan, a training set
    #: or an analysis reads.
    GOLD = "gold", "derived (gold only)"


#: Share of the corpus per split, by the first byte pair of a key hash.
SPLIT_PERCENT = {Split.TRAIN: 70, Split.VAL: 10, Split.TEST: 20}


def split_for_key(source: str, category_slug: str, key_id: str) -> str:
    """A deterministic train/val/test split from a hash of the natural key."""
    digest = hashlib.sha256(f"{source}:{category_slug}:{key_id}".encode()).digest()
    bucket = int.from_bytes(digest[:4], "big") % 100
    if bucket < SPLIT_PERCENT[Split.TRAIN]:
        return Split.TRAIN
    if bucket < SPLIT_PERCENT[Split.TRAIN] + SPLIT_PERCENT[Split.VAL]:
        return Split.VAL
    return Split.TEST


class CategoryQuerySet(models.QuerySet):
    def with_sketch_counts(self):
        return self.annotate(sketch_count=models.Count("sketches"))


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True, help_text="The Quick, Draw! word.")
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def slug_for(name: str) -> str:
        return slugify(name.replace("_", " "))


class SketchQuerySet(models.QuerySet):
    def in_split(self, split: str):
        return self.filter(split=split)

    def for_categories(self, categories):
        return self.filter(category__in=categories)

    def originals(self):
        """Imported sketches, without derived copies (degradation gold)."""
        return self.filter(derived_from__isnull=True)


class Sketch(models.Model):
    class Source(models.TextChoices):
        QUICKDRAW = "quickdraw", "Quick, Draw! ndjson"
        SKETCHRNN = "sketchrnn", "sketch-rnn stroke-3"
        DEGRADED = "degraded", "derived: a degraded copy (degradation gold)"

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="sketches")
    source = models.CharField(max_length=20, choices=Source.choices)
    key_id = models.CharField(max_length=64)
    strokes = models.JSONField(help_text="Normalised strokes: [[x...], [y...]] per stroke, unit box.")
    stroke_count = models.PositiveIntegerField()
    point_count = models.PositiveIntegerField()
    bbox_min_x = models.FloatField(help_text="Original bounding box, in the source's frame.")
    bbox_min_y = models.FloatField()
    bbox_width = models.FloatField()
    bbox_height = models.FloatField()
    countrycode = models.CharField(max_length=8, blank=True)
    recognized = models.BooleanField(null=True)
    drawn_at = models.DateTimeField(null=True, blank=True)
    split = models.CharField(max_length=5, choices=Split.choices)
    import_batch = models.ForeignKey(
        "ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="sketches"
    )
    derived_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="derived",
        help_text="Degradation gold: the sketch this one is a degraded copy of.",
    )
    degradation = models.CharField(
        max_length=20, blank=True, help_text="Degradation gold: family-severity, e.g. scribble-3."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SketchQuerySet.as_manager()

    class Meta:
        ordering = ["category", "id"]
        verbose_name_plural = "sketches"
        constraints = [
            # sketch-rnn keys are indices into one category's file, so the
            # natural key includes the category (see sketches/README.md).
            models.UniqueConstraint(
                fields=["source", "category", "key_id"], name="sketch_unique_source_category_key"
            ),
            models.CheckConstraint(
                condition=Q(point_count__gt=0) & Q(stroke_count__gt=0), name="sketch_has_points"
            ),
            # A derived sketch says so three times over: its source, its split and its parent.
            models.CheckConstraint(
                condition=(Q(derived_from__isnull=True) & ~Q(source="degraded") & ~Q(split="gold"))
                | (
                    Q(derived_from__isnull=False)
                    & Q(source="degraded")
                    & Q(split="gold")
                    & ~Q(degradation="")
                ),
                name="sketch_derived_says_so",
            ),
        ]
        indexes = [models.Index(fields=["category", "split"], name="sketch_category_split")]

    def __str__(self) -> str:
        return f"{self.category} #{self.pk} ({self.source}:{self.key_id})"

    @property
    def is_derived(self) -> bool:
        return self.derived_from_id is not None


class ImportBatch(models.Model):
    """One file imported (or refused), from the command line, the admin or the API."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    #: What a finished import writes on its batch (the action, the admin and the API use this list).
    OUTCOME_FIELDS = ("sha256", "status", "n_read", "n_new", "n_existing", "n_skipped")

    file = models.FileField(upload_to="imports/", blank=True)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    category_name = models.CharField(max_length=100, blank=True)
    skip_invalid = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    n_read = models.PositiveIntegerField(default=0)
    n_new = models.PositiveIntegerField(default=0)
    n_existing = models.PositiveIntegerField(default=0)
    n_skipped = models.PositiveIntegerField(default=0)
    messages = models.JSONField(default=list, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Renewed by the worker holding the job (the lease, sketches/leases.py).",
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker claimed it.")
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"
