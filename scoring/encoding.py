"""Stored sketches → padded stroke-5 arrays, fast and batched. Pure numpy.

Output is bit-identical to :func:`scoring.dataset.encode_strokes` (which calls
:func:`sketches.geometry.to_stroke5` one sketch at a time), but 20–50× faster:
``to_stroke5`` fits long sketches into ``max_len`` points by re-running
Ramer–Douglas–Peucker with a growing epsilon, thousands of tiny numpy calls per
sketch. RDP always splits a segment at its farthest point, whatever epsilon is,
so one pass over the full split tree gives every point an *importance*: the
smallest split distance on its path to the root. A point survives
``rdp(epsilon)`` exactly when its importance exceeds epsilon. This module builds
that tree level by level for a whole batch of sketches at once (same float
operations as ``geometry._distance_to_chord``, same first-maximum tie-break),
then picks each sketch's epsilon from the same 0.002·1.5^k schedule.

``tests/scoring/test_encoding.py`` checks equality with ``encode_strokes`` on
real sketches. (Suggested upstream: move this into ``sketches/geometry.py``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.dataset import DEFAULT_MAX_LEN, N_FEATURES

#: The epsilon schedule of ``geometry.fit_to_length`` (0.002, ×1.5 while < 0.1),
#: computed by the same repeated multiplication so the floats compare equal.
EPSILONS: tuple[float, ...] = ()
_eps = 0.002
while _eps < 0.1:
    EPSILONS += (_eps,)
    _eps *= 1.5
del _eps

StoredStrokes = Sequence[Sequence[Sequence[float]]]  # [[x...], [y...]] per stroke


def rdp_importance(points: np.ndarray, stroke_starts: np.ndarray, stroke_ends: np.ndarray) -> np.ndarray:
    """Per point, the largest epsilon at which RDP still keeps it (``inf`` for kept-always).

    ``points`` is ``(P, 2)`` float64, every stroke's points back to back;
    ``stroke_starts``/``stroke_ends`` are the inclusive first/last index of each
    stroke. Strokes of fewer than 3 points are kept whole (as ``geometry.rdp``).
    """
    importance = np.full(len(points), np.inf)
    starts = np.asarray(stroke_starts, dtype=np.int64)
    ends = np.asarray(stroke_ends, dtype=np.int64)
    parent = np.full(len(starts), np.inf)
    px, py = points[:, 0], points[:, 1]
    while True:
        active = ends - starts >= 2
        starts, ends, parent = starts[active], ends[active], parent[active]
        if not len(starts):
            return importance
        counts = ends - starts - 1
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        segment = np.repeat(np.arange(len(starts)), counts)
        local = np.arange(int(counts.sum())) - offsets[segment]
        inner = starts[segment] + 1 + local
        ax, ay = px[starts], py[starts]
        cx, cy = px[ends] - ax, py[ends] - ay
        length = np.hypot(cx, cy)
        dx, dy = px[inner] - ax[segment], py[inner] - ay[segment]
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = np.abs(cx[segment] * dy - cy[segment] * dx) / length[segment]
        degenerate = length[segment] == 0.0
        distance[degenerate] = np.hypot(dx[degenerate], dy[degenerate])
        best = np.maximum.reduceat(distance, offsets)
        first = np.where(distance == best[segment], local, np.iinfo(np.int64).max)
        split = starts + 1 + np.minimum.reduceat(first, offsets)
        kept = np.minimum(best, parent)
        importance[split] = kept
        starts, ends, parent = (
            np.concatenate((starts, split)),
            np.concatenate((split, ends)),
            np.concatenate((kept, kept)),
        )


def encode_stored(
    sketches: Sequence[StoredStrokes], max_len: int = DEFAULT_MAX_LEN
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, lengths)`` for sketches stored as ``[[x...], [y...]]`` per stroke.

    Same contract as :func:`scoring.dataset.encode_strokes`: float32
    ``(n, max_len, 7)`` and int64 ``(n,)``; ``ValueError`` names an empty sketch.
    """
    n = len(sketches)
    X = np.zeros((n, max_len, N_FEATURES), dtype=np.float32)
    X[:, :, 4] = 1.0
    lengths = np.zeros(n, dtype=np.int64)
    if n == 0:
        return X, lengths
    per_sketch: list[list[np.ndarray]] = []
    for i, stored in enumerate(sketches):
        strokes = [np.asarray(s, dtype=np.float64).T.reshape(-1, 2) for s in stored]
        strokes = [s for s in strokes if len(s)]
        if not strokes:
            raise ValueError(f"sketch {i} has no points")
        per_sketch.append(strokes)
    sizes = [len(s) for strokes in per_sketch for s in strokes]
    points = np.concatenate([s for strokes in per_sketch for s in strokes])
    stroke_starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    stroke_ends = stroke_starts + np.asarray(sizes) - 1
    importance = rdp_importance(points, stroke_starts, stroke_ends)

    position = 0
    for i, strokes in enumerate(per_sketch):
        total = int(sum(len(s) for s in strokes))
        imp = importance[position : position + total]
        if total > max_len:
            keep = _fit(imp, max_len)
            fitted = _split_kept(strokes, keep)
            if sum(len(s) for s in fitted) > max_len:
                fitted = _truncate(fitted, max_len)
        else:
            fitted = strokes
        X[i], lengths[i] = _stroke5(fitted, max_len)
        position += total
    return X, lengths


def _fit(importance: np.ndarray, max_len: int) -> np.ndarray:
    """Mask of the points ``fit_to_length`` keeps: the first epsilon whose RDP fits."""
    for epsilon in EPSILONS:
        keep = importance > epsilon
        if int(keep.sum()) <= max_len:
            return keep
    return keep


def _split_kept(strokes: list[np.ndarray], keep: np.ndarray) -> list[np.ndarray]:
    out, start = [], 0
    for stroke in strokes:
        out.append(stroke[keep[start : start + len(stroke)]])
        start += len(stroke)
    return out


def _truncate(strokes: list[np.ndarray], max_len: int) -> list[np.ndarray]:
    truncated, remaining = [], max_len
    for stroke in strokes:
        if remaining <= 0:
            break
        truncated.append(stroke[:remaining])
        remaining -= len(truncated[-1])
    return truncated


def _stroke5(fitted: list[np.ndarray], max_len: int) -> tuple[np.ndarray, int]:
    points = np.concatenate(fitted, axis=0)
    length = len(points)
    pen_up = np.zeros(length, dtype=bool)
    pen_up[np.cumsum([len(s) for s in fitted]) - 1] = True
    out = np.zeros((max_len, N_FEATURES), dtype=np.float32)
    out[:length, 0:2] = np.diff(points, axis=0, prepend=np.zeros((1, 2)))
    out[:length, 2] = ~pen_up
    out[:length, 3] = pen_up
    out[length:, 4] = 1.0
    out[:length, 5:7] = points
    return out, length
