"""The pair plan: draw it from the scores (dry run), then freeze it into PlannedPair rows.

For each (category, scorer) cell, q is the scorer's score of the study's sketches of
that category and split (ordered by sketch id); ``sampling.plan_pairs`` draws the
pairs, binned by normalised |Δq| level. Automatic gold pairs come from
``sampling.sentinel_candidates`` over all the study's scorers. Every draw takes a
Generator from ``study.rng(purpose, ...)`` (``studies.seeds``: the study's seed, the
purpose's tag and the cell's ids), so the same configuration gives the same plan; the
summary records the seed scheme it was drawn with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from scoring.models import Scorer, SketchScore
from sketches.models import Category, Sketch
from studies import checks, gold, power, sampling, set_sampling
from studies.errors import StudyConfigError
from studies.models import GoldPair, PlannedPair, Study, StudyState, TrialType

BULK_BATCH = 5000
SENTINEL_QUANTILE = 0.2


@dataclass
class Cell:
    category: Category
    scorer: Scorer
    sketch_ids: np.ndarray
    q: np.ndarray
    plan: sampling.PairPlan | set_sampling.SetPlan | set_sampling.SinglePlan | None = None
    candidates: np.ndarray | None = None


@dataclass
class ComputedPlan:
    summary: dict
    cells: list[Cell] = field(default_factory=list)
    automatic_gold: list[tuple[int, int]] = field(default_factory=list)  # (better, worse) sketch ids
    degradation_gold: list[gold.DegradationGoldDraft] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def preview_plan(study: Study) -> dict:
    """The plan's summary: the frozen one, or a dry run (nothing written) with its problems."""
    if study.plan_frozen_at is not None:
        return {**study.plan_summary, "frozen": True}
    computed = compute_plan(study)
    return {**computed.summary, "frozen": False, "problems": computed.problems}


def power_plan(study: Study, summary: dict | None = None, **assumptions) -> dict:
    """The power planner (``studies.power``) for the study's plan and settings; ``assumptions``
    override the study's participants / regular trials and the planner's defaults."""
    summary = preview_plan(study) if summary is None else summary
    edges, _ = checks.study_edges(study)
    counts = {(c["scorer"], c["category"]): c["counts"] for c in summary.get("cells", []) if c.get("counts")}
    scorers = list(study.scorers.order_by("name"))
    gacl = [s.name for s in scorers if s.variant != "softmax" and s.soft_binning]
    settings = {
        "participants": study.target_participants,
        "regular_trials": study.regular_trials_per_participant,
    }
    settings |= assumptions
    if edges is None:
        return {"method": "analytic", "assumptions": settings, "problems": ["the level edges are invalid"]}
    return power.plan_power(counts, edges, reference=(gacl or [None])[0], **settings)


def compute_plan(study: Study) -> ComputedPlan:
    """Draw the plan in memory. Reads scores; writes nothing."""
    problems = checks.config_problems(study)
    edges, _ = checks.study_edges(study)
    categories = list(study.categories.order_by("slug"))
    scorers = list(study.scorers.order_by("name").prefetch_related("categories"))
    problems += _scorer_problems(scorers, categories)
    summary = _summary_head(study, edges, scorers)
    computed = ComputedPlan(summary=summary, problems=problems)
    for category in categories:
        sketch_ids = np.array(
            Sketch.objects.filter(category=category, split=study.split)
            .order_by("pk")
            .values_list("pk", flat=True),
            dtype=np.int64,
        )
        if sketch_ids.size < 2:
            problems.append(
                f"{category.name}: {sketch_ids.size} {study.split} sketch(es), needs at least 2 "
                f"(short by {2 - sketch_ids.size})"
            )
            continue
        columns = []
        for scorer in scorers:
            q, missing = _scores(scorer, sketch_ids)
            if missing:
                problems.append(
                    f"{category.name} × {scorer.name}: no scores for {missing} of {sketch_ids.size} "
                    f"{study.split} sketches (run scoring for this category first)"
                )
                continue
            columns.append(q)
            cell = Cell(category, scorer, sketch_ids, q)
            computed.cells.append(cell)
            if edges is not None:
                _draw_cell(study, cell, edges, problems)
        if len(columns) == len(scorers) and scorers:
            computed.automatic_gold += _automatic_gold(
                study, category, sketch_ids, np.column_stack(columns), problems
            )
    summary["cells"] = [_cell_summary(cell) for cell in computed.cells]
    summary["total_pairs"] = sum(len(cell.plan) for cell in computed.cells if cell.plan is not None)
    computed.degradation_gold, degradation_problems = gold.plan_degradation_gold(study, categories)
    problems += degradation_problems
    curated = GoldPair.objects.filter(study=study, source=GoldPair.Source.CURATED)
    degraded = [d.use for d in computed.degradation_gold]
    n_degraded_practice = degraded.count(GoldPair.Use.PRACTICE)
    summary["gold_pairs"] = {
        "curated": curated.count(),
        "automatic": len(computed.automatic_gold),
        "degradation": len(degraded) - n_degraded_practice,
        "practice": n_degraded_practice + curated.practice_pool().count(),
    }
    n_sentinel = curated.sentinel_pool(live=False).count() + len(computed.automatic_gold)
    n_sentinel += summary["gold_pairs"]["degradation"]
    problems += checks.gold_problems(study, n_sentinel, summary["gold_pairs"]["practice"])
    return computed


