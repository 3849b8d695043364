"""Seeded sketch degradations: controlled ways to make a drawing visibly worse.

Pure numpy, no Django. Every function takes normalised strokes (a list of ``(n, 2)``
float arrays, see :mod:`sketches.geometry`) and a ``numpy.random.Generator``, and returns
new strokes in the same format; the input is never modified.

They serve two independent purposes, which is why they live here, upstream of every app:

- the scorer sanity report (``scoring``): does q fall when a held-out sketch is degraded?
- degradation gold (``studies``): a sketch against a heavily degraded copy of itself is a
  sentinel whose answer is known in advance, without asking the scorer under test.

Families, each with three severities (1 = mild, 2 = moderate, 3 = heavy):

========== ============================================================ ==================
family     what it does                                                 parameter by level
========== ============================================================ ==================
truncate   keeps only the first fraction of strokes (unfinished)        0.75, 0.5, 0.25
scribble   adds random scribble strokes inside the bounding box         1, 2, 4 strokes
jitter     moves every point by Gaussian noise (share of the box side)  0.01, 0.03, 0.06
displace   shifts each stroke by a random offset (parts fall apart)     0.08, 0.16, 0.3
========== ============================================================ ==================

Points stay inside the original bounding box for scribble, jitter and displace (they are
clipped to it), so the degraded sketch occupies the same frame and normalises the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Strokes = list[np.ndarray]

SEVERITIES = (1, 2, 3)
MODERATE = 2

#: family -> parameter for severities 1, 2, 3.
PARAMETERS: dict[str, tuple[float, float, float]] = {
    "truncate": (0.75, 0.5, 0.25),
    "scribble": (1, 2, 4),
    "jitter": (0.01, 0.03, 0.06),
    "displace": (0.08, 0.16, 0.3),
}
FAMILIES = tuple(PARAMETERS)

#: Points per scribble stroke, and the step of its random walk as a share of the box side.
SCRIBBLE_POINTS = 12
SCRIBBLE_STEP = 0.18


@dataclass(frozen=True)
class Degradation:
    family: str
    severity: int

    @property
    def parameter(self) -> float:
        return PARAMETERS[self.family][self.severity - 1]

    @property
    def label(self) -> str:
        return f"{self.family}-{self.severity}"


def all_degradations() -> list[Degradation]:
    return [Degradation(family, severity) for family in FAMILIES for severity in SEVERITIES]


def _box(strokes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
    points = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes])
    low, high = points.min(axis=0), points.max(axis=0)
    side = float(max(high - low)) or 1.0
    return low, high, side


def truncate(strokes: Sequence[np.ndarray], keep: float, rng: np.random.Generator) -> Strokes:
    """Keep the first ``keep`` share of the strokes (at least one, and at least one fewer
    than before when the sketch has more than one stroke)."""
    del rng  # deterministic by design; the argument keeps one signature for every family
    n = len(strokes)
    kept = max(1, min(n - 1, int(np.ceil(keep * n)))) if n > 1 else 1
    if n == 1:  # one stroke: keep the first share of its points instead
        stroke = np.asarray(strokes[0], dtype=np.float64)
        return [stroke[: max(2, int(np.ceil(keep * len(stroke))))].copy()]
    return [np.asarray(s, dtype=np.float64).copy() for s in strokes[:kept]]


def scribble(strokes: Sequence[np.ndarray], count: float, rng: np.random.Generator) -> Strokes:
    """Append ``count`` random-walk strokes that stay inside the bounding box."""
    low, high, side = _box(strokes)
    added = []
    for _ in range(int(count)):
        start = rng.uniform(low, high)
        steps = rng.normal(scale=SCRIBBLE_STEP * side, size=(SCRIBBLE_POINTS - 1, 2))
        walk = np.vstack([start, start + np.cumsum(steps, axis=0)])
        added.append(np.clip(walk, low, high))
    return [np.asarray(s, dtype=np.float64).copy() for s in strokes] + added


def jitter(strokes: Sequence[np.ndarray], sigma: float, rng: np.random.Generator) -> Strokes:
    """Move every point by Gaussian noise of ``sigma`` × the box side, clipped to the box."""
    low, high, side = _box(strokes)
    return [
        np.clip(np.asarray(s, dtype=np.float64) + rng.normal(scale=sigma * side, size=np.shape(s)), low, high)
        for s in strokes
    ]


def displace(strokes: Sequence[np.ndarray], distance: float, rng: np.random.Generator) -> Strokes:
    """Shift each stroke as a whole by a random offset of about ``distance`` × the box side."""
    low, high, side = _box(strokes)
    out = []
    for s in strokes:
        angle = rng.uniform(0.0, 2.0 * np.pi)
        offset = distance * side * rng.uniform(0.75, 1.25) * np.array([np.cos(angle), np.sin(angle)])
        out.append(np.clip(np.asarray(s, dtype=np.float64) + offset, low, high))
    return out


_FUNCTIONS: dict[str, Callable[[Sequence[np.ndarray], float, np.random.Generator], Strokes]] = {
    "truncate": truncate,
    "scribble": scribble,
    "jitter": jitter,
    "displace": displace,
}


def degrade(strokes: Sequence[np.ndarray], degradation: Degradation, rng: np.random.Generator) -> Strokes:
    """Apply one family at one severity. Raises ``ValueError`` for an unknown family or severity."""
    if degradation.family not in _FUNCTIONS:
        raise ValueError(
            f"unknown degradation family {degradation.family!r}; choose from {', '.join(FAMILIES)}"
        )
    if degradation.severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {degradation.severity!r}")
    if not strokes:
        raise ValueError("cannot degrade an empty sketch")
    return _FUNCTIONS[degradation.family](strokes, degradation.parameter, rng)
