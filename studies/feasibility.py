"""What the data allow: the feasible maximum of each size, and a configuration that fits.

``feasible_sizes(study)`` reads the scores once and reports, for the study's categories,
scorers, split and levels:

* per (category, method) cell: the candidate pairs per level, the most pairs a balanced plan can
  draw (``max_balanced_pairs``) and a natural one (every distinct pair);
* ``max_pairs_per_cell``: the smallest of those over the cells (one ``pairs_per_cell`` serves all);
* gold: the automatic gold pairs available per category (top 20% under every scorer against the
  bottom 20%, as ``sampling.sentinel_candidates`` draws them), the curated ones, and how many a
  participant needs (sentinels + practice);
* participants: how many the plan can serve with each planned pair answered once.

``propose_fit(study)`` turns that into a configuration that launches, changing as little as it
can: balanced levels where every cell has enough candidates, else natural sampling; the trial
list shrunk to the plan; sentinels to the gold available. ``do_fit_to_data(study)`` saves the
proposal on a draft (one transaction, refused once the plan is frozen) after checking it with a
dry run of the plan.
"""

from __future__ import annotations

import copy
import hashlib
import math

import numpy as np
from django.db import transaction

from sketches.models import Sketch
from studies import checks, planning, sampling
from studies.errors import StudyConfigError
from studies.models import GoldPair, Panel, SamplingMode, Study, StudyState

GOLD_QUANTILE = planning.SENTINEL_QUANTILE
FIT_FIELDS = [
    "sampling_mode",
    "pairs_per_cell",
    "auto_gold_pairs",
    "trials_per_participant",
    "sentinels_per_participant",
    "duplicates_per_participant",
    "min_duplicate_distance",
    "practice_trials",
    "completion_code",
]


# -- pure ------------------------------------------------------------------------------


def max_balanced_pairs(candidates: np.ndarray) -> int:
    """The largest n whose balanced quotas (n // L per level, one more for the first n % L
    levels) fit under ``candidates`` per level."""
    counts = np.asarray(candidates, dtype=np.int64)
    if counts.size == 0:
        return 0
    low = int(counts.min())
    first_at_low = int(np.argmax(counts == low))
    return counts.size * low + first_at_low


def gold_candidate_count(q_matrix: np.ndarray, quantile: float = GOLD_QUANTILE) -> int:
    """How many gold pairs ``sampling.sentinel_candidates`` can choose from for this category."""
    scores = np.asarray(q_matrix, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] < 2:
        return 0
    ranges = scores.max(axis=0) - scores.min(axis=0)
    if np.any(ranges <= 0):
        return 0
    top = np.flatnonzero((scores >= np.quantile(scores, 1.0 - quantile, axis=0)).all(axis=1))
    bottom = np.flatnonzero((scores <= np.quantile(scores, quantile, axis=0)).all(axis=1))
    margin = np.full((top.size, bottom.size), np.inf)
    for m in range(scores.shape[1]):
        np.minimum(margin, (scores[top, m][:, None] - scores[bottom, m][None, :]) / ranges[m], out=margin)
    return int((margin > 0).sum())


# -- from the database ---------------------------------------------------------------------