def do_freeze_plan(study: Study) -> dict:
    """Draw the plan and store it: PlannedPair rows, automatic gold pairs, ``plan_summary``.

    One transaction; refused (``StudyConfigError``, nothing written) unless the study
    is a draft without a frozen plan and the plan is feasible.
    """
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state != StudyState.DRAFT or locked.plan_frozen_at is not None:
            raise StudyConfigError(f"the plan of {locked.slug!r} is already frozen (state {locked.state})")
        computed = compute_plan(locked)
        if computed.problems:
            raise StudyConfigError(computed.problems)
        _store_pairs(locked, computed.cells)
        GoldPair.objects.bulk_create(
            [
                GoldPair(
                    study=locked,
                    better_id=better,
                    worse_id=worse,
                    source=GoldPair.Source.AUTOMATIC,
                    review=GoldPair.Review.CANDIDATE,  # the model's opinion: a person reviews it
                )
                for better, worse in computed.automatic_gold
            ]
        )
        gold.store_degradation_gold(locked, computed.degradation_gold)
        locked.plan_summary = {**computed.summary, "frozen": True}
        locked.plan_frozen_at = timezone.now()
        locked.save(update_fields=["plan_summary", "plan_frozen_at"])
    study.plan_summary, study.plan_frozen_at = locked.plan_summary, locked.plan_frozen_at
    return locked.plan_summary


