"""What the analysis app stores: report exports, worker-quality snapshots, and a results view of studies.

Everything else (agreement, rankings) is computed from the answers on demand.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import Participant
from studies.models import Study


class ExportStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(models.Model):
    """One requested report export (zip of CSV, JSON, figures and the HTML report)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="report_exports")
    include_excluded = models.BooleanField(
        default=False, help_text="Analyse blocked, unqualified and unfinished workers too (for comparison)."
    )
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    file = models.FileField(upload_to="reports/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Counts of the exported report.")
    error = models.TextField(blank=True)
    progress = models.FloatField(default=0.0, help_text="Share of the work done, 0 to 1.")
    stage = models.CharField(max_length=80, blank=True, help_text="What the export is doing now.")
    requested_by = models.ForeignKey(
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
        verbose_name = "report export"
        constraints = [
            models.CheckConstraint(condition=~Q(status="done") | ~Q(file=""), name="exportjob_done_has_file"),
        ]

    def __str__(self) -> str:
        return f"report of {self.study} #{self.pk} ({self.status})"


class WorkerQuality(models.Model):
    """A snapshot of one participant's quality numbers (``results.worker_quality``), so the
    admin can filter and sort them. Refreshed when the study's answers change."""

    participant = models.OneToOneField(Participant, on_delete=models.CASCADE, related_name="quality")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    panel_id = models.CharField(max_length=64)
    flow_status = models.CharField("progress", max_length=12)
    status = models.CharField(max_length=12, help_text="ok, blocked or unqualified (as screened live).")
    analysed = models.BooleanField(help_text="Completed and qualified: the answers enter the analysis.")
    trials = models.PositiveIntegerField()
    sentinels = models.PositiveIntegerField()
    sentinel_mistakes = models.PositiveIntegerField()
    duplicates = models.PositiveIntegerField()
    duplicate_consistency = models.FloatField(null=True)
    median_rt_ms = models.FloatField("median RT (ms)", null=True)
    fast_share = models.FloatField("share < 300 ms", null=True)
    left_rate = models.FloatField("left choices", null=True)
    majority_trials = models.PositiveIntegerField()
    majority_agreement = models.FloatField("agreement with majority", null=True)
    model_skill = models.FloatField(
        "skill", null=True, help_text="The reliability model's skill (0: guessing)."
    )
    model_skill_lo = models.FloatField(null=True)
    model_skill_hi = models.FloatField(null=True)
    model_bias = models.FloatField("side bias", null=True, help_text="P(left | guessing); 0.5: none.")
    simulated = models.BooleanField(default=False)
    bot_flags = models.TextField(
        blank=True, help_text="Why the participant may be automated (studies.bot_flags); empty: no flag."
    )
    fingerprint = models.CharField(max_length=200, help_text="The study's answers when computed.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["study", "model_skill", "participant__index"]
        verbose_name = "worker quality"
        verbose_name_plural = "worker quality"

    def __str__(self) -> str:
        return f"{self.panel_id} ({self.status})"


class StudyResults(Study):
    """The studies, seen from the results side: dashboard, rankings, report and exports."""

    class Meta:
        proxy = True
        verbose_name = "study results"
        verbose_name_plural = "study results"
