"""Pure numpy geometry for sketches: normalise, simplify, convert to stroke-5.

A sketch is a list of strokes; a stroke is an ``(n, 2)`` float array of absolute
``(x, y)`` points with y growing downward (the Quick, Draw! convention).
No Django here: the scorer and the importer both call these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Strokes = list[np.ndarray]

#: Decimal places kept when normalised strokes are stored as JSON.
STORED_DECIMALS = 4


def bounding_box(strokes: Sequence[np.ndarray]) -> tuple[float, float, float, float]:
    """Return ``(min_x, min_y, max_x, max_y)`` over every point of every stroke."""
    points = np.concatenate(strokes, axis=0)
    min_x, min_y = points.min(axis=0)
    max_x, max_y = points.max(axis=0)
    return float(min_x), float(min_y), float(max_x), float(max_y)


def normalise(strokes: Sequence[np.ndarray]) -> Strokes:
    """Scale a sketch into the unit square, keeping its aspect ratio.

    The longer side of the bounding box spans [0, 1]; the shorter side is
    centred. A sketch that is a single point lands at (0.5, 0.5).
    """
    min_x, min_y, max_x, max_y = bounding_box(strokes)
    width, height = max_x - min_x, max_y - min_y
    side = max(width, height)
    scale = 1.0 / side if side > 0 else 0.0
    offset = np.array([(1.0 - width * scale) / 2.0, (1.0 - height * scale) / 2.0])
    origin = np.array([min_x, min_y])
    return [(np.asarray(s, dtype=np.float64) - origin) * scale + offset for s in strokes]


def rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Ramer–Douglas–Peucker simplification of one stroke (iterative, no recursion).

    Keeps the first and last points and every point farther than ``epsilon``
    from the chord of the segment it belongs to.
    """
    n = len(points)
    if n < 3 or epsilon <= 0:
        return points.copy()
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        inner = points[start + 1 : end]
        distances = _distance_to_chord(inner, points[start], points[end])
        farthest = int(np.argmax(distances))
        if distances[farthest] > epsilon:
            split = start + 1 + farthest
            keep[split] = True
            stack.append((start, split))
            stack.append((split, end))
    return points[keep]


def _distance_to_chord(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    chord = b - a
    length = float(np.hypot(*chord))
    if length == 0.0:
        return np.hypot(*(points - a).T)
    cross = chord[0] * (points[:, 1] - a[1]) - chord[1] * (points[:, 0] - a[0])
    return np.abs(cross) / length


def simplify(strokes: Sequence[np.ndarray], epsilon: float) -> Strokes:
    """Apply :func:`rdp` to every stroke."""
    return [rdp(np.asarray(s, dtype=np.float64), epsilon) for s in strokes]


def point_count(strokes: Sequence[np.ndarray]) -> int:
    return int(sum(len(s) for s in strokes))


def fit_to_length(strokes: Sequence[np.ndarray], max_points: int) -> Strokes:
    """Simplify with a growing RDP epsilon until at most ``max_points`` remain.

    Expects normalised strokes (unit square). If even a coarse simplification
    is too long, the point sequence is truncated at the end.
    """
    result = [np.asarray(s, dtype=np.float64) for s in strokes]
    epsilon = 0.002
    while point_count(result) > max_points and epsilon < 0.1:
        result = simplify(strokes, epsilon)
        epsilon *= 1.5
    if point_count(result) <= max_points:
        return result
    truncated: Strokes = []
    remaining = max_points
    for stroke in result:
        if remaining <= 0:
            break
        truncated.append(stroke[:remaining])
        remaining -= len(truncated[-1])
    return truncated


def to_stroke5(strokes: Sequence[np.ndarray], max_len: int = 100) -> tuple[np.ndarray, int]:
    """Convert normalised strokes to a padded stroke-5 array, as in sketch-rnn.

    Returns ``(array, length)`` where ``array`` has shape ``(max_len, 7)``:
    columns 0–4 are stroke-5 ``(Δx, Δy, p1, p2, p3)`` and columns 5–6 are the
    absolute normalised ``(x, y)`` of the point (the paper feeds absolute
    coordinates too). ``p1`` = pen stays down after this point, ``p2`` = pen
    lifts after this point (end of stroke), ``p3`` = end of sketch; padding rows
    are ``(0, 0, 0, 0, 1, 0, 0)``. The first Δ is measured from the origin.
    ``length`` is the number of real points (at most ``max_len``).
    """
    fitted = fit_to_length(strokes, max_len)
    points = np.concatenate(fitted, axis=0)
    length = len(points)
    pen_up = np.zeros(length, dtype=bool)
    pen_up[np.cumsum([len(s) for s in fitted]) - 1] = True

    out = np.zeros((max_len, 7), dtype=np.float32)
    out[:length, 0:2] = np.diff(points, axis=0, prepend=np.zeros((1, 2)))
    out[:length, 2] = ~pen_up
    out[:length, 3] = pen_up
    out[length:, 4] = 1.0
    out[:length, 5:7] = points
    return out, length


def strokes_to_json(strokes: Sequence[np.ndarray]) -> list[list[list[float]]]:
    """Store strokes as ``[[x...], [y...]]`` per stroke, rounded for compactness."""
    return [np.round(np.asarray(s, dtype=np.float64), STORED_DECIMALS).T.tolist() for s in strokes]


def strokes_from_json(data: Sequence[Sequence[Sequence[float]]]) -> Strokes:
    """Inverse of :func:`strokes_to_json`."""
    return [np.asarray(stroke, dtype=np.float64).T.reshape(-1, 2) for stroke in data]


def stroke3_to_strokes(stroke3: np.ndarray) -> Strokes:
    """Convert sketch-rnn stroke-3 rows ``(dx, dy, pen_lifted)`` to absolute strokes.

    A new stroke starts after every row whose ``pen_lifted`` is 1.
    """
    array = np.asarray(stroke3, dtype=np.float64)
    points = np.cumsum(array[:, 0:2], axis=0)
    ends = np.flatnonzero(array[:, 2] > 0) + 1
    pieces = np.split(points, ends)
    return [piece for piece in pieces if len(piece)]
