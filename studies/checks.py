"""Configuration checks: every reason a study cannot be planned or launched, in words.

Each function returns a list of messages (empty: fine). The actions raise
``StudyConfigError`` with them; the admin shows them before anything is written.
"""

from __future__ import annotations

import numpy as np

from scoring.evaluation import problem_of
from studies.models import (
    MAX_OPTIONS,
    MIN_OPTIONS,
    Panel,
    PlannedPair,
    SamplingMode,
    Study,
    StudyState,
    TrialType,
)
from studies.sampling import level_edges


def study_edges(study: Study) -> tuple[np.ndarray | None, list[str]]:
    """The study's level edges (equal widths unless set), or the reason they are unusable."""
    if not study.level_edges:
        if study.n_levels < 1:
            return None, [f"n_levels must be at least 1, got {study.n_levels}"]
        return level_edges(study.n_levels), []
    edges = study.level_edges
    if not isinstance(edges, list) or not all(
        isinstance(e, int | float) and not isinstance(e, bool) for e in edges
    ):
        return None, ["level edges must be a list of numbers, e.g. [0, 0.1, 0.2, ..., 1]"]
    problems = []
    if len(edges) != study.n_levels + 1:
        problems.append(
            f"level edges: {study.n_levels} levels need {study.n_levels + 1} edges, got {len(edges)}"
        )
    if not edges or edges[0] != 0 or edges[-1] != 1:
        problems.append("level edges must start at 0 and end at 1")
    if any(b <= a for a, b in zip(edges, edges[1:])):
        problems.append("level edges must be strictly increasing")
    return (None if problems else np.asarray(edges, dtype=np.float64)), problems


def trial_type_problems(study: Study) -> list[str]:
    """Is the trial type's configuration coherent? (Messages name the admin's labels.)"""
    problems = []
    if study.trial_type not in TrialType.values:
        problems.append(f"trial type must be one of {', '.join(TrialType.values)}, got {study.trial_type!r}")
    elif study.trial_type == TrialType.BEST_OF_K and not (
        MIN_OPTIONS <= (study.options_per_trial or 0) <= MAX_OPTIONS
    ):
        problems.append(
            f"best of K shows {MIN_OPTIONS} to {MAX_OPTIONS} sketches per trial, got K = {study.options_per_trial}"
        )
    elif study.trial_type == TrialType.SINGLE and study.allow_no_difference:
        problems.append(
            'a single-sketch trial is answered yes or no: turn off "no difference" (the abstain option '
            "is for pairs and best of K)"
        )
    if study.trial_type != TrialType.PAIR and study.sampling_mode == SamplingMode.ADAPTIVE:
        problems.append(
            "adaptive sampling chooses pairs: use balanced or natural sampling for this trial type"
        )
    return problems


def trial_list_problems(study: Study) -> list[str]:
    """Can a participant's list hold its sentinels, duplicates and their distance?"""
    problems = []
    total, n_sent, n_dup = (
        study.trials_per_participant,
        study.sentinels_per_participant,
        study.duplicates_per_participant,
    )
    regular = study.regular_trials_per_participant
    if regular < 1:
        problems.append(
            f"trials per participant ({total}) must exceed sentinels ({n_sent}) + duplicates ({n_dup}) "
            f"to leave any regular trial (short by {1 - regular})"
        )
    elif n_dup:
        if study.min_duplicate_distance < 1:
            problems.append("the minimum distance between a trial and its duplicate must be at least 1")
        needed = n_dup + study.min_duplicate_distance
        if regular < needed:
            problems.append(
                f"trials per participant too small: {n_dup} duplicates at least {study.min_duplicate_distance} "
                f"trials after their originals need {needed} regular trials, but {total} trials − {n_sent} "
                f"sentinels − {n_dup} duplicates leave {regular} (short by {needed - regular}; "
                f"trials per participant ≥ {n_sent + n_dup + needed})"
            )
    return problems


def config_problems(study: Study) -> list[str]:
    """What is wrong with the configuration itself, before any plan is drawn."""
    problems = []
    if study.pk is None:
        return ["save the study first"]
    n_categories, n_scorers = study.categories.count(), study.scorers.count()
    if not n_categories:
        problems.append("choose at least one category")
    if not n_scorers:
        problems.append("choose at least one scorer (method)")
    problems += study_edges(study)[1]
    problems += trial_type_problems(study)
    problems += trial_list_problems(study)
    planned = study.pairs_per_cell * n_categories * n_scorers
    regular = study.regular_trials_per_participant
    if n_categories and n_scorers and 0 < regular and planned < regular:
        problems.append(
            f"the plan ({study.pairs_per_cell} pairs × {n_categories} categories × {n_scorers} methods = "
            f"{planned}) is smaller than one participant's {regular} regular trials (short by {regular - planned})"
        )
    return problems


