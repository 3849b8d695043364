"""Agreement curves and method differences of a study, from a ``results.Frame``.

All categories of a method are pooled: one psychometric curve per method against the
normalised gap of each pair (``analysis.psychometric``), and the reference method (the first
GACL scorer with soft binning) minus every other method, overall and per level, with
intervals from a bootstrap over workers and pairs. Levels with fewer than
``THIN_LEVEL_ANSWERS`` answers are flagged in every row, with their count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import psychometric as ps
from analysis.results import THIN_LEVEL_ANSWERS, Frame, _codes, _f

CURVE_BOOT = 200  # two-way (workers × pairs) bootstrap replicates


@dataclass
class Curves:
    by_method: list[dict]  # one row per method: fit, g75 and interval, pooled rate
    by_level: list[dict]  # per method × level: rate, interval, n, flag
    differences: list[dict]  # reference − other, "all levels" then per level, with flag
    figure: dict  # {method name: …} for figures.psychometric_figure
    reference: str | None
    n_boot: int


def reference_method(scorers) -> int | None:
    preferred = [i for i, s in enumerate(scorers) if s.variant != "softmax" and s.soft_binning]
    return preferred[0] if preferred else (0 if scorers else None)


def curves(
    frame: Frame, *, n_boot: int = CURVE_BOOT, seed=None, min_answers: int = THIN_LEVEL_ANSWERS
) -> Curves:
    a = frame.answers.take(frame.analysed)
    a = a.take((a.choice != "none") & (a.q_a != a.q_b) & np.isfinite(a.gap))
    names = [s.name for s in frame.scorers]
    n_levels = len(frame.levels)
    method = _codes(a.scorer, [s.pk for s in frame.scorers]) if len(a) else np.zeros(0, np.int64)
    chose_a = a.chosen == a.sketch_a
    agree = chose_a == (a.q_a > a.q_b)
    ref = reference_method(frame.scorers)
    result = ps.analyse(
        gap=np.clip(a.gap, 0.0, 1.0), agree=agree, level=a.level, method=method, worker=a.participant_id,
        pair=a.planned_pair, n_methods=len(names), n_levels=n_levels, n_boot=n_boot,
        rng=np.random.default_rng(seed), reference=ref,
    )  # fmt: skip
    by_method, by_level, figure = [], [], {}
    mid = (np.asarray(_edges(frame))[:-1] + np.asarray(_edges(frame))[1:]) / 2
    grid = np.linspace(0.0, 1.0, 101)
    for x, c in result.curves.items():
        flags = ps.level_flags(c.n_per_level, min_answers)
        by_method.append({
            "method": names[x], "n": c.n, "rate": _f(c.rate), "rate_lo": _f(c.rate_lo), "rate_hi": _f(c.rate_hi),
            "scale": _f(c.fit.scale), "shape": _f(c.fit.shape), "g75": _f(c.fit.g75) if c.g75_reached else None,
            "g75_lo": _f(c.g75_lo), "g75_hi": _f(c.g75_hi), "g75_reached": c.g75_reached,
            "max_gap": _f(c.max_gap), "thin_levels": sum(1 for f in flags if f),
            "note": "" if c.g75_reached else "75% not reached within the observed gaps",
        })  # fmt: skip
        for lv in range(n_levels):
            by_level.append({
                "method": names[x], "level": frame.levels[lv], "level_index": lv, "n": int(c.n_per_level[lv]),
                "rate": _f(c.rate_per_level[lv]), "lo": _f(c.lo_per_level[lv]), "hi": _f(c.hi_per_level[lv]),
                "flag": flags[lv],
            })  # fmt: skip
        figure[names[x]] = {
            "x": mid, "rate": c.rate_per_level, "n": c.n_per_level, "flag": flags,
            "curve": (grid, c.fit.predict(grid) if np.isfinite(c.fit.scale) else np.full(grid.size, np.nan)),
            "g75": c.fit.g75 if c.g75_reached else np.nan, "g75_lo": c.g75_lo, "g75_hi": c.g75_hi,
        }  # fmt: skip
    differences = []
    for d in result.differences:
        base = {"method": names[d.method_a], "versus": names[d.method_b]}
        differences.append(base | {
            "level": "all levels", "n_method": int(d.n_a_per_level.sum()), "n_versus": int(d.n_b_per_level.sum()),
            "difference": _f(d.diff), "lo": _f(d.lo), "hi": _f(d.hi), "g75_difference": _f(d.g75_diff),
            "g75_lo": _f(d.g75_lo), "g75_hi": _f(d.g75_hi), "flag": "",
            "verdict": _verdict(d.lo, d.hi, names[d.method_a], names[d.method_b]),
        })  # fmt: skip
        flags = ps.level_flags(np.minimum(d.n_a_per_level, d.n_b_per_level), min_answers)
        for lv in range(n_levels):
            differences.append(base | {
                "level": frame.levels[lv], "n_method": int(d.n_a_per_level[lv]), "n_versus": int(d.n_b_per_level[lv]),
                "difference": _f(d.diff_per_level[lv]), "lo": _f(d.lo_per_level[lv]), "hi": _f(d.hi_per_level[lv]),
                "flag": flags[lv], "verdict": _verdict(d.lo_per_level[lv], d.hi_per_level[lv], names[d.method_a],
                                                       names[d.method_b]),
            })  # fmt: skip
    return Curves(
        by_method, by_level, differences, figure, names[ref] if ref is not None else None, result.n_boot
    )


def _verdict(lo, hi, a: str, b: str) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no interval"
    if lo > 0:
        return f"{a} agrees more (95% CI above 0)"
    if hi < 0:
        return f"{b} agrees more (95% CI below 0)"
    return "no clear difference (95% CI includes 0)"


def _edges(frame: Frame) -> list[float]:
    edges = frame.study.level_edges if frame.study is not None else None
    n = len(frame.levels)
    if edges and len(edges) == n + 1:
        return [float(e) for e in edges]
    return [i / n for i in range(n + 1)]
