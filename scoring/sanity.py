"""The scorer sanity report: does q fall when a held-out sketch is made visibly worse? Pure numpy.

For every degradation (family × severity, :mod:`sketches.degradations`) and every
category, on held-out sketches only:

- **share falls**: the share of sketches whose degraded copy gets a lower q than the
  original, with a Wilson score interval (95 %);
- **Spearman(q, severity)**: rank correlation between severity (0 = the original, 1–3)
  and q − q_original, pooled over the category's sketches. Subtracting each sketch's own
  original q keeps the spread between sketches out of it; a scorer that tracks visible
  quality gives a clearly negative value.

Degraded copies are re-normalised to the unit box (:func:`sketches.geometry.normalise`),
as an imported drawing would be, so a truncated sketch is judged as an unfinished
drawing and not as a drawing that leaves the frame half empty. Every draw is seeded
per (seed, sketch index, degradation): the report is reproducible and independent of
the order of the families.

``q_of(strokes_list) -> q array`` is whatever scores a list of normalised sketches
(lists of ``(n, 2)`` arrays); the Django side passes the trained scorer's handler.
The report is an independent test: nothing here ever reaches training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from sketches.degradations import FAMILIES, MODERATE, SEVERITIES, Degradation, degrade

__all__ = ["ALL", "Degradation", "sanity_report", "verdict", "wilson"]
from sketches.geometry import normalise

Strokes = list[np.ndarray]
QFunction = Callable[[Sequence[Strokes]], np.ndarray]

#: Default pass rule: at moderate severity, in every family, q must fall for at least this share
#: of held-out sketches (pooled over categories). 0.5 is a coin flip; the goal is 0.8.
DEFAULT_MIN_SHARE = 0.7
REPORT_VERSION = 1
ALL = "all"


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (``(nan, nan)`` when n = 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def spearman_severity(q_by_severity: np.ndarray) -> float:
    """Spearman(severity, q − q_original) for a ``(n_sketches, 1 + n_severities)`` array whose
    column 0 is the original q. NaN when undefined (fewer than 2 sketches or constant q)."""
    q = np.asarray(q_by_severity, dtype=np.float64)
    if q.ndim != 2 or q.shape[0] < 2:
        return float("nan")
    delta = q - q[:, :1]
    severity = np.broadcast_to(np.arange(q.shape[1], dtype=np.float64), q.shape)
    if np.ptp(delta) == 0:
        return float("nan")
    return float(spearmanr(severity.ravel(), delta.ravel()).statistic)


def degradation_seed(seed: int, index: int, degradation: Degradation) -> np.random.Generator:
    """The generator for one sketch under one degradation (independent of evaluation order)."""
    family = FAMILIES.index(degradation.family)
    return np.random.default_rng([seed, index, family, degradation.severity])


def degraded_copies(
    sketches: Sequence[Strokes], degradation: Degradation, seed: int, offset: int = 0
) -> list[Strokes]:
    """Every sketch degraded (seeded per sketch by ``offset + i``) and re-normalised."""
    return [
        normalise(degrade(strokes, degradation, degradation_seed(seed, offset + i, degradation)))
        for i, strokes in enumerate(sketches)
    ]


@dataclass(frozen=True)
class Row:
    category: str
    family: str
    severity: int
    n: int
    falls: int
    spearman: float  # per (category, family), repeated on each severity's row

    @property
    def share(self) -> float:
        return self.falls / self.n if self.n else float("nan")

    def as_dict(self) -> dict:
        low, high = wilson(self.falls, self.n)
        return {
            "category": self.category,
            "family": self.family,
            "severity": self.severity,
            "n": self.n,
            "falls": self.falls,
            "share": _finite(self.share),
            "low": _finite(low),
            "high": _finite(high),
            "spearman": _finite(self.spearman),
        }


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def sanity_report(
    sketches: Sequence[Strokes],
    labels: Sequence[str],
    q_of: QFunction,
    seed: int = 0,
    min_share: float = DEFAULT_MIN_SHARE,
) -> dict:
    """The report as a JSON-ready dict: ``rows`` per category (and ``all``) × family × severity,
    the moderate-severity ``summary`` per family, and ``passed`` under ``min_share``."""
    if len(sketches) == 0:
        raise ValueError("the sanity report needs at least one held-out sketch")
    if len(labels) != len(sketches):
        raise ValueError(f"need one label per sketch ({len(sketches)}), got {len(labels)}")
    labels_arr = np.asarray(list(labels), dtype=object)
    originals = [normalise(s) for s in sketches]
    q0 = np.asarray(q_of(originals), dtype=np.float64)
    categories = sorted(set(labels_arr.tolist()))
    rows: list[dict] = []
    summary: dict[str, dict] = {}
    for family in FAMILIES:
        q = np.empty((len(sketches), 1 + len(SEVERITIES)))
        q[:, 0] = q0
        for severity in SEVERITIES:
            copies = degraded_copies(sketches, Degradation(family, severity), seed)
            q[:, severity] = np.asarray(q_of(copies), dtype=np.float64)
        for category in [*categories, ALL]:
            members = np.ones(len(sketches), bool) if category == ALL else labels_arr == category
            rho = spearman_severity(q[members])
            for severity in SEVERITIES:
                falls = int((q[members, severity] < q[members, 0]).sum())
                row = Row(category, family, severity, int(members.sum()), falls, rho).as_dict()
                rows.append(row)
                if category == ALL and severity == MODERATE:
                    summary[family] = row
    failing = [f for f, row in summary.items() if row["share"] is None or row["share"] < min_share]
    return {
        "version": REPORT_VERSION,
        "seed": seed,
        "n_sketches": len(sketches),
        "categories": categories,
        "min_share": min_share,
        "moderate_severity": MODERATE,
        "summary": summary,
        "failing_families": failing,
        "passed": not failing,
        "rows": rows,
    }


def verdict(report: dict | None, min_share: float | None = None) -> str | None:
    """Why a report does not pass (a sentence), or None when it passes.

    ``min_share`` re-judges a stored report under a different threshold."""
    if not report or "summary" not in report:
        return "has no sanity report (run manage.py evaluate_scorer)"
    threshold = report.get("min_share", DEFAULT_MIN_SHARE) if min_share is None else min_share
    failing = [
        f"{family} {row['share']:.0%}" if row.get("share") is not None else f"{family} (no data)"
        for family, row in report["summary"].items()
        if row.get("share") is None or row["share"] < threshold
    ]
    if not failing:
        return None
    return (
        f"fails its sanity report: at moderate severity q falls for fewer than {threshold:.0%} of "
        f"held-out sketches in {', '.join(failing)}"
    )