def gold_problems(study: Study, n_sentinel: int, n_practice: int) -> list[str]:
    """Dry run: will the pools hold enough gold once the plan is frozen?"""
    from studies.gold import practice_needed

    problems = []
    if n_sentinel < study.sentinels_per_participant:
        need = study.sentinels_per_participant
        problems.append(
            f"too few gold pairs for the sentinels: each participant needs {need}, the study would have "
            f"{n_sentinel} (short by {need - n_sentinel}); add curated gold pairs or raise the degradation "
            "or automatic gold pairs"
        )
    need = practice_needed(study)
    if n_practice < need:
        problems.append(
            f"too few practice gold pairs: {study.practice_trials} practice trials and the instructions' "
            f"example need {need}, the study would have {n_practice} (short by {need - n_practice})"
        )
    return problems


def plan_size_problems(study: Study) -> list[str]:
    """Does the frozen plan hold enough distinct pairs for one participant's regular trials?"""
    n_pairs = PlannedPair.objects.filter(study=study).count()
    need = study.regular_trials_per_participant
    if n_pairs >= need:
        return []
    return [f"the frozen plan has {n_pairs} pairs, each participant needs {need} (short by {need - n_pairs})"]


def set_gold_problems(study: Study, live: bool) -> list[str]:
    """Best of K: a sentinel shows its gold pair plus K − 2 worse sketches of other gold pairs."""
    from studies.models import GoldPair, TrialType

    if study.trial_type != TrialType.BEST_OF_K or study.options_per_trial <= 2:
        return []
    pool = GoldPair.objects.filter(study=study).sentinel_pool(live=live)
    worse = pool.values("worse").distinct().count()
    need = study.options_per_trial - 1  # its own worse sketch and K − 2 others
    if worse < need:
        return [
            f"best of {study.options_per_trial} needs at least {need} distinct worse sketches in the sentinel "
            f"gold pool (each sentinel adds {need - 1} from other gold pairs), it has {worse}"
        ]
    return []


def launch_problems(study: Study, live: bool = True) -> list[str]:
    """Everything that must hold before participants may enter (the plan is frozen by then).

    ``live=False`` (a pilot) lets unreviewed model-suggested gold through, with a warning."""
    from studies.gold import gold_problems as pool_problems

    problems = config_problems(study)
    if study.plan_frozen_at is None:
        problems.append("the pair plan is not frozen")
    else:
        problems += plan_size_problems(study)
        problems += pool_problems(study, live=live)
        problems += set_gold_problems(study, live=live)
        frozen = {s["id"]: s["checkpoint_sha256"] for s in study.plan_summary.get("scorers", [])}
        for scorer in study.scorers.all():
            if frozen.get(scorer.pk) not in (None, scorer.checkpoint_sha256):
                problems.append(f"scorer {scorer.name}'s checkpoint changed since the plan was frozen")
    return problems + run_problems(study)


def run_problems(study: Study) -> list[str]:
    """Panel, completion and qualification: what participants need, independent of the plan."""
    problems = []
    if study.target_participants < 1:
        problems.append("target participants must be at least 1")
    if study.panel == Panel.PROLIFIC and not study.completion_code:
        problems.append("a Prolific study needs its completion code")
    if study.panel == Panel.GENERIC and not (study.completion_code or study.completion_url):
        problems.append("set a completion code or a completion URL so participants can prove they finished")
    if study.panel == Panel.PROLIFIC and study.require_signed_entry:
        problems.append(
            "Prolific cannot sign entry links: require signed entry is for generic panels "
            "(set the Prolific study id instead)"
        )
    qualification = study.qualification_study
    if qualification is not None:
        if qualification.pk == study.pk:
            problems.append("a study cannot be its own qualification study")
        elif qualification.state == StudyState.DRAFT:
            problems.append(f"the qualification study {qualification.slug!r} has not run yet (it is a draft)")
    return problems


def scorer_sanity_problems(study: Study) -> list[str]:
    """One sentence per scorer the study compares whose sanity report is missing or failing."""

    return [p for p in (problem_of(s) for s in study.scorers.order_by("name")) if p]
