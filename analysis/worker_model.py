"""A reliability model of the workers, fitted on all their answers (numpy/scipy, no Django).

In the spirit of crowd-kit's NoisyBT (``crowdkit.aggregation.NoisyBradleyTerry``): worker w
answering "left" when items i (left) and j (right) are shown does so with probability

    P(left) = skill_w · σ(s_i − s_j) + (1 − skill_w) · bias_w

so ``skill`` is the share of answers that follow the items' qualities (1: a perfect
Bradley–Terry judge, 0: a guesser) and ``bias`` the probability of "left" when guessing
(0.5: no side preference, 1: always left). Items' scores ``s`` are shared by all workers.

Fit: maximum a posteriori with L-BFGS on (s, logit skill, logit bias) under a weak Gaussian
prior (``prior``), from a fixed start (deterministic). Intervals: for each worker, a Wald
interval on the logit scale from the 2 × 2 observed information of (logit skill, logit
bias) with the item scores held at their fit (conditional intervals; they ignore the items'
uncertainty), mapped back to [0, 1], so they always contain the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

Z95 = 1.959964


@dataclass(frozen=True)
class WorkerModel:
    workers: np.ndarray  # worker codes, sorted
    skill: np.ndarray
    skill_lo: np.ndarray
    skill_hi: np.ndarray
    bias: np.ndarray  # P(left | guessing)
    bias_lo: np.ndarray
    bias_hi: np.ndarray
    items: np.ndarray  # item ids, sorted
    scores: np.ndarray  # item scores s (centred)
    converged: bool

    def of(self, worker: int) -> dict:
        k = int(np.searchsorted(self.workers, worker))
        if k >= self.workers.size or self.workers[k] != worker:
            raise KeyError(worker)
        return {
            name: float(getattr(self, name)[k])
            for name in ("skill", "skill_lo", "skill_hi", "bias", "bias_lo", "bias_hi")
        }


def _probabilities(s_diff, skill_logit, bias_logit):
    skill, bias = expit(skill_logit), expit(bias_logit)
    judged = expit(s_diff)
    return skill * judged + (1 - skill) * bias, skill, bias, judged


def fit_worker_model(
    worker, left, right, chose_left, *, prior: float = 0.1, max_iter: int = 500
) -> WorkerModel:
    """Fit on one row per answer: worker code, left and right item ids, whether "left" was chosen."""
    worker, left, right = (np.asarray(x, dtype=np.int64) for x in (worker, left, right))
    y = np.asarray(chose_left, dtype=bool)
    if not (worker.shape == left.shape == right.shape == y.shape) or worker.ndim != 1:
        raise ValueError("worker, left, right and chose_left must be 1-D arrays of the same length")
    if worker.size == 0:
        empty = np.zeros(0)
        return WorkerModel(np.zeros(0, np.int64), *(empty,) * 6, np.zeros(0, np.int64), empty, True)
    workers, w = np.unique(worker, return_inverse=True)
    items, codes = np.unique(np.concatenate([left, right]), return_inverse=True)
    i, j = codes[: left.size], codes[left.size :]
    n_items, n_workers = items.size, workers.size

    def unpack(x):
        return x[:n_items], x[n_items : n_items + n_workers], x[n_items + n_workers :]

    def objective(x):
        s, a, b = unpack(x)
        p, skill, bias, judged = _probabilities(s[i] - s[j], a[w], b[w])
        p = np.clip(p, 1e-12, 1 - 1e-12)
        loss = -np.sum(np.where(y, np.log(p), np.log1p(-p))) + 0.5 * prior * np.dot(x, x)
        dp = np.where(y, -1 / p, 1 / (1 - p))  # d loss / d p
        g_diff = dp * skill * judged * (1 - judged)
        g_s = np.bincount(i, g_diff, n_items) - np.bincount(j, g_diff, n_items)
        g_a = np.bincount(w, dp * (judged - bias) * skill * (1 - skill), n_workers)
        g_b = np.bincount(w, dp * (1 - skill) * bias * (1 - bias), n_workers)
        return loss, np.concatenate([g_s, g_a, g_b]) + prior * x

    start = np.concatenate([np.zeros(n_items), np.full(n_workers, 1.0), np.zeros(n_workers)])
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    s, a, b = unpack(result.x)
    s = s - s.mean()
    lo_hi = _conditional_intervals(s[i] - s[j], a, b, w, y, n_workers, prior)
    return WorkerModel(
        workers=workers,
        skill=expit(a),
        skill_lo=expit(a - lo_hi[0]),
        skill_hi=expit(a + lo_hi[0]),
        bias=expit(b),
        bias_lo=expit(b - lo_hi[1]),
        bias_hi=expit(b + lo_hi[1]),
        items=items,
        scores=s,
        converged=bool(result.success),
    )


def _conditional_intervals(s_diff, a, b, w, y, n_workers, prior):
    """Half-widths (logit scale) of 95% Wald intervals for each worker's (skill, bias), from
    the observed information of their own answers with the items held fixed."""
    p, skill, bias, judged = _probabilities(s_diff, a[w], b[w])
    p = np.clip(p, 1e-12, 1 - 1e-12)
    da = (judged - bias) * skill * (1 - skill)  # dp / d logit skill
    db = (1 - skill) * bias * (1 - bias)  # dp / d logit bias
    weight = 1 / (p * (1 - p))  # Fisher information of a Bernoulli in p
    h_aa = np.bincount(w, weight * da * da, n_workers) + prior
    h_bb = np.bincount(w, weight * db * db, n_workers) + prior
    h_ab = np.bincount(w, weight * da * db, n_workers)
    det = np.maximum(h_aa * h_bb - h_ab**2, 1e-12)
    var_a, var_b = h_bb / det, h_aa / det
    return Z95 * np.sqrt(var_a), Z95 * np.sqrt(var_b)


def weighted_agreement(agree, worker, model: WorkerModel) -> float | None:
    """Agreement with each answer weighted by its worker's fitted skill (None without answers)."""
    agree, worker = np.asarray(agree, dtype=float), np.asarray(worker, dtype=np.int64)
    if agree.size == 0:
        return None
    k = np.searchsorted(model.workers, worker)
    weights = model.skill[np.clip(k, 0, max(model.workers.size - 1, 0))]
    total = weights.sum()
    return float(np.dot(weights, agree) / total) if total > 0 else None
