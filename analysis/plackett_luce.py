"""Plackett–Luce for top-1 choices ("the best of these K"): pure numpy/scipy, no Django.

A choice of item w out of the offered set S has probability exp(θ_w) / Σ_{s∈S} exp(θ_s)
(the top-1 case of Plackett–Luce, i.e. Luce's choice axiom; with K = 2 it is Bradley–Terry).
We minimise the negative log-likelihood plus ``alpha · ||θ||²`` (choix's regularisation
convention, so the estimate is the one choix's ``opt_top1`` computes; a test checks both agree) by L-BFGS on a
vectorised gradient, so one fit over tens of thousands of choices takes milliseconds.

Conventions shared with the Bradley–Terry rankings (``analysis.rankings``/``bt_inference``):
scores are centred (mean 0), intervals are percentile intervals of the same estimator over
a Poisson bootstrap of the choices, and an item with too little evidence gets no point
score: ``never compared`` (never offered), ``unbeaten`` (offered, never passed over),
``winless`` (offered, never chosen); otherwise ``ok``.

Abstentions ("no difference / can't tell") carry no top-1 information and are left out
by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

DEFAULT_ALPHA = 0.01


@dataclass(frozen=True, eq=False)
class Choices:
    """``offered[n]``: the item indices offered in choice n (-1 pads a smaller set);
    ``chosen[n]``: the column of ``offered`` that was chosen."""

    offered: NDArray[np.int64]
    chosen: NDArray[np.int64]

    @property
    def winners(self) -> NDArray[np.int64]:
        return self.offered[np.arange(self.chosen.size), self.chosen]


def as_choices(offered: ArrayLike, chosen_items: ArrayLike) -> Choices:
    """Checked arrays from sets of item indices and the ITEM chosen in each (not its column)."""
    sets = np.atleast_2d(np.asarray(offered, dtype=np.int64))
    winners = np.asarray(chosen_items, dtype=np.int64)
    if sets.shape[0] != winners.size:
        raise ValueError("one chosen item per offered set")
    hits = sets == winners[:, None]
    if not np.all(hits.sum(axis=1) == 1):
        raise ValueError("each chosen item must be offered exactly once in its set")
    valid = sets >= 0
    if np.any(valid.sum(axis=1) < 2):
        raise ValueError("every set must offer at least two items")
    return Choices(offered=sets, chosen=hits.argmax(axis=1))


def _objective(theta, offered, valid, chosen_rows, weights, alpha):
    logits = np.where(valid, theta[np.maximum(offered, 0)], -np.inf)
    top = logits.max(axis=1, keepdims=True)
    expo = np.exp(logits - top)
    total = expo.sum(axis=1)
    log_norm = top[:, 0] + np.log(total)
    winners = offered[np.arange(offered.shape[0]), chosen_rows]
    value = float(np.sum(weights * (log_norm - theta[winners]))) + alpha * float(theta @ theta)
    grad = 2.0 * alpha * theta
    probs = (expo / total[:, None]) * weights[:, None]
    np.add.at(grad, offered[valid], probs[valid])
    np.add.at(grad, winners, -weights)
    return value, grad


def fit(
    n_items: int, choices: Choices, alpha: float = DEFAULT_ALPHA, weights=None, tol: float = 1e-9
) -> NDArray[np.float64]:
    """MAP scores (centred) of ``n_items`` items from top-1 ``choices``."""
    if alpha <= 0:
        raise ValueError("alpha must be positive (an item never chosen has no finite ML score)")
    offered = choices.offered
    if offered.size and (offered.max() >= n_items):
        raise ValueError("item index out of range")
    w = np.ones(offered.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    result = minimize(
        _objective,
        np.zeros(n_items),
        args=(offered, offered >= 0, choices.chosen, w, alpha),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": tol, "maxiter": 2000},
    )
    theta = result.x
    return theta - theta.mean()


@dataclass(frozen=True)
class Ranking:
    score: NDArray[np.float64]  # NaN where the evidence is too little
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    evidence: NDArray[np.str_]
    offered: NDArray[np.int64]  # times each item was offered
    chosen: NDArray[np.int64]  # times chosen
    n_boot: int
    ci: float


def evidence_flags(
    n_items: int, choices: Choices
) -> tuple[NDArray[np.str_], NDArray[np.int64], NDArray[np.int64]]:
    valid = choices.offered >= 0
    offered = np.bincount(choices.offered[valid], minlength=n_items)
    chosen = np.bincount(choices.winners, minlength=n_items)
    flags = np.full(n_items, "ok", dtype="<U14")
    flags[chosen == 0] = "winless"
    flags[(offered > 0) & (chosen == offered)] = "unbeaten"
    flags[offered == 0] = "never compared"
    return flags, offered, chosen


def rank(
    n_items: int,
    choices: Choices,
    rng: np.random.Generator,
    n_boot: int = 200,
    ci: float = 0.95,
    alpha: float = DEFAULT_ALPHA,
) -> Ranking:
    """Scores with Poisson-bootstrap percentile intervals and evidence flags (see the docstring)."""
    point = fit(n_items, choices, alpha)
    flags, offered, chosen = evidence_flags(n_items, choices)
    samples = np.empty((n_boot, n_items))
    for b in range(n_boot):
        samples[b] = fit(n_items, choices, alpha, weights=rng.poisson(1.0, choices.chosen.size))
    tail = (1 - ci) / 2
    lo, hi = np.quantile(samples, [tail, 1 - tail], axis=0) if n_boot else (np.full(n_items, np.nan),) * 2
    score = np.where(flags == "ok", point, np.nan)
    return Ranking(score, lo, hi, flags, offered, chosen, n_boot, ci)


def agreement_with_q(q_offered: ArrayLike, chosen: ArrayLike) -> NDArray[np.bool_]:
    """Per choice: did the human choose the offered sketch with the highest q? (NaN pads.)"""
    q = np.asarray(q_offered, dtype=np.float64)
    cols = np.asarray(chosen, dtype=np.int64)
    best = np.nanmax(q, axis=1)
    return q[np.arange(cols.size), cols] >= best
