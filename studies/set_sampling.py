"""Plans for the trial types beyond pairs: sets of K sketches, and single sketches. Pure numpy.

Conventions follow ``studies.sampling``:

* ``q`` is the score vector of one (category, scorer); a set's level is the level of its
  LARGEST normalised gap ``max |q_i - q_j| / (max q - min q)``, i.e. ``(max - min of the
  set's q) / range``.
* Balanced mode asks ``n // L`` sets per level (remainder to the lowest levels), as pairs do.
  A set of a level is built around a random anchor pair of that level (``_partner_ranges``
  logic: the anchor's two sketches fix the set's max and min), the K − 2 others drawn among
  the sketches whose q lies between them, so the largest gap is the anchor's.
* Natural mode draws K distinct sketches uniformly and bins them after.
* Singles: ``plan_singles`` spreads n sketches evenly over q: ``n_bins`` equal-width bins
  of q, ``n // n_bins`` per bin (remainder to the lowest), drawn without replacement inside
  a bin; a bin with too few sketches gives what it has and the shortfall is reported.

Every array is read-only; all randomness comes from the Generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from studies.sampling import InfeasiblePlan, PlanMode, assign_levels, balanced_quotas

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
MIN_K, MAX_K = 2, 4
MAX_TRIES = 50


@dataclass(frozen=True, eq=False)
class SetPlan:
    """``members[n]`` are the K sketch indices of set n (ascending); ``gap[n]`` its largest
    normalised gap and ``level[n]`` that gap's level. ``counts``/``requested``: per level."""

    members: IntArray
    level: IntArray
    gap: FloatArray
    counts: IntArray
    requested: IntArray
    mode: PlanMode

    def __len__(self) -> int:
        return int(self.members.shape[0])


@dataclass(frozen=True, eq=False)
class SinglePlan:
    """``index[n]``: the sketch index of single trial n; ``bin[n]``: its q bin (0 = lowest)."""

    index: IntArray
    bin: IntArray
    counts: IntArray
    requested: IntArray

    def __len__(self) -> int:
        return int(self.index.size)


def largest_gaps(q: ArrayLike, members: ArrayLike) -> FloatArray:
    """The largest normalised gap of each set (rows of ``members``)."""
    scores = np.asarray(q, dtype=np.float64)
    span = float(scores.max() - scores.min())
    if not np.isfinite(span) or span <= 0:
        raise InfeasiblePlan("all sketches have the same score: no gap to spread sets over")
    sets = scores[np.asarray(members, dtype=np.int64)]
    return np.clip((sets.max(axis=1) - sets.min(axis=1)) / span, 0.0, 1.0)


def plan_sets(
    q: ArrayLike, n_sets: int, k: int, edges: ArrayLike, mode: PlanMode, rng: np.random.Generator
) -> SetPlan:
    """Draw ``n_sets`` sets of ``k`` distinct sketches, spread over levels of the largest gap."""
    scores = np.asarray(q, dtype=np.float64)
    if not MIN_K <= k <= MAX_K:
        raise ValueError(f"K must be between {MIN_K} and {MAX_K}, got {k}")
    if scores.size < k:
        raise InfeasiblePlan(
            f"{scores.size} sketches, a set of {k} needs at least {k} (short by {k - scores.size})"
        )
    if n_sets < 0:
        raise ValueError("n_sets must be non-negative")
    edges_arr = np.asarray(edges, dtype=np.float64)
    n_levels = edges_arr.size - 1
    if mode == "natural":
        members = np.sort(
            np.stack([rng.choice(scores.size, k, replace=False) for _ in range(n_sets)]), axis=1
        )
        members = members.reshape(n_sets, k).astype(np.int64)
        gaps = largest_gaps(scores, members) if n_sets else np.empty(0)
        levels = assign_levels(gaps, edges_arr)
        counts = np.bincount(levels, minlength=n_levels).astype(np.int64)
        return _set_plan(members, levels, gaps, counts, counts, mode, rng)
    requested = balanced_quotas(n_sets, n_levels)
    order = np.argsort(scores, kind="stable")
    sorted_q = scores[order]
    span = float(sorted_q[-1] - sorted_q[0])
    if span <= 0:
        raise InfeasiblePlan("all sketches have the same score: no gap to spread sets over")
    rows, problems = [], []
    for level, quota in enumerate(requested):
        got = _draw_level(sorted_q, order, span, edges_arr, level, int(quota), k, rng)
        if len(got) < quota:
            lo, hi = edges_arr[level], edges_arr[level + 1]
            problems.append(
                f"level ({lo:g}, {hi:g}]: {len(got)} of {quota} distinct sets (short by {quota - len(got)})"
            )
        rows += got
    if problems:
        raise InfeasiblePlan("; ".join(problems))
    members = np.array(rows, dtype=np.int64).reshape(-1, k)
    gaps = largest_gaps(scores, members) if len(rows) else np.empty(0)
    levels = assign_levels(gaps, edges_arr)
    counts = np.bincount(levels, minlength=n_levels).astype(np.int64)
    return _set_plan(members, levels, gaps, counts, requested.astype(np.int64), mode, rng)


