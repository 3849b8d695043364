"""Adaptive allocation maths: pure numpy, no Django. Arrays in, choices out.

A study with ``sampling_mode = adaptive`` hands out pairs of its frozen (balanced) plan;
which still-unclaimed pairs go next is decided here.

* ``slot_allocations``: each regular slot of a participant's list is ``random_start``
  (while the study's answers are below its random-start share), else ``control`` with
  probability ``control_share`` (a uniform random slice, always kept), else ``adaptive``.
* Target ``ranking`` (Bradley–Terry per category): ``fit_strengths`` gives θ and a
  diagonal Laplace variance per sketch; ``greedy_ranking_picks`` takes, one at a time,
  the candidate pair whose answer most reduces the variance of θ_a − θ_b
  (information p(1−p) times the prior variance v = var_a + var_b:
  gain = v² p(1−p) / (1 + v p(1−p))), updating the two variances after each pick so that
  one participant's list does not pile on one sketch. Categories whose mean 95% interval
  width of θ is at or below the target width stop (gain 0).
* Target ``agreement`` (agreement interval per level × method cell): the Wald width of a
  cell with n answers and k agreeing is 2·1.96·sqrt(p(1−p)/n) with p = (k+1)/(n+2);
  ``greedy_cell_counts`` gives each next answer to the cell whose width shrinks most,
  cells at or below the target width stop.
* Ties of gain go to the lower plan order (the plan's seeded hand-out order), so the
  same answers in the same order give the same choices.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

RANDOM_START = "random_start"
CONTROL = "control"
ADAPTIVE = "adaptive"
Z95 = 1.959963984540054


def slot_allocations(
    n_answers: int, n_budget: int, random_start_share: float, control_share: float, n_slots: int, rng
) -> list[str]:
    """The allocation of each of ``n_slots`` regular slots (see the module doc).

    ``n_budget`` is the number of regular answers the study expects (target participants ×
    regular trials, at most its plan size: ``studies.adaptive_handout.expected_answers``);
    the random start lasts while ``n_answers < random_start_share * n_budget``.
    """
    if not 0 <= random_start_share <= 1 or not 0 <= control_share <= 1:
        raise ValueError("shares must lie in [0, 1]")
    if n_answers < random_start_share * n_budget:
        return [RANDOM_START] * n_slots
    draws = rng.random(n_slots)
    return [CONTROL if u < control_share else ADAPTIVE for u in draws]


def fit_strengths(
    n_items: int, winners: ArrayLike, losers: ArrayLike, prior: float = 0.05, iters: int = 50
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """MAP Bradley–Terry θ with a N(0, 1/prior) prior (Newton), and its diagonal Laplace variance."""
    w = np.asarray(winners, dtype=np.int64)
    los = np.asarray(losers, dtype=np.int64)
    theta = np.zeros(n_items)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(theta[w] - theta[los])))
        grad = -prior * theta
        np.add.at(grad, w, 1.0 - p)
        np.add.at(grad, los, -(1.0 - p))
        pq = p * (1.0 - p)
        hess = prior * np.eye(n_items)
        np.add.at(hess, (w, w), pq)
        np.add.at(hess, (los, los), pq)
        np.add.at(hess, (w, los), -pq)
        np.add.at(hess, (los, w), -pq)
        step = np.linalg.solve(hess, grad)
        theta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    p = 1.0 / (1.0 + np.exp(-(theta[w] - theta[los])))
    info = np.full(n_items, prior)
    np.add.at(info, w, p * (1 - p))
    np.add.at(info, los, p * (1 - p))
    return theta, 1.0 / info


def ranking_width(variance: ArrayLike) -> float:
    """Mean 95% interval width of the sketches' θ."""
    return float(np.mean(2 * Z95 * np.sqrt(np.asarray(variance, dtype=float))))


def pair_gain(theta, variance, a, b) -> NDArray[np.float64]:
    """Expected reduction of var(θ_a − θ_b) from one answer on each pair (a[i], b[i])."""
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    pq = p * (1 - p)
    v = variance[a] + variance[b]
    return v * v * pq / (1 + v * pq)


def greedy_ranking_picks(
    theta: ArrayLike,
    variance: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    group: ArrayLike,
    n_picks: int,
    target_width: float = 0.0,
) -> list[int]:
    """Indices of up to ``n_picks`` candidates (a[i], b[i] index ``theta``), best gain first.

    Candidates are in plan order (ties go to the earlier one). ``group`` is each
    candidate's category; a group whose sketches' mean interval width is at or below
    ``target_width`` gets no more picks. Stops early when no candidate gains anything.
    """
    theta = np.asarray(theta, dtype=float)
    var = np.array(variance, dtype=float)
    a, b, group = (np.asarray(x, dtype=np.int64) for x in (a, b, group))
    available = np.ones(a.size, dtype=bool)
    done_groups = _groups_at_target(var, a, b, group, target_width)
    available &= ~np.isin(group, done_groups)
    picks: list[int] = []
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    pq = p * (1 - p)
    while len(picks) < n_picks and available.any():
        v = var[a] + var[b]
        gain = np.where(available, v * v * pq / (1 + v * pq), -1.0)
        best = int(np.argmax(gain))  # first maximum: lowest plan order
        if gain[best] <= 0:
            break
        picks.append(best)
        available[best] = False
        for item in (a[best], b[best]):
            var[item] = 1.0 / (1.0 / var[item] + pq[best])
    return picks


def _groups_at_target(var, a, b, group, target_width: float) -> NDArray[np.int64]:
    if target_width <= 0:
        return np.empty(0, dtype=np.int64)
    done = []
    for g in np.unique(group):
        items = np.unique(np.concatenate([a[group == g], b[group == g]]))
        if ranking_width(var[items]) <= target_width:
            done.append(g)
    return np.asarray(done, dtype=np.int64)


def agreement_width(n: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """95% Wald width of each cell's agreement with p = (k+1)/(n+2) (an empty cell counts as half an answer)."""
    n = np.asarray(n, dtype=float)
    return _width(n, (np.asarray(k, dtype=float) + 1) / (n + 2))


def greedy_cell_counts(
    n: ArrayLike, k: ArrayLike, capacity: ArrayLike, n_picks: int, target_width: float = 0.0
) -> NDArray[np.int64]:
    """How many of ``n_picks`` answers go to each cell: each to the cell whose width
    shrinks most (agreement rate held at its current estimate), never beyond a cell's
    ``capacity`` (its unclaimed pairs), none to a cell at or below ``target_width``.
    Ties go to the lower cell index."""
    n = np.asarray(n, dtype=float).copy()
    k = np.asarray(k, dtype=float)
    cap = np.asarray(capacity, dtype=np.int64)
    p = (k + 1) / (n + 2)
    counts = np.zeros(n.size, dtype=np.int64)
    for _ in range(n_picks):
        now = _width(n, p)
        gain = now - _width(n + 1, p)
        gain[(counts >= cap) | (now <= target_width)] = -1.0
        if gain.size == 0 or gain.max() <= 0:
            break
        best = int(np.argmax(gain))
        counts[best] += 1
        n[best] += 1
    return counts


def _width(n, p):
    return 2 * Z95 * np.sqrt(p * (1 - p) / np.maximum(n, 0.5))