def feasible_sizes(study: Study) -> dict:
    edges, edge_problems = checks.study_edges(study)
    categories = list(study.categories.order_by("slug")) if study.pk else []
    scorers = list(study.scorers.order_by("name")) if study.pk else []
    cells, gold = [], {}
    for category in categories:
        sketch_ids = np.array(
            Sketch.objects.filter(category=category, split=study.split)
            .order_by("pk")
            .values_list("pk", flat=True),
            dtype=np.int64,
        )
        columns = []
        for scorer in scorers:
            q, missing = planning._scores(scorer, sketch_ids)
            cell = {"category": category.name, "scorer": scorer.name, "n_sketches": int(sketch_ids.size)}
            if missing or sketch_ids.size < 2 or edges is None:
                cell.update(candidates=[], max_balanced_pairs=0, max_natural_pairs=0, missing_scores=missing)
            else:
                candidates = sampling.count_candidates_per_level(q, edges)
                columns.append(q)
                cell.update(
                    candidates=candidates.tolist(),
                    max_balanced_pairs=max_balanced_pairs(candidates),
                    max_natural_pairs=int(sketch_ids.size * (sketch_ids.size - 1) // 2),
                    missing_scores=0,
                )
            cells.append(cell)
        gold[category.name] = (
            gold_candidate_count(np.column_stack(columns)) if columns and len(columns) == len(scorers) else 0
        )
    n_cells = len(cells)
    max_balanced = min((c["max_balanced_pairs"] for c in cells), default=0)
    max_natural = min((c["max_natural_pairs"] for c in cells), default=0)
    regular = study.regular_trials_per_participant
    requested = study.pairs_per_cell
    planned = min(requested, max_natural if study.sampling_mode == SamplingMode.NATURAL else max_balanced)
    curated = GoldPair.objects.filter(study=study, source=GoldPair.Source.CURATED).count() if study.pk else 0
    per_category_gold = min(gold.values(), default=0)
    return {
        "levels": study.n_levels,
        "edge_problems": edge_problems,
        "cells": cells,
        "max_pairs_per_cell": {"balanced": max_balanced, "natural": max_natural},
        "pairs_per_cell": {"requested": requested, "feasible": planned},
        "gold": {
            "automatic_available": gold,
            "max_automatic": per_category_gold * len(gold),
            "curated": curated,
            "needed_per_participant": study.sentinels_per_participant + study.practice_trials,
        },
        "participants": {
            "regular_trials_each": regular,
            "served_each_pair_once": (planned * n_cells) // regular if regular > 0 else 0,
            "served_at_max": (max(max_balanced, max_natural) * n_cells) // regular if regular > 0 else 0,
            "target": study.target_participants,
        },
    }


def propose_fit(study: Study, sizes: dict | None = None) -> tuple[dict, list[str]]:
    """(field values, what changed and why). Values equal the study's where nothing had to move.
    ``sizes``: ``feasible_sizes(study)`` if the caller has it already."""
    sizes = sizes or feasible_sizes(study)
    n_cells = len(sizes["cells"])
    notes: list[str] = []
    values = {name: getattr(study, name) for name in FIT_FIELDS}
    if not n_cells:
        return values, ["choose categories and scorers first"]
    max_b, max_n = sizes["max_pairs_per_cell"]["balanced"], sizes["max_pairs_per_cell"]["natural"]
    min_regular = (
        study.duplicates_per_participant
        + (study.min_duplicate_distance if study.duplicates_per_participant else 0)
        + 1
    )
    needed_cell = math.ceil(
        study.target_participants * max(study.regular_trials_per_participant, 1) / n_cells
    )
    if max_b * n_cells >= min(min_regular, max_n * n_cells) and max_b > 0:
        mode, cap = SamplingMode.BALANCED, max_b
    else:
        mode, cap = SamplingMode.NATURAL, max_n
        notes.append(
            f"balanced levels need more candidate pairs than the data have (at most {max_b} per cell): natural sampling"
        )
    pairs = min(study.pairs_per_cell, cap)
    if pairs != study.pairs_per_cell or mode != study.sampling_mode:
        notes.append(
            f"pairs per cell {study.pairs_per_cell} → {pairs} ({mode}; the data allow {cap}; "
            f"{needed_cell} would serve {study.target_participants} participants once)"
        )
    values.update(sampling_mode=mode, pairs_per_cell=pairs)
    plan_total = pairs * n_cells

    # gold: degradation gold and curated gold need no review; model-suggested (automatic) pairs
    # are candidates a researcher must review before a live launch, so they only fill what the
    # others cannot (and as many as every category can give).
    curated = sizes["gold"]["curated"]
    max_auto = sizes["gold"]["max_automatic"]
    sentinels, practice = study.sentinels_per_participant, study.practice_trials
    reviewed = curated + study.degradation_gold_pairs
    if reviewed >= sentinels:
        auto = 0
        practice_gold = 0  # degradation gold makes its own practice pool when the plan is frozen
    else:
        auto = min(max(study.auto_gold_pairs, sentinels + practice - reviewed), max_auto)
        practice_gold = practice
    if auto + reviewed < sentinels + practice_gold:
        available = auto + reviewed
        practice = min(practice, max(available // 4, 1 if available > 1 else 0))
        sentinels = max(available - practice, 0)
        notes.append(
            f"only {available} gold pairs available: {sentinels} sentinels and {practice} practice trials"
        )
    if auto != study.auto_gold_pairs:
        notes.append(
            f"automatic gold pairs {study.auto_gold_pairs} → {auto} (at most {max_auto} on these data"
            + (
                f"; {study.degradation_gold_pairs} degradation and {curated} curated gold pairs cover the "
                "sentinels, and model-suggested pairs would need a review before a live launch)"
                if auto == 0
                else ")"
            )
        )
    values.update(auto_gold_pairs=auto, sentinels_per_participant=sentinels, practice_trials=practice)

    # the trial list: no more regular trials than the plan holds
    duplicates, distance = study.duplicates_per_participant, study.min_duplicate_distance
    regular = study.trials_per_participant - sentinels - duplicates
    if regular > plan_total or regular < 1:
        regular = max(min(plan_total, max(regular, 1)), 1)
    if duplicates and regular < duplicates + distance:
        distance = max(regular - duplicates, 1)
        if regular < duplicates + distance:
            duplicates = max(regular // 3, 0)
            distance = max(regular - duplicates, 1)
    trials = regular + sentinels + duplicates
    if (trials, duplicates, distance) != (
        study.trials_per_participant,
        study.duplicates_per_participant,
        study.min_duplicate_distance,
    ):
        notes.append(
            f"trials per participant {study.trials_per_participant} → {trials} ({regular} regular, {sentinels} "
            f"sentinels, {duplicates} duplicates at least {distance} apart): the plan holds {plan_total} pairs"
        )
    values.update(
        trials_per_participant=trials, duplicates_per_participant=duplicates, min_duplicate_distance=distance
    )
    if study.panel == Panel.PROLIFIC and not study.completion_code:
        code = "SQ-" + hashlib.sha256(f"{study.slug}:{study.seed}:completed".encode()).hexdigest()[:8].upper()
        values["completion_code"] = code
        notes.append(f"completion code set to {code} (add it on Prolific)")
    return values, notes


def check_proposal(study: Study, values: dict) -> list[str]:
    """The problems a dry run of the plan and the launch checks find with ``values`` (nothing written)."""
    trial = copy.copy(study)
    for name, value in values.items():
        setattr(trial, name, value)
    problems = planning.compute_plan(trial).problems
    return problems + [p for p in checks.run_problems(trial) if p not in problems]


def do_fit_to_data(study: Study) -> tuple[dict, list[str]]:
    """Save the proposal on a draft whose plan is not frozen; refused if it still would not launch."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state != StudyState.DRAFT or locked.plan_frozen_at is not None:
            raise StudyConfigError(
                f"only a draft without a frozen plan can be refitted; {locked.slug!r} is {locked.state}"
            )
        values, notes = propose_fit(locked)
        problems = check_proposal(locked, values)
        if problems:
            raise StudyConfigError(["even the fitted configuration would not launch:"] + problems)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save(update_fields=FIT_FIELDS)
    for name, value in values.items():
        setattr(study, name, value)
    return values, notes
