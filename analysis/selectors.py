"""Read a study's data into plain arrays for the pure cores: one query per selector.

``study_answers`` is the one place that turns stored answers into columns; agreement,
Bradley–Terry, worker QA, the exports and the dashboard all start from it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

import numpy as np
from django.db.models import Count, Max, Q
from django.utils import timezone

from annotation.models import PROGRESS_FIELDS, Answer, Participant, ParticipantStatus, TrialKind
from scoring.models import Scorer, SketchScore
from sketches.models import Category
from studies.models import PlannedPair, Study

#: Which participants' answers are analysed.
ANALYSABLE = "analysable"  # completed and qualified: the paper's rule (the default)
PROVISIONAL = "provisional"  # … plus those still at work (live dashboard)
EVERYONE = "all"  # … plus blocked, unqualified and abandoned workers (for comparison)
SCOPE_TABS = {ANALYSABLE: "qualified, completed", PROVISIONAL: "+ still at work", EVERYONE: "everyone"}
SCOPES = {
    ANALYSABLE: "qualified workers who completed the study",
    PROVISIONAL: "qualified workers who completed the study, and workers still at it (provisional)",
    EVERYONE: "every worker, blocked, unqualified and unfinished included",
}

_ANSWER_COLUMNS = {  # field name → (ORM path, dtype, missing value)
    "answer_id": ("pk", np.int64, None),
    "trial_id": ("trial_id", np.int64, None),
    "participant_id": ("trial__participant_id", np.int64, None),
    "participant_index": ("trial__participant__index", np.int64, None),
    "position": ("trial__position", np.int64, None),
    "kind": ("trial__kind", "<U9", None),
    "is_practice": ("trial__is_practice", bool, None),
    "left": ("trial__left_sketch_id", np.int64, None),
    "right": ("trial__right_sketch_id", np.int64, -1),  # -1: a single trial
    "third": ("trial__third_sketch_id", np.int64, -1),  # best of K: options 3 and 4
    "fourth": ("trial__fourth_sketch_id", np.int64, -1),
    "choice": ("choice", "<U5", None),
    "chosen": ("chosen_sketch_id", np.int64, -1),
    "planned_pair": ("trial__planned_pair_id", np.int64, -1),
    "gold_pair": ("trial__gold_pair_id", np.int64, -1),
    "gold_better": ("trial__gold_pair__better_id", np.int64, -1),
    "practice_better": ("trial__practice_better_sketch_id", np.int64, -1),
    "duplicate_of": ("trial__duplicate_of_id", np.int64, -1),
    "category": ("trial__planned_pair__category_id", np.int64, -1),
    "scorer": ("trial__planned_pair__scorer_id", np.int64, -1),
    "sketch_a": ("trial__planned_pair__sketch_a_id", np.int64, -1),
    "q_a": ("trial__planned_pair__q_a", float, np.nan),
    "q_b": ("trial__planned_pair__q_b", float, np.nan),
    "gap": ("trial__planned_pair__gap", float, np.nan),
    "level": ("trial__planned_pair__level", np.int64, -1),
    "allocation": ("trial__planned_pair__allocation", "<U12", ""),
    "server_ms": ("server_response_ms", float, np.nan),
    "client_ms": ("client_response_ms", float, np.nan),
    "blur_count": ("blur_count", float, np.nan),
    "hidden_count": ("hidden_count", float, np.nan),
    "input_kind": ("input_kind", "<U1", None),
    "pointer_moves": ("pointer_moves", float, np.nan),
    "pointer_path_px": ("pointer_path_px", float, np.nan),
    "viewport_w": ("viewport_w", float, np.nan),
    "viewport_h": ("viewport_h", float, np.nan),
    "device_hash": ("device_hash", "<U16", None),
    "network_hash": ("network_hash", "<U16", None),
    "served_at": ("served_at", object, None),
    "answered_at": ("created_at", object, None),
}


@dataclass(frozen=True)
class StudyAnswers:
    """Every stored answer of a study, practice included, one entry per answer (columns).

    Ids that do not apply are −1 (e.g. ``planned_pair`` of a sentinel, ``chosen`` of a
    "no difference" answer); missing times are NaN. Ordered by participant index, practice
    first, then position.
    """

    answer_id: np.ndarray
    trial_id: np.ndarray
    participant_id: np.ndarray
    participant_index: np.ndarray
    position: np.ndarray
    kind: np.ndarray
    is_practice: np.ndarray
    left: np.ndarray
    right: np.ndarray
    third: np.ndarray
    fourth: np.ndarray
    choice: np.ndarray
    chosen: np.ndarray
    planned_pair: np.ndarray
    gold_pair: np.ndarray
    gold_better: np.ndarray
    practice_better: np.ndarray
    duplicate_of: np.ndarray
    category: np.ndarray
    scorer: np.ndarray
    sketch_a: np.ndarray
    q_a: np.ndarray
    q_b: np.ndarray
    gap: np.ndarray
    level: np.ndarray
    allocation: np.ndarray  # how the planned pair was first handed out ("" for sentinels, practice)
    server_ms: np.ndarray
    client_ms: np.ndarray
    blur_count: np.ndarray  # telemetry (annotation.telemetry): NaN / "" where not sent
    hidden_count: np.ndarray
    input_kind: np.ndarray
    pointer_moves: np.ndarray
    pointer_path_px: np.ndarray
    viewport_w: np.ndarray
    viewport_h: np.ndarray
    device_hash: np.ndarray
    network_hash: np.ndarray
    served_at: np.ndarray
    answered_at: np.ndarray

    def __len__(self) -> int:
        return int(self.answer_id.size)

    def take(self, mask) -> StudyAnswers:
        return StudyAnswers(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @property
    def main(self) -> np.ndarray:
        return ~self.is_practice

    @property
    def regular(self) -> np.ndarray:
        """Regular trials only: not practice, not sentinels, not the second showing of a duplicate."""
        return self.kind == TrialKind.REGULAR

    @property
    def q_left(self) -> np.ndarray:
        """The frozen q (of the pair's scorer) of the sketch shown on the left."""
        return np.where(self.left == self.sketch_a, self.q_a, self.q_b)

    @property
    def q_right(self) -> np.ndarray:
        return np.where(self.left == self.sketch_a, self.q_b, self.q_a)

    @property
    def response_ms(self) -> np.ndarray:
        """The browser's time when it sent one, else the server's (served → received)."""
        return np.where(np.isfinite(self.client_ms), self.client_ms, self.server_ms)


def study_answers(study: Study, participant_ids=None) -> StudyAnswers:
    """All answers of ``study`` (optionally of some participants only), in one query."""
    qs = Answer.objects.filter(trial__participant__study=study)
    if participant_ids is not None:
        qs = qs.filter(trial__participant_id__in=list(participant_ids))
    paths = [path for path, _, _ in _ANSWER_COLUMNS.values()]
    rows = list(
        qs.order_by("trial__participant__index", "-trial__is_practice", "trial__position").values_list(*paths)
    )
    columns = list(zip(*rows)) if rows else [()] * len(paths)
    data = {}
    for (name, (_, dtype, missing)), values in zip(_ANSWER_COLUMNS.items(), columns):
        if missing is not None:
            values = [missing if v is None else v for v in values]
        if dtype is object:
            array = np.empty(len(values), dtype=object)
            array[:] = values
        else:
            array = np.array(values, dtype=dtype) if values else np.zeros(0, dtype=dtype)
        data[name] = array
    return StudyAnswers(**data)


def scope_participants(study: Study, scope: str = ANALYSABLE):
    """The participants whose answers a given scope analyses (a QuerySet)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    everyone = Participant.objects.filter(study=study)
    if scope == ANALYSABLE:
        return everyone.analysable()
    if scope == PROVISIONAL:
        return everyone.filter(Q(pk__in=everyone.analysable()) | Q(pk__in=everyone.in_progress()))
    return everyone


def participant_table(study: Study) -> list[dict]:
    """Every participant of the study with their stored progress and screening counters."""
    return list(
        Participant.objects.filter(study=study)
        .order_by("index")
        .values(
            "id",
            "index",
            "panel_id",
            *PROGRESS_FIELDS,
            "screening",
            "screening_reason",
            "simulated",
            "started_at",
            "completed_at",
            "blocked_at",
            "analysis_override",
            "analysis_override_reason",
            "probe_answer",
        )
    )


def study_scorers(study: Study) -> list[Scorer]:
    """The methods, in report order (by name): position = method code."""
    return list(study.scorers.order_by("name"))


def study_categories(study: Study) -> list[Category]:
    """The categories, in report order (by slug, as the plan): position = category code."""
    return list(study.categories.order_by("slug"))


def study_scores(study: Study, scorer_ids, sketch_ids) -> dict[int, dict[int, float]]:
    """{scorer id: {sketch id: q}} for these scorers and sketches."""
    out: dict[int, dict[int, float]] = {int(pk): {} for pk in scorer_ids}
    rows = SketchScore.objects.filter(scorer_id__in=list(out), sketch_id__in=[int(s) for s in sketch_ids])
    for scorer_id, sketch_id, q in rows.values_list("scorer_id", "sketch_id", "q"):
        out[scorer_id][sketch_id] = q
    return out


def recognition_accuracy(study: Study) -> dict[int, tuple[int, int]]:
    """{scorer id: (correct, scored)} over the study's sketches (categories × split)."""
    rows = (
        SketchScore.objects.filter(
            scorer__in=study.scorers.all(),
            sketch__category__in=study.categories.all(),
            sketch__split=study.split,
        )
        .values("scorer_id")
        .annotate(n=Count("id"), correct=Count("id", filter=Q(correct=True)))
        .order_by()
    )
    return {row["scorer_id"]: (row["correct"], row["n"]) for row in rows}


def planned_sketches(study: Study) -> dict[int, np.ndarray]:
    """{category id: sorted ids of the sketches in the category's planned trials (pairs, sets, singles)}."""
    found: dict[int, set[int]] = {}
    for category_id, *ids in PlannedPair.objects.filter(study=study).values_list(
        "category_id", "sketch_a_id", "sketch_b_id", "sketch_c_id", "sketch_d_id"
    ):
        found.setdefault(category_id, set()).update(pk for pk in ids if pk is not None)
    return {c: np.array(sorted(ids), dtype=np.int64) for c, ids in found.items()}


@dataclass(frozen=True)
class Progress:
    by_status: dict[str, int]  # every ParticipantStatus, 0 when none
    answers: int  # main trials (practice excluded)
    practice_answers: int
    last_answer_id: int
    answers_last_minutes: int
    window_minutes: int
    last_answer_at: object

    @property
    def trials_per_minute(self) -> float:
        return self.answers_last_minutes / self.window_minutes

    @property
    def fingerprint(self) -> str:
        """Changes whenever an answer arrives or a participant changes state (cache key)."""
        statuses = ",".join(f"{k}={v}" for k, v in sorted(self.by_status.items()))
        return f"{self.answers}:{self.practice_answers}:{self.last_answer_id}:{statuses}"


def study_progress(study: Study, window_minutes: int = 5, now=None) -> Progress:
    """Participants by status, answers so far, and the recent answer rate: two queries."""
    now = now or timezone.now()
    counts = dict(
        Participant.objects.filter(study=study).values_list("status").annotate(n=Count("id")).order_by()
    )
    by_status = {status: counts.get(status, 0) for status in ParticipantStatus.values}
    since = now - timedelta(minutes=window_minutes)
    agg = Answer.objects.filter(trial__participant__study=study).aggregate(
        answers=Count("id", filter=Q(trial__is_practice=False)),
        practice=Count("id", filter=Q(trial__is_practice=True)),
        recent=Count("id", filter=Q(trial__is_practice=False, created_at__gte=since)),
        last_id=Max("id"),
        last_at=Max("created_at"),
    )
    return Progress(
        by_status=by_status,
        answers=agg["answers"],
        practice_answers=agg["practice"],
        last_answer_id=agg["last_id"] or 0,
        answers_last_minutes=agg["recent"],
        window_minutes=window_minutes,
        last_answer_at=agg["last_at"],
    )
