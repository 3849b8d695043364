"""Participants, their trials and answers, and the submissions we refused.

Everything that must never happen twice is a database constraint: one participant per
(study, panel id), one trial per (participant, practice?, position), one answer per
trial, and unique opaque trial tokens.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from sketches.models import Sketch
from studies.models import GoldPair, PlannedPair, Study


class ParticipantStatus(models.TextChoices):
    CONSENTING = "consenting"
    DECLINED = "declined", "declined consent"
    INSTRUCTIONS = "instructions"
    PRACTICE = "practice"
    ACTIVE = "active"
    COMPLETED = "completed"
    BLOCKED = "blocked"
    ABANDONED = "abandoned", "abandoned (idle timeout)"
    RETURNED = "returned", "returned or timed out on the panel"


class ScreeningStatus(models.TextChoices):
    OK = "ok"
    UNDECIDED = "undecided", "undecided (too little evidence: analysed)"
    UNQUALIFIED = "unqualified"
    BLOCKED = "blocked"


#: Statuses that hold one of the study's ``target_participants`` places.
TAKING_A_PLACE = [
    ParticipantStatus.INSTRUCTIONS,
    ParticipantStatus.PRACTICE,
    ParticipantStatus.ACTIVE,
    ParticipantStatus.COMPLETED,
]
#: Admitted, trial list drawn, not finished: these can go idle.
IN_PROGRESS = [ParticipantStatus.INSTRUCTIONS, ParticipantStatus.PRACTICE, ParticipantStatus.ACTIVE]


class AnalysisOverride(models.TextChoices):
    NONE = "", "none (the screening rules decide)"
    INCLUDE = "include", "include in the analysis"
    EXCLUDE = "exclude", "exclude from the analysis"


class ParticipantQuerySet(models.QuerySet):
    def taking_a_place(self):
        return self.filter(status__in=TAKING_A_PLACE)

    def in_progress(self):
        return self.filter(status__in=IN_PROGRESS)

    def idle_since(self, cutoff):
        return self.in_progress().filter(last_seen_at__lt=cutoff)

    def analysable(self):
        """The participants whose answers the analysis uses: completed and qualified, unless the
        researcher overrode it (``analysis_override``: include a completed one who failed the
        duplicate rule, or exclude anyone; see ``annotation.review``)."""
        completed = Q(status=ParticipantStatus.COMPLETED)
        return self.filter(
            (completed & Q(qualified=True) & ~Q(analysis_override=AnalysisOverride.EXCLUDE))
            | (completed & Q(analysis_override=AnalysisOverride.INCLUDE))
        )

    def qualified_for(self, study: Study, panel_id: str):
        """Passed ``study`` (completed, qualified, hence not blocked) under this panel id."""
        return self.analysable().filter(study=study, panel_id=panel_id)


#: A participant's progress and live screening counters, as the API and the analysis tables show them.
PROGRESS_FIELDS = (
    "status",
    "qualified",
    "n_trials",
    "current_position",
    "sentinels_answered",
    "sentinel_mistakes",
    "duplicates_answered",
    "duplicates_consistent",
    "duplicate_agreement",
)


class Participant(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="participants")
    panel_id = models.CharField(max_length=64, help_text="PROLIFIC_PID, or the panel's ?pid=.")
    prolific_study_id = models.CharField(max_length=64, blank=True)
    prolific_session_id = models.CharField(max_length=64, blank=True)
    index = models.PositiveIntegerField(help_text="0, 1, 2 ... per study; seeds the trial list.")
    status = models.CharField(
        max_length=12, choices=ParticipantStatus.choices, default=ParticipantStatus.CONSENTING
    )
    qualified = models.BooleanField(
        null=True, help_text="Empty until the end; no when duplicate agreement is below the study's minimum."
    )
    n_practice = models.PositiveIntegerField(default=0)
    n_trials = models.PositiveIntegerField(default=0)
    practice_position = models.PositiveIntegerField(default=0, help_text="Next practice trial.")
    current_position = models.PositiveIntegerField(default=0, help_text="Next trial (practice excluded).")
    break_taken_at = models.PositiveIntegerField(default=0, help_text="Position of the last break taken.")
    trial_served_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current trial was first sent (starts the server clock)."
    )
    sentinels_answered = models.PositiveIntegerField(default=0)
    sentinel_mistakes = models.PositiveIntegerField(default=0)
    duplicates_answered = models.PositiveIntegerField(default=0)
    duplicates_consistent = models.PositiveIntegerField(default=0)
    duplicate_agreement = models.FloatField(null=True, blank=True)
    left_choices = models.PositiveIntegerField(default=0, help_text="Main answers on the left (side bias).")
    right_choices = models.PositiveIntegerField(default=0, help_text="Main answers on the right (side bias).")
    fast_answers = models.PositiveIntegerField(
        default=0, help_text="Main answers faster than the study's too-fast limit."
    )
    screening = models.CharField(
        max_length=12,
        choices=ScreeningStatus.choices,
        blank=True,
        help_text="The screening's decision (studies.screening); empty until the end or a block.",
    )
    screening_reason = models.CharField(max_length=60, blank=True, help_text="Why blocked or unqualified.")
    simulated = models.BooleanField(
        default=False, help_text="A simulated worker (analysis.crowd), never a person: labelled everywhere."
    )
    started_at = models.DateTimeField(auto_now_add=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    answer_window = models.BigIntegerField(
        default=0,
        help_text="Start (Unix seconds) of the answer rate limit's current window; 0 before the first answer "
        "(annotation.ratelimit.count_answer).",
    )
    answers_in_window = models.PositiveIntegerField(
        default=0, help_text="Answer requests counted in that window (accepted, replayed or refused)."
    )
    analysis_override = models.CharField(
        max_length=7,
        choices=AnalysisOverride.choices,
        blank=True,
        default=AnalysisOverride.NONE,
        help_text="The researcher's decision, with its reason in the review log (annotation.review).",
    )
    analysis_override_reason = models.CharField(max_length=500, blank=True)
    probe_answer = models.CharField(
        max_length=100,
        blank=True,
        help_text="What was typed into the instructions' hidden field (Study.instruction_probe): "
        "a person never sees it, so anything here was written by an automated reader.",
    )

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["study", "index"]
        constraints = [
            models.UniqueConstraint(fields=["study", "panel_id"], name="participant_unique_panel_id"),
            models.UniqueConstraint(fields=["study", "index"], name="participant_unique_index"),
            models.CheckConstraint(condition=~Q(panel_id=""), name="participant_has_panel_id"),
            models.CheckConstraint(
                condition=Q(sentinel_mistakes__lte=F("sentinels_answered")),
                name="participant_mistakes_le_sentinels",
            ),
            models.CheckConstraint(
                condition=Q(duplicates_consistent__lte=F("duplicates_answered")),
                name="participant_consistent_le_duplicates",
            ),
            models.CheckConstraint(
                condition=Q(current_position__lte=F("n_trials")), name="participant_position_in_list"
            ),
            models.CheckConstraint(
                condition=Q(left_choices__lte=F("current_position"))
                & Q(fast_answers__lte=F("current_position")),
                name="participant_side_and_speed_counts_in_range",
            ),
            models.CheckConstraint(
                condition=Q(practice_position__lte=F("n_practice")), name="participant_practice_in_list"
            ),
        ]
        # Only ``status``, which few answers change: an index on a column every answer writes
        # (``last_seen_at``, the positions) would make each answer's UPDATE a non-HOT one, with a new
        # entry in every index of the table (migration 0009). The idle sweep filters the in-progress
        # rows of each study on ``last_seen_at`` (a few thousand rows, every few minutes).
        indexes = [models.Index(fields=["status"], name="participant_status")]

    def __str__(self) -> str:
        return f"{self.panel_id} in {self.study_id} (#{self.index}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (
            ParticipantStatus.COMPLETED,
            ParticipantStatus.BLOCKED,
            ParticipantStatus.ABANDONED,
            ParticipantStatus.RETURNED,
        )

    @property
    def break_due(self) -> bool:
        """At a break point (every ``study.break_every`` trials) not yet taken."""
        every = self.study.break_every
        position = self.current_position
        return bool(
            self.status == ParticipantStatus.ACTIVE
            and every
            and 0 < position < self.n_trials
            and position % every == 0
            and self.break_taken_at != position
        )


class TrialKind(models.TextChoices):
    REGULAR = "regular"
    SENTINEL = "sentinel"
    DUPLICATE = "duplicate"
    PRACTICE = "practice"


class TrialQuerySet(models.QuerySet):
    def main(self):
        return self.filter(is_practice=False)

    def unanswered(self):
        return self.filter(answer__isnull=True)


class Trial(models.Model):
    """One pair shown to one participant. ``token`` is the only id the participant ever sees."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="trials")
    position = models.PositiveIntegerField(help_text="0-based; practice and main trials count separately.")
    kind = models.CharField(max_length=10, choices=TrialKind.choices)
    is_practice = models.BooleanField(default=False)
    token = models.CharField(max_length=32, unique=True)
    left_sketch = models.ForeignKey(Sketch, on_delete=models.PROTECT, related_name="+")
    right_sketch = models.ForeignKey(
        Sketch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: a single trial.",
    )
    # Best of K: options 1..K are left, right, third, fourth (annotation.trial_types).
    third_sketch = models.ForeignKey(
        Sketch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fourth_sketch = models.ForeignKey(
        Sketch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    planned_pair = models.ForeignKey(
        PlannedPair, null=True, blank=True, on_delete=models.PROTECT, related_name="trials"
    )
    gold_pair = models.ForeignKey(
        GoldPair, null=True, blank=True, on_delete=models.PROTECT, related_name="trials"
    )
    practice_better_sketch = models.ForeignKey(
        Sketch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Practice: the answer.",
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )

    objects = TrialQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "is_practice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "is_practice", "position"], name="trial_unique_position"
            ),
            models.CheckConstraint(condition=~Q(left_sketch=F("right_sketch")), name="trial_two_sketches"),
            models.CheckConstraint(
                condition=Q(is_practice=True, kind="practice", practice_better_sketch__isnull=False)
                | (Q(is_practice=False) & ~Q(kind="practice")),
                name="trial_practice_flag_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="sentinel") | Q(gold_pair__isnull=False),
                name="trial_sentinel_has_gold_pair",
            ),
            models.CheckConstraint(
                condition=~Q(kind="regular") | Q(planned_pair__isnull=False),
                name="trial_regular_has_planned_pair",
            ),
            models.CheckConstraint(
                condition=~Q(kind="duplicate") | Q(duplicate_of__isnull=False, planned_pair__isnull=False),
                name="trial_duplicate_has_original",
            ),
        ]

    def __str__(self) -> str:
        prefix = "practice " if self.is_practice else ""
        return f"{self.participant_id}: {prefix}trial {self.position} ({self.kind})"