def plan_singles(q: ArrayLike, n: int, n_bins: int, rng: np.random.Generator) -> SinglePlan:
    """``n`` distinct sketches spread evenly over ``n_bins`` equal-width bins of q."""
    scores = np.asarray(q, dtype=np.float64)
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    if n > scores.size:
        raise InfeasiblePlan(
            f"{n} single trials need {n} distinct sketches, there are {scores.size} (short by {n - scores.size})"
        )
    lo, hi = float(scores.min()), float(scores.max())
    span = hi - lo if hi > lo else 1.0
    bins = np.minimum(((scores - lo) / span * n_bins).astype(np.int64), n_bins - 1)
    requested = balanced_quotas(n, n_bins)
    picked: list[int] = []
    left_over: list[int] = []
    for b, quota in enumerate(requested):
        members = rng.permutation(np.flatnonzero(bins == b))
        picked += members[:quota].tolist()
        left_over += members[quota:].tolist()
    if len(picked) < n:  # sparse bins: fill from the rest, still without replacement
        extra = rng.permutation(np.array(left_over, dtype=np.int64))[: n - len(picked)]
        picked += extra.tolist()
    index = rng.permutation(np.array(picked, dtype=np.int64))
    chosen_bins = bins[index]
    counts = np.bincount(chosen_bins, minlength=n_bins).astype(np.int64)
    arrays = [index, chosen_bins, counts, requested.astype(np.int64)]
    for array in arrays:
        array.setflags(write=False)
    return SinglePlan(*arrays)


def _draw_level(sorted_q, order, span, edges, level, quota, k, rng) -> list[list[int]]:
    """Up to ``quota`` distinct sets whose largest gap lies in ``level``."""
    lo, hi = edges[level], edges[level + 1]
    n = sorted_q.size
    gap_of = lambda a, b: (sorted_q[b] - sorted_q[a]) / span  # noqa: E731 - a, b sorted positions
    # For each low end a, the partner range of b (> a) whose gap falls in the level.
    low = np.searchsorted(sorted_q, sorted_q + lo * span, side="right" if level > 0 else "left")
    high = np.searchsorted(sorted_q, sorted_q + hi * span, side="right")
    low = np.maximum(low, np.arange(n) + k - 1)  # room for k - 2 sketches strictly inside (by position)
    width = np.maximum(high - low, 0)
    total = int(width.sum())
    seen: set[tuple[int, ...]] = set()
    rows: list[list[int]] = []
    if total == 0:
        return rows
    cumulative = np.cumsum(width)
    tries = 0
    while len(rows) < quota and tries < quota * MAX_TRIES + 100:
        tries += 1
        pick = int(rng.integers(total))
        a = int(np.searchsorted(cumulative, pick, side="right"))
        b = int(low[a] + pick - (cumulative[a] - width[a]))
        if int(assign_levels([min(1.0, gap_of(a, b))], edges)[0]) != level:
            continue  # rounding at an edge
        inside = rng.choice(np.arange(a + 1, b), k - 2, replace=False) if k > 2 else np.empty(0, np.int64)
        members = tuple(sorted(int(order[p]) for p in (a, b, *inside.tolist())))
        if members in seen:
            continue
        seen.add(members)
        rows.append(list(members))
    return rows


def _set_plan(members, levels, gaps, counts, requested, mode, rng) -> SetPlan:
    shuffle = rng.permutation(members.shape[0])
    arrays = [members[shuffle], levels[shuffle], gaps[shuffle], counts, requested]
    for array in arrays:
        array.setflags(write=False)
    members_, levels_, gaps_, counts_, requested_ = arrays
    return SetPlan(members_, levels_, gaps_, counts_, requested_, mode)
