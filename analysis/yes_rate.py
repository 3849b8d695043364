"""Single-sketch judgements: the yes rate against q, as a logistic fit. Pure numpy, no Django.

P(yes | q) = 1 / (1 + exp(−(a + b·q))), fitted by Newton–Raphson (IRLS) on the
binomial log-likelihood. Intervals: Wald intervals of (a, b) from the observed Fisher
information, and a percentile interval of the fitted curve (and of b) over a bootstrap
that resamples whole workers when ``worker`` is given (answers of one worker are not
independent), else answers. The slope's sign is what the paper's §4.4 reads: a scorer
whose q tracks quality gives b > 0 (higher q, more "yes").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Z95 = 1.959963984540054


@dataclass(frozen=True)
class LogisticFit:
    intercept: float
    slope: float
    se_intercept: float
    se_slope: float
    n: int
    converged: bool

    def slope_interval(self, z: float = Z95) -> tuple[float, float]:
        return self.slope - z * self.se_slope, self.slope + z * self.se_slope

    def predict(self, q: ArrayLike) -> NDArray[np.float64]:
        return _sigmoid(self.intercept + self.slope * np.asarray(q, dtype=np.float64))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))


def fit_logistic(
    q: ArrayLike, yes: ArrayLike, weights=None, max_iter: int = 100, ridge: float = 1e-6
) -> LogisticFit:
    """Maximum-likelihood (a, b) of P(yes) = σ(a + b q); a tiny ridge keeps separated data finite."""
    x = np.asarray(q, dtype=np.float64)
    y = np.asarray(yes, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("q and yes must be 1-D arrays of the same length")
    if np.any((y != 0) & (y != 1)):
        raise ValueError("yes must be 0/1")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    converged = False
    info = np.eye(2)
    for _ in range(max_iter):
        p = _sigmoid(design @ beta)
        grad = design.T @ (w * (y - p)) - ridge * beta
        info = (design * (w * p * (1 - p))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(info, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            converged = True
            break
    cov = np.linalg.inv(info)
    return LogisticFit(
        float(beta[0]),
        float(beta[1]),
        float(np.sqrt(cov[0, 0])),
        float(np.sqrt(cov[1, 1])),
        int(w.sum()),
        converged,
    )


@dataclass(frozen=True)
class YesRateCurve:
    fit: LogisticFit
    grid: NDArray[np.float64]
    rate: NDArray[np.float64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    slope_lo: float
    slope_hi: float
    n_boot: int


def yes_rate_curve(
    q: ArrayLike,
    yes: ArrayLike,
    rng: np.random.Generator,
    worker=None,
    n_boot: int = 200,
    ci: float = 0.95,
    n_grid: int = 21,
) -> YesRateCurve:
    """The fitted yes rate on a grid of q with bootstrap percentile bands (see the docstring)."""
    x, y = np.asarray(q, dtype=np.float64), np.asarray(yes, dtype=np.float64)
    point = fit_logistic(x, y)
    grid = np.linspace(x.min(), x.max(), n_grid) if x.size else np.zeros(0)
    groups = (
        np.unique(np.asarray(worker), return_inverse=True)[1] if worker is not None else np.arange(x.size)
    )
    n_groups = int(groups.max()) + 1 if groups.size else 0
    curves, slopes = np.empty((n_boot, grid.size)), np.empty(n_boot)
    for b in range(n_boot):
        counts = np.bincount(rng.integers(n_groups, size=n_groups), minlength=n_groups)
        refit = fit_logistic(x, y, weights=counts[groups])
        curves[b], slopes[b] = refit.predict(grid), refit.slope
    tail = (1 - ci) / 2
    if n_boot:
        lo, hi = np.quantile(curves, [tail, 1 - tail], axis=0)
        s_lo, s_hi = np.quantile(slopes, [tail, 1 - tail])
    else:
        lo = hi = np.full(grid.size, np.nan)
        s_lo, s_hi = point.slope_interval()
    return YesRateCurve(point, grid, point.predict(grid), lo, hi, float(s_lo), float(s_hi), n_boot)