class Choice(models.TextChoices):
    LEFT = "left"
    RIGHT = "right"
    NONE = "none", "no visible difference"
    # best of K: the option chosen (1 = left, 2 = right, 3 = third, 4 = fourth); "none" abstains
    OPTION_1 = "1", "option 1"
    OPTION_2 = "2", "option 2"
    OPTION_3 = "3", "option 3"
    OPTION_4 = "4", "option 4"
    # single
    YES = "yes"
    NO = "no"


class Answer(models.Model):
    trial = models.OneToOneField(Trial, on_delete=models.CASCADE, related_name="answer")
    choice = models.CharField(max_length=5, choices=Choice.choices)
    chosen_sketch = models.ForeignKey(
        Sketch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_correct = models.BooleanField(null=True, help_text="Sentinels and practice: matches the known answer.")
    is_consistent = models.BooleanField(null=True, help_text="Duplicates: the same sketch as the first time.")
    served_at = models.DateTimeField(null=True, blank=True, help_text="When the trial was first sent.")
    server_response_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="First served → received."
    )
    client_response_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Measured in the browser."
    )
    # Telemetry sent with the answer (annotation.telemetry; clamped, NULL when missing).
    blur_count = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Window lost focus.")
    hidden_count = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Tab hidden.")
    input_kind = models.CharField(
        max_length=1, blank=True, default="", help_text="k key, p pointer, t touch; empty: none recorded."
    )
    pointer_moves = models.PositiveSmallIntegerField(null=True, blank=True)
    pointer_path_px = models.PositiveIntegerField(null=True, blank=True)
    viewport_w = models.PositiveSmallIntegerField(null=True, blank=True)
    viewport_h = models.PositiveSmallIntegerField(null=True, blank=True)
    device_hash = models.CharField(max_length=16, blank=True, default="", help_text="Salted per study.")
    network_hash = models.CharField(max_length=16, blank=True, default="", help_text="Salted per study.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                # "none" (abstain) and a single trial's "no" choose no sketch; every other answer one
                condition=Q(choice__in=["none", "no"], chosen_sketch__isnull=True)
                | (~Q(choice__in=["none", "no"]) & Q(chosen_sketch__isnull=False)),
                name="answer_sketch_matches_choice",
            ),
        ]

    def __str__(self) -> str:
        return f"trial {self.trial_id}: {self.choice}"