def do_discard_plan(study: Study) -> int:
    """Delete a draft's frozen plan and its automatic gold pairs, so the config can change."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state != StudyState.DRAFT:
            raise StudyConfigError(f"only a draft's plan can be discarded; {locked.slug!r} is {locked.state}")
        deleted, _ = PlannedPair.objects.filter(study=locked).delete()
        GoldPair.objects.filter(
            study=locked, source__in=[GoldPair.Source.AUTOMATIC, GoldPair.Source.DEGRADED]
        ).delete()
        locked.plan_summary, locked.plan_frozen_at = {}, None
        locked.save(update_fields=["plan_summary", "plan_frozen_at"])
    study.plan_summary, study.plan_frozen_at = {}, None
    return deleted


# -- internals ---------------------------------------------------------------------


def _scorer_problems(scorers: list[Scorer], categories: list[Category]) -> list[str]:
    problems = []
    for scorer in scorers:
        if not scorer.is_ready:
            detail = "no checkpoint hash" if scorer.status == "done" else f"status {scorer.status}"
            problems.append(f"scorer {scorer.name} is not ready ({detail})")
        trained = {c.pk for c in scorer.categories.all()}
        untrained = [c.name for c in categories if c.pk not in trained]
        if untrained:
            problems.append(f"scorer {scorer.name} was not trained on: {', '.join(untrained)}")
    return problems


def _scores(scorer: Scorer, sketch_ids: np.ndarray) -> tuple[np.ndarray, int]:
    found = dict(
        SketchScore.objects.filter(scorer=scorer, sketch_id__in=sketch_ids.tolist()).values_list(
            "sketch_id", "q"
        )
    )
    q = np.array([found.get(int(pk), np.nan) for pk in sketch_ids], dtype=np.float64)
    return q, int(np.isnan(q).sum())


def _draw_cell(study: Study, cell: Cell, edges: np.ndarray, problems: list[str]) -> None:
    label = f"{cell.category.name} × {cell.scorer.name}"
    rng = study.rng("plan_cell", cell.category.pk, cell.scorer.pk)
    try:
        if study.trial_type == TrialType.BEST_OF_K:
            cell.plan = set_sampling.plan_sets(
                cell.q, study.pairs_per_cell, study.options_per_trial, edges, study.plan_mode, rng
            )
        elif study.trial_type == TrialType.SINGLE:
            cell.plan = set_sampling.plan_singles(cell.q, study.pairs_per_cell, edges.size - 1, rng)
        else:
            cell.candidates = sampling.count_candidates_per_level(cell.q, edges)
            cell.plan = sampling.plan_pairs(cell.q, study.pairs_per_cell, edges, study.plan_mode, rng)
    except sampling.InfeasiblePlan as error:
        problems.append(f"{label}: {error}")


def _automatic_gold(
    study: Study, category: Category, sketch_ids: np.ndarray, q_matrix: np.ndarray, problems: list[str]
) -> list[tuple[int, int]]:
    n_categories = study.categories.count()
    share = study.auto_gold_pairs // n_categories + (
        1 if _position(study, category) < study.auto_gold_pairs % n_categories else 0
    )
    rng = study.rng("auto_gold", category.pk)
    curated = set(GoldPair.objects.filter(study=study).values_list("better_id", "worse_id"))
    while share > 0:
        try:
            better, worse = sampling.sentinel_candidates(q_matrix, share, SENTINEL_QUANTILE, rng)
        except sampling.InfeasiblePlan:
            share //= 2  # fewer agreeing extremes than asked: take what there is
            continue
        pairs = [(int(sketch_ids[b]), int(sketch_ids[w])) for b, w in zip(better, worse)]
        return [p for p in pairs if p not in curated and p[::-1] not in curated]
    return []


def _position(study: Study, category: Category) -> int:
    return list(study.categories.order_by("slug").values_list("pk", flat=True)).index(category.pk)


def _store_pairs(study: Study, cells: list[Cell]) -> None:
    """INSERT the plan's rows with executemany (COPY on PostgreSQL), bypassing model
    instances: the ORM's per-object work is ~30× the sampling itself at 200,000 pairs.
    The database constraints still check every row."""
    total = sum(len(cell.plan) for cell in cells)
    order = study.rng("handout_order").permutation(total)
    columns = [
        "study_id",
        "category_id",
        "scorer_id",
        "sketch_a_id",
        "sketch_b_id",
        "sketch_c_id",
        "sketch_d_id",
        "q_a",
        "q_b",
        "q_c",
        "q_d",
        "gap",
        "level",
        "order",
        "times_assigned",
        "allocation",
    ]
    rows, start = [], 0
    for cell in cells:
        n = len(cell.plan)
        sketches, scores, gap, level = _plan_columns(cell)
        rows += zip(
            [study.pk] * n,
            [cell.category.pk] * n,
            [cell.scorer.pk] * n,
            *sketches,
            *scores,
            gap,
            level,
            order[start : start + n].tolist(),
            [0] * n,
            [""] * n,
        )
        start += n
    table = PlannedPair._meta.db_table
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        for chunk in range(0, len(rows), BULK_BATCH):
            cursor.executemany(sql, rows[chunk : chunk + BULK_BATCH])


def _plan_columns(cell: Cell) -> tuple[list[list], list[list], list, list]:
    """Four sketch-id columns and four q columns (None where a trial has fewer sketches), gap, level."""
    plan, ids, q = cell.plan, cell.sketch_ids, cell.q
    if isinstance(plan, sampling.PairPlan):
        members = np.column_stack([plan.i, plan.j])
        gap, level = plan.gap, plan.level
    elif isinstance(plan, set_sampling.SetPlan):
        members, gap, level = plan.members, plan.gap, plan.level
    else:
        assert isinstance(plan, set_sampling.SinglePlan)
        members, level = plan.index[:, None], plan.bin
        span = float(q.max() - q.min()) or 1.0
        gap = np.clip((q[plan.index] - q.min()) / span, 0.0, 1.0)
    n = members.shape[0]
    sketches, scores = [], []
    for column in range(4):
        if column < members.shape[1]:
            sketches.append(ids[members[:, column]].tolist())
            scores.append(q[members[:, column]].tolist())
        else:
            sketches.append([None] * n)
            scores.append([None] * n)
    return sketches, scores, gap.tolist(), level.tolist()


def _summary_head(study: Study, edges: np.ndarray | None, scorers: list[Scorer]) -> dict:
    levels = [] if edges is None else [level_label(edges, k) for k in range(edges.size - 1)]
    return {
        "mode": study.sampling_mode,
        **study.adaptive_settings(),
        "trial_type": study.trial_type,
        "sketches_per_trial": study.sketches_per_trial,
        "split": study.split,
        "seed": study.seed,
        "seed_scheme": study.seed_scheme,
        "pairs_per_cell": study.pairs_per_cell,
        "edges": [] if edges is None else edges.tolist(),
        "levels": levels,
        "scorers": [
            {"id": s.pk, "name": s.name, "variant": s.variant, "checkpoint_sha256": s.checkpoint_sha256}
            for s in scorers
        ],
    }


def level_label(edges, level: int) -> str:
    """``[0, 0.1]`` for level 0, ``(0.1, 0.2]`` after, as in the paper."""
    return f"{'[' if level == 0 else '('}{edges[level]:g}, {edges[level + 1]:g}]"


def _cell_summary(cell: Cell) -> dict:
    return {
        "category": cell.category.name,
        "category_id": cell.category.pk,
        "scorer": cell.scorer.name,
        "scorer_id": cell.scorer.pk,
        "n_sketches": int(cell.sketch_ids.size),
        "q_min": float(cell.q.min()),
        "q_max": float(cell.q.max()),
        "candidates": [] if cell.candidates is None else cell.candidates.tolist(),
        "requested": [] if cell.plan is None else cell.plan.requested.tolist(),
        # best of K: per level of the largest gap; single: per bin of q
        "counts": [] if cell.plan is None else cell.plan.counts.tolist(),
    }
