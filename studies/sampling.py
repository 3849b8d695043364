"""Pair sampling for SketchQ's pairwise studies: pure numpy, no Django.

Conventions (shared with ``studies.trial_lists``):

* ``q`` is the score vector of the study's sketches for ONE (category, scorer).
* The normalised gap of a pair is ``|q_i - q_j| / (max q - min q)``, in [0, 1].
* Levels come from edges ``e_0 = 0 < e_1 < ... < e_L = 1``: level 0 is ``[e_0, e_1]``
  (closed at 0) and level k >= 1 is ``(e_k, e_{k+1}]``, as in the paper's
  ``[0, .1], (.1, .2], ..., (.9, 1]``.
* Pairs are unordered and stored with ``i < j`` (indices into ``q``). Left/right
  placement is not decided here: ``trial_lists.build_trial_list`` draws it per trial.
* Plan rows come in random order, so slicing a plan between participants does not
  slice it by level.
* Balanced quotas are ``n_pairs // L`` per level; the remainder ``n_pairs % L`` adds
  one pair to each of the lowest levels 0, 1, ... (see ``balanced_quotas``).
* All randomness comes from the ``numpy.random.Generator`` passed in: the same seed
  (and numpy version) gives a bit-identical plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
PlanMode = Literal["balanced", "natural"]


class InfeasiblePlan(ValueError):
    """The requested plan cannot be built. The message says what is short and by how much."""


@dataclass(frozen=True, eq=False)
class PairPlan:
    """Planned pairs for one (category, scorer); every array is read-only.

    ``i``, ``j``, ``level`` and ``gap`` have one entry per pair (``i < j``). ``counts``
    and ``requested`` have one entry per level. In natural mode nothing is requested
    per level, so ``requested`` equals ``counts``.
    """

    i: IntArray
    j: IntArray
    level: IntArray
    gap: FloatArray
    counts: IntArray
    requested: IntArray
    mode: PlanMode

    def __len__(self) -> int:
        return int(self.i.size)


def level_edges(n_levels: int) -> FloatArray:
    """Equal-width edges on [0, 1]: ``n_levels + 1`` values, exactly 0.0 first and 1.0 last."""
    if n_levels < 1:
        raise ValueError(f"n_levels must be at least 1, got {n_levels}")
    return np.linspace(0.0, 1.0, n_levels + 1)


def normalised_gaps(q: ArrayLike, i: ArrayLike, j: ArrayLike) -> FloatArray:
    """``|q_i - q_j| / (max q - min q)`` for each pair; the min and max run over all of ``q``."""
    scores = _as_scores(q)
    first, second = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    return np.abs(scores[first] - scores[second]) / _score_range(scores)


def assign_levels(gaps: ArrayLike, edges: ArrayLike) -> IntArray:
    """Level of each gap: 0 for ``[e_0, e_1]``, k for ``(e_k, e_{k+1}]``."""
    checked = _check_edges(edges)
    values = np.asarray(gaps, dtype=np.float64)
    if not np.all((values >= 0.0) & (values <= 1.0)):
        raise ValueError("normalised gaps must lie in [0, 1]")
    return np.maximum(np.searchsorted(checked, values, side="left") - 1, 0).astype(np.int64)


def balanced_quotas(n_pairs: int, n_levels: int) -> IntArray:
    """``n_pairs // n_levels`` per level, plus one for each of the first ``n_pairs % n_levels``."""
    if n_pairs < 0:
        raise ValueError(f"n_pairs must be non-negative, got {n_pairs}")
    quotas = np.full(n_levels, n_pairs // n_levels, dtype=np.int64)
    quotas[: n_pairs % n_levels] += 1
    return quotas


def count_candidates_per_level(q: ArrayLike, edges: ArrayLike) -> IntArray:
    """Exact number of unordered pairs ``i < j`` in each level, in O(n L log n) time."""
    scores = _as_scores(q)
    starts, ends = _partner_ranges(np.sort(scores), _score_range(scores), _check_edges(edges))
    return (ends - starts).sum(axis=0).astype(np.int64)


def plan_pairs(
    q: ArrayLike,
    n_pairs: int,
    edges: ArrayLike,
    mode: PlanMode,
    rng: np.random.Generator,
) -> PairPlan:
    """Draw ``n_pairs`` distinct unordered pairs of sketches, binned by normalised gap.

    ``balanced``: exactly ``balanced_quotas(n_pairs, L)`` pairs per level, uniform among
    the level's candidate pairs; raises ``InfeasiblePlan`` naming every short level.
    ``natural``: ``n_pairs`` pairs uniform among all pairs; the level counts fall out.

    Neither mode enumerates the O(n^2) pairs. Sort ``q``; for the anchor at sorted
    position ``a`` the partners ``b > a`` of one level form a contiguous range (the gap
    grows with ``b``). The level's pairs are numbered anchor by anchor, so drawing
    distinct numbers with ``rng.choice(..., replace=False)`` and mapping them back
    through the cumulative range sizes gives exactly uniform, distinct pairs with no
    rejection loop.
    """
    scores = _as_scores(q)
    checked = _check_edges(edges)
    n_levels = checked.size - 1
    if n_pairs < 0:
        raise ValueError(f"n_pairs must be non-negative, got {n_pairs}")
    if mode == "balanced":
        requested = balanced_quotas(n_pairs, n_levels)
        first, second = _draw_balanced(scores, requested, checked, rng)
    elif mode == "natural":
        first, second = _draw_natural(scores.size, n_pairs, rng)
    else:
        raise ValueError(f"mode must be 'balanced' or 'natural', got {mode!r}")
    order = rng.permutation(first.size)
    i = np.minimum(first, second)[order]
    j = np.maximum(first, second)[order]
    gap = normalised_gaps(scores, i, j)
    level = assign_levels(gap, checked)
    counts = np.bincount(level, minlength=n_levels).astype(np.int64)
    if mode == "natural":
        requested = counts.copy()
    i, j, level, gap, counts, requested = _read_only(i, j, level, gap, counts, requested)
    return PairPlan(i, j, level, gap, counts, requested, mode=mode)


def sentinel_candidates(
    q_matrix: ArrayLike,
    n: int,
    quantile: float = 0.2,
    rng: np.random.Generator | None = None,
) -> tuple[IntArray, IntArray]:
    """``n`` gold pairs ``(better_idx, worse_idx)`` whose answer every scorer agrees on.

    ``q_matrix`` is (n_sketches x n_methods). A candidate pairs a sketch in the top
    ``quantile`` under EVERY method with one in the bottom ``quantile`` under every
    method; its margin is the smallest normalised gap across methods, and it must be
    positive. Pairs are taken greedily by decreasing margin while no sketch is used
    more than ``ceil(n / #top)`` (better side) or ``ceil(n / #bottom)`` (worse side)
    times; the caps grow by one only if they leave fewer than ``n`` pairs. The result
    is ordered by decreasing margin. ``rng`` breaks margin ties (index order if None).
    """
    scores = np.asarray(q_matrix, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError("q_matrix must be 2-D: (n_sketches, n_methods)")
    if not 0.0 < quantile <= 0.5:
        raise ValueError(f"quantile must be in (0, 0.5], got {quantile}")
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    n_methods = scores.shape[1]
    ranges = np.empty(n_methods)
    for m in range(n_methods):
        try:
            ranges[m] = _score_range(_as_scores(scores[:, m]))
        except InfeasiblePlan as error:
            raise InfeasiblePlan(f"sentinels, method column {m}: {error}") from None
    top = np.flatnonzero((scores >= np.quantile(scores, 1.0 - quantile, axis=0)).all(axis=1))
    bottom = np.flatnonzero((scores <= np.quantile(scores, quantile, axis=0)).all(axis=1))
    margin = np.full((top.size, bottom.size), np.inf)
    for m in range(n_methods):
        gaps = (scores[top, m][:, None] - scores[bottom, m][None, :]) / ranges[m]
        np.minimum(margin, gaps, out=margin)
    top_pos, bottom_pos = np.nonzero(margin > 0.0)
    if top_pos.size < n:
        raise InfeasiblePlan(
            f"sentinels: needs {n} pairs, only {top_pos.size} candidate pairs exist "
            f"({top.size} sketches in the top {quantile:g} and {bottom.size} in the bottom "
            f"{quantile:g} under all {n_methods} methods) (short by {n - top_pos.size})"
        )
    ties = rng.random(top_pos.size) if rng is not None else np.arange(top_pos.size)
    ranked = np.lexsort((ties, -margin[top_pos, bottom_pos]))
    top_pos, bottom_pos = top_pos[ranked], bottom_pos[ranked]
    chosen = _spread_greedily(
        top_pos.tolist(),
        bottom_pos.tolist(),
        n,
        math.ceil(n / max(top.size, 1)),
        math.ceil(n / max(bottom.size, 1)),
    )
    return top[top_pos[chosen]].astype(np.int64), bottom[bottom_pos[chosen]].astype(np.int64)


# -- internals ---------------------------------------------------------------------


def _as_scores(q: ArrayLike) -> FloatArray:
    scores = np.asarray(q, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"q must be 1-D, got shape {scores.shape}")
    if scores.size < 2:
        raise InfeasiblePlan(f"needs at least 2 sketches, got {scores.size} (short by {2 - scores.size})")
    if not np.all(np.isfinite(scores)):
        raise ValueError("q contains NaN or infinite scores")
    return scores


def _score_range(scores: FloatArray) -> np.float64:
    spread = scores.max() - scores.min()
    if spread <= 0.0:
        raise InfeasiblePlan(
            f"all {scores.size} scores equal {scores[0]:g}: normalised gaps are undefined (score range is 0)"
        )
    return spread


def _check_edges(edges: ArrayLike) -> FloatArray:
    checked = np.asarray(edges, dtype=np.float64)
    if (
        checked.ndim != 1
        or checked.size < 2
        or checked[0] != 0.0
        or checked[-1] != 1.0
        or not np.all(np.diff(checked) > 0)
    ):
        raise ValueError("edges must be strictly increasing from 0.0 to 1.0, e.g. level_edges(10)")
    return checked


def _interval(edges: FloatArray, level: int | np.integer) -> str:
    opening = "[" if level == 0 else "("
    return f"{opening}{edges[level]:g}, {edges[level + 1]:g}]"


def _partner_ranges(
    sorted_scores: FloatArray, spread: np.float64, edges: FloatArray
) -> tuple[IntArray, IntArray]:
    """(n, L) arrays: anchor ``a``'s partners at level k are sorted positions [start, end).

    ``end[a, k]`` is the first ``b > a`` whose gap exceeds ``e_{k+1}``, found by a
    vectorised bisection that evaluates the very expression ``normalised_gaps`` uses,
    so ties on an edge land in the same level as ``assign_levels`` puts them.
    """
    n = sorted_scores.size
    thresholds = edges[1:][None, :]
    anchor = np.arange(n)[:, None]
    lo = np.broadcast_to(anchor + 1, (n, thresholds.size)).copy()
    hi = np.full_like(lo, n)
    while (active := lo < hi).any():
        mid = (lo + hi) // 2
        gap = (sorted_scores[np.minimum(mid, n - 1)] - sorted_scores[anchor]) / spread
        above = gap > thresholds
        hi = np.where(active & above, mid, hi)
        lo = np.where(active & ~above, mid + 1, lo)
    starts = np.concatenate([anchor + 1, lo[:, :-1]], axis=1)
    return starts, lo


def _draw_balanced(
    scores: FloatArray, quotas: IntArray, edges: FloatArray, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    order = np.argsort(scores, kind="stable")
    starts, ends = _partner_ranges(scores[order], _score_range(scores), edges)
    per_anchor = ends - starts
    available = per_anchor.sum(axis=0)
    short = np.flatnonzero(quotas > available)
    if short.size:
        raise InfeasiblePlan(
            "; ".join(
                f"level {k} {_interval(edges, k)}: needs {quotas[k]} pairs, only "
                f"{available[k]} candidate pairs exist (short by {quotas[k] - available[k]})"
                for k in short
            )
        )
    firsts, seconds = [], []
    for level, quota in enumerate(quotas):
        if quota == 0:
            continue
        numbers = rng.choice(int(available[level]), size=int(quota), replace=False)
        cumulative = np.cumsum(per_anchor[:, level])
        anchor = np.searchsorted(cumulative, numbers, side="right")
        offset = numbers - (cumulative[anchor] - per_anchor[anchor, level])
        firsts.append(order[anchor])
        seconds.append(order[starts[anchor, level] + offset])
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)


def _draw_natural(n_sketches: int, n_pairs: int, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    total = n_sketches * (n_sketches - 1) // 2
    if n_pairs > total:
        raise InfeasiblePlan(
            f"natural mode: needs {n_pairs} distinct pairs, only {total} exist among "
            f"{n_sketches} sketches (short by {n_pairs - total})"
        )
    numbers = rng.choice(total, size=n_pairs, replace=False)
    rows = np.arange(n_sketches, dtype=np.int64)
    row_start = rows * (2 * n_sketches - rows - 1) // 2  # pairs (i, j > i) numbered row by row
    first = np.searchsorted(row_start, numbers, side="right") - 1
    return first, first + 1 + (numbers - row_start[first])


def _spread_greedily(tops: list[int], bottoms: list[int], n: int, top_cap: int, bottom_cap: int) -> IntArray:
    taken = [False] * len(tops)
    top_uses: dict[int, int] = {}
    bottom_uses: dict[int, int] = {}
    chosen: list[int] = []
    while len(chosen) < n:
        for k, (t, b) in enumerate(zip(tops, bottoms)):
            if len(chosen) == n:
                break
            if taken[k] or top_uses.get(t, 0) >= top_cap or bottom_uses.get(b, 0) >= bottom_cap:
                continue
            taken[k] = True
            top_uses[t] = top_uses.get(t, 0) + 1
            bottom_uses[b] = bottom_uses.get(b, 0) + 1
            chosen.append(k)
        top_cap, bottom_cap = top_cap + 1, bottom_cap + 1
    return np.sort(np.array(chosen, dtype=np.int64))


def _read_only(*arrays: np.ndarray) -> list[np.ndarray]:
    for array in arrays:
        array.setflags(write=False)
    return list(arrays)
