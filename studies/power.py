"""Power and budget planner for a study's agreement analysis (pure numpy, no Django).

**Analytic**, with stated assumptions (every one is an input and is echoed in the output):

- *Where the answers go.* Each participant answers ``regular_trials`` regular trials drawn
  from the pair plan, so a method × category × level cell receives
  n = participants · analysed_share · regular_trials · (its planned pairs / all planned pairs)
  answers on average. Sentinels, duplicates and practice are not analysed and are not counted.
- *What agreement to expect.* The 2AFC Weibull curve p(g) = 1 − ½·exp(−(g/λ)^k) of
  ``analysis.psychometric`` (defaults λ = 0.3, k = 1.5: 75% at g ≈ 0.23), averaged over
  the gaps of the level (uniform within its edges).
- *How much workers differ.* A design effect 1 + (m − 1)·ICC for the m answers one worker
  gives in a cell (ICC = 0 by default: workers answer alike given the pair).

Then the expected width of a cell's 95% Wilson interval (the one the report gives per cell) is
the Wilson width averaged over the binomial distribution of agreeing answers among n / deff;
this is exact at the ceiling too (near-unanimous levels). The width of the difference between
two methods' overall agreement is
2·1.96·√(var_a + var_b) (different pairs, so the variances add; sharing workers would only
narrow it), computed for the interval the report gives: its bootstrap resamples workers and
pairs, which counts the binomial noise once per factor (2·p(1−p)/n: the two-way bootstrap is
conservative) and adds the spread of p over the planned pairs divided by the pairs answered
(another study would draw other pairs). Cell widths scale as 1/√n, so the participants (or trials per participant) needed
for every cell to reach a target width w* are ⌈participants·(w/w*)²⌉; for a difference,
the smallest number with a predicted width ≤ w* is searched (None when the pairs' own
spread alone is wider than w*: the plan needs more pairs, ``floor_from_pairs``). ``tests/studies/test_power.py`` checks these
predictions against the widths of simulated studies analysed with the report's own
bootstrap.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

__all__ = ["DEFAULTS", "expected_agreement", "parse_assumptions", "plan_power"]

Z = 1.96
DEFAULTS = {"scale": 0.3, "shape": 1.5, "icc": 0.0, "analysed_share": 1.0, "target_width": 0.10}


def expected_agreement(edges, scale: float, shape: float) -> np.ndarray:
    """Mean of the 2AFC Weibull over uniform gaps within each level."""
    edges = np.asarray(edges, np.float64)
    out = np.empty(edges.size - 1)
    for i in range(edges.size - 1):
        g = np.linspace(edges[i], edges[i + 1], 201)
        out[i] = np.mean(1.0 - 0.5 * np.exp(-((g / scale) ** shape)))
    return out


def _curve_moment(edges, scale: float, shape: float, power: int) -> np.ndarray:
    """Mean of p(g)**power over uniform gaps within each level."""
    out = np.empty(len(edges) - 1)
    for i in range(len(edges) - 1):
        g = np.linspace(edges[i], edges[i + 1], 201)
        out[i] = np.mean((1.0 - 0.5 * np.exp(-((g / scale) ** shape))) ** power)
    return out


def _wilson_width(k: np.ndarray, n: int) -> np.ndarray:
    p = k / n
    denom = 1 + Z * Z / n
    return 2 * Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denom


def _width(p, n, deff) -> np.ndarray:
    """Expected width of the 95% Wilson interval (what the report gives per cell): the Wilson
    width averaged over the binomial distribution of the agreeing answers, with the effective
    number of answers n / deff."""
    p, n = np.broadcast_arrays(np.asarray(p, float), np.asarray(n, float) / np.asarray(deff, float))
    out = np.full(p.shape, np.nan)
    for idx in np.ndindex(p.shape):
        m = int(round(n[idx]))
        if m < 1:
            continue
        k = np.arange(m + 1)
        pmf = scipy.stats.binom.pmf(k, m, p[idx])
        out[idx] = float(pmf @ _wilson_width(k, m))
    return out


def _smallest(width_of, target: float, limit: int = 10**7) -> int | None:
    """Smallest integer x with width_of(x) ≤ target (width decreases in x); None if never."""
    if width_of(limit) > target:
        return None
    lo, hi = 1, 1
    while width_of(hi) > target:
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if width_of(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return hi


def _needed(current: float, width: float, target: float) -> int | None:
    if not (np.isfinite(width) and width > 0 and target > 0):
        return None
    return int(math.ceil(current * (width / target) ** 2))


def plan_power(
    counts: dict[tuple[str, str], list[int]],
    edges,
    *,
    participants: int,
    regular_trials: int,
    scale: float = DEFAULTS["scale"],
    shape: float = DEFAULTS["shape"],
    icc: float = DEFAULTS["icc"],
    analysed_share: float = DEFAULTS["analysed_share"],
    target_width: float = DEFAULTS["target_width"],
    reference: str | None = None,
) -> dict:
    """Expected interval widths for a plan: ``counts[(method, category)]`` = planned pairs per level."""
    problems = []
    if participants < 1 or regular_trials < 1:
        problems.append("needs at least one participant and one regular trial per participant")
    if not (scale > 0 and shape > 0):
        problems.append("the assumed curve needs λ > 0 and k > 0")
    if not 0 <= icc < 1:
        problems.append("the ICC must be in [0, 1)")
    if not 0 < analysed_share <= 1:
        problems.append("the analysed share must be in (0, 1]")
    if not 0 < target_width < 1:
        problems.append("the target width must be in (0, 1)")
    total_pairs = sum(sum(c) for c in counts.values())
    if not total_pairs:
        problems.append("the plan has no pairs yet")
    assumptions = {"participants": participants, "regular_trials": regular_trials, "scale": scale, "shape": shape,
                   "icc": icc, "analysed_share": analysed_share, "target_width": target_width}  # fmt: skip
    if problems:
        return {"method": "analytic", "assumptions": assumptions, "problems": problems}
    edges = np.asarray(edges, float)
    p = expected_agreement(edges, scale, shape)
    answers = participants * analysed_share * regular_trials
    n_levels = edges.size - 1
    per_method: dict[str, np.ndarray] = {}
    cells = []
    for (method, category), levels in counts.items():
        n = answers * np.asarray(levels, float) / total_pairs
        per_method[method] = per_method.get(method, np.zeros(n_levels)) + n
        m_per_worker = n / participants  # answers one worker gives in this cell
        w = _width(p, n, 1 + np.maximum(m_per_worker - 1, 0) * icc)
        cells.append({"method": method, "category": category, "expected_answers": n.round(1).tolist(),
                      "expected_width": [None if not np.isfinite(x) else round(float(x), 4) for x in w]})  # fmt: skip
    levels = []
    for lv in range(n_levels):
        ws = [c["expected_width"][lv] for c in cells if c["expected_width"][lv] is not None]
        ns = [c["expected_answers"][lv] for c in cells]
        levels.append({"level": lv, "expected_agreement": round(float(p[lv]), 4),
                       "answers_per_cell": round(float(np.mean(ns)), 1),
                       "cell_width": round(float(np.median(ws)), 4) if ws else None,
                       "widest_cell_width": round(float(np.max(ws)), 4) if ws else None})  # fmt: skip
    methods = sorted(per_method)
    ref = reference if reference in per_method else (methods[0] if methods else None)
    differences = []
    p_sq = _curve_moment(edges, scale, shape, 2)

    def overall_var(method: str, n_participants: float, n_trials: float) -> float:
        pairs = np.sum([counts[key] for key in counts if key[0] == method], axis=0).astype(float)
        total = n_participants * analysed_share * n_trials * pairs.sum() / total_pairs
        if total <= 0:
            return float("nan")
        deff = 1 + max(total / n_participants - 1, 0) * icc
        share = pairs / pairs.sum()
        pooled = float(share @ p)
        between_pairs = float(share @ p_sq) - pooled**2  # spread of p over the plan's pairs
        answered_pairs = pairs.sum() * (1 - math.exp(-total / pairs.sum()))
        # the report's worker × pair bootstrap counts answer noise once per factor, and the
        # pairs' own spread once (a replicated study would draw other pairs)
        return 2 * pooled * (1 - pooled) * deff / total + between_pairs / answered_pairs

    def diff_width(a: str, b: str, n_participants: float, n_trials: float) -> float:
        return (
            2
            * Z
            * math.sqrt(overall_var(a, n_participants, n_trials) + overall_var(b, n_participants, n_trials))
        )

    for method in methods:
        if method == ref:
            continue
        width = diff_width(ref, method, participants, regular_trials)
        differences.append({
            "method": ref, "versus": method, "expected_width": round(width, 4),
            "participants_for_target": _smallest(lambda x, m=method: diff_width(ref, m, x, regular_trials), target_width),
            "trials_for_target": _smallest(lambda x, m=method: diff_width(ref, m, participants, x), target_width),
            "floor_from_pairs": round(diff_width(ref, method, 1e12, regular_trials), 4),
        })  # fmt: skip
    widest = max((lv["widest_cell_width"] or 0.0) for lv in levels)
    return {
        "method": "analytic: expected Wilson width per cell, Wald width of differences, × design effect "
        "(studies/power.py)",
        "assumptions": assumptions,
        "problems": [],
        "levels": levels,
        "cells": cells,
        "differences": differences,
        "for_target": {
            "target_width": target_width,
            "participants_every_cell": _needed(participants, widest, target_width),
            "regular_trials_every_cell": _needed(regular_trials, widest, target_width),
            "participants_differences": max(
                (d["participants_for_target"] or 0 for d in differences), default=None
            ),
        },
    }


ASSUMPTION_TYPES = {
    "participants": int, "regular_trials": int, "scale": float, "shape": float, "icc": float,
    "analysed_share": float, "target_width": float,
}  # fmt: skip


def parse_assumptions(params) -> tuple[dict, list[str]]:
    """Assumptions from query parameters (strings); unknown keys are ignored, bad values reported."""
    out, errors = {}, []
    for key, kind in ASSUMPTION_TYPES.items():
        raw = params.get(key)
        if raw in (None, ""):
            continue
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            errors.append(f"{key} must be {'a whole number' if kind is int else 'a number'}, got {raw!r}")
            continue
        if not math.isfinite(value):
            errors.append(f"{key} must be finite")
            continue
        out[key] = value
    return out, errors