class RefusalReason(models.TextChoices):
    NOT_CURRENT = "not_current", "not the participant's current trial"
    UNKNOWN_TOKEN = "unknown_token", "no such trial for this participant"
    INVALID_CHOICE = "invalid_choice", "choice not offered"
    BLOCKED = "blocked", "participant is blocked"
    FINISHED = "finished", "participant already finished"
    ABANDONED = "abandoned", "participant timed out"
    RETURNED = "returned", "participant returned the task on the panel"
    NOT_STARTED = "not_started", "participant has not started the trials"
    ON_BREAK = "on_break", "sent during a break"
    STUDY_CLOSED = "study_closed", "study is closed"


class RefusedSubmission(models.Model):
    """A submission that stored nothing, and why (stale tabs, blocked workers, tampering)."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="refused_submissions")
    token = models.CharField(max_length=64, blank=True)
    choice = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=16, choices=RefusalReason.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.reason} at {self.at:%Y-%m-%d %H:%M:%S}"


class StudyLinks(Study):
    """The studies, seen from the panel side: the link to paste into Prolific and the completion code."""

    class Meta:
        proxy = True
        verbose_name = "study link"
        verbose_name_plural = "study links (for Prolific)"


# The panel side (submissions on Prolific) and the review log live in their own module.
from annotation.panel_models import PanelSubmission, ReviewDecision  # noqa: E402, F401
from annotation.questionnaires import QuestionAnswer  # noqa: E402, F401
