"""Agreement curves: a psychometric function of the normalised gap, and method differences.

Pure numpy/scipy, no Django.

Curve.  For a two-alternative choice the chance level is ½, so agreement as a function of
the normalised gap g = |Δq| / range(q) ∈ [0, 1] is modelled with the 2AFC Weibull

    p(g) = 1 − ½ · exp(−(g / λ)^k),        λ > 0 (scale), k > 0 (shape),

which is ½ at g = 0 and rises monotonically towards 1.  It is fitted by maximum likelihood
to the individual answers (agree = 1).  The gap at which agreement reaches 75% is

    g₇₅ = λ · (ln 2)^(1/k).

Uncertainty.  Answers are crossed: each worker answers many pairs and a pair may be answered
by several workers, so neither is independent.  Every replicate re-weights the answers with
w = u_worker · v_pair, u and v independent Poisson(1) draws per worker and per pair (the
two-way "pigeonhole" bootstrap, Owen 2007, in its Poisson form), refits the curve and
recomputes the rates.  Intervals are 95% percentile intervals over the replicates; a g₇₅
beyond the largest gap observed is reported as "not reached".

Method differences.  Agreement of method A minus agreement of method B, overall and per
level, with the same replicates (a worker keeps one weight across methods, so the
comparison is paired through the workers).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse as sp

__all__ = [
    "CurveAnalysis",
    "CurveFit",
    "Difference",
    "MethodCurve",
    "analyse",
    "TwoWayBootstrap",
    "fit_curve",
    "g75_from",
    "level_flags",
    "weibull_2afc",
]

LN2 = np.log(2.0)


def weibull_2afc(g, scale: float, shape: float) -> np.ndarray:
    g = np.clip(np.asarray(g, np.float64), 0.0, None)
    return 1.0 - 0.5 * np.exp(-((g / scale) ** shape))


def g75_from(scale: float, shape: float) -> float:
    return float(scale * LN2 ** (1.0 / shape))


@dataclass(frozen=True)
class CurveFit:
    scale: float  # λ
    shape: float  # k
    g75: float
    n: float  # (weighted) answers used
    converged: bool

    def predict(self, g) -> np.ndarray:
        return weibull_2afc(g, self.scale, self.shape)


def _nll(params, g, n, k):
    """Negative log-likelihood and gradient in (log λ, log k) for grouped answers (g > 0)."""
    log_s, log_k = params
    sh = np.exp(log_k)
    logr = np.log(g) - log_s
    u = np.exp(np.minimum(sh * logr, 700.0))  # (g/λ)^k
    e = np.exp(-u)
    log_p = np.log1p(-0.5 * e)  # p = 1 − ½e^(−u) ∈ [½, 1)
    log_q = -LN2 - u  # 1 − p = ½e^(−u)
    nll = -float((k * log_p + (n - k) * log_q).sum())
    dldu = k * (0.5 * e / np.exp(log_p)) - (n - k)
    grad = -np.array([(dldu * (-sh * u)).sum(), (dldu * (sh * u * logr)).sum()])
    return nll, grad


def _fisher_scoring(x, g, n, k, max_iter: int = 50) -> tuple[np.ndarray, bool]:
    """Maximise the likelihood in (log λ, log k) by Fisher scoring with backtracking."""
    f, grad = _nll(x, g, n, k)
    for _ in range(max_iter):
        sh = np.exp(x[1])
        logr = np.log(g) - x[0]
        u = np.exp(np.minimum(sh * logr, 700.0))
        q = 0.5 * np.exp(-u)  # 1 − p
        du = np.stack([-sh * u, sh * u * logr])  # ∂u/∂(log λ, log k); ∂p/∂u = q
        info = (du * (n * q / (1.0 - q))) @ du.T  # Σ n (∂p)² / (p q)
        try:
            step = -np.linalg.solve(info + 1e-12 * np.eye(2), grad)
        except np.linalg.LinAlgError:
            return x, False
        t = 1.0
        while t > 1e-6:
            cand = np.clip(x + t * step, [b[0] for b in _BOUNDS], [b[1] for b in _BOUNDS])
            f_new, g_new = _nll(cand, g, n, k)
            if f_new <= f + 1e-4 * t * float(grad @ step):
                break
            t *= 0.5
        else:
            return x, bool(np.abs(grad).max() < 1e-6 * max(1.0, n.sum()))
        moved = np.abs(cand - x).max()
        x, f, grad = cand, f_new, g_new
        if moved < 1e-9:
            return x, True
    return x, False


def _fit_grouped(g, n, k, start) -> CurveFit:
    total = float(n.sum())
    keep = (n > 0) & (g > 0)  # at g = 0 the model says ½ whatever λ and k: no information
    g, n, k = g[keep], n[keep], k[keep]
    if total <= 0 or not keep.any():
        return CurveFit(float("nan"), float("nan"), float("nan"), total, False)
    x0 = np.log(start) if start is not None else np.array([np.log(max(float(np.median(g)), 0.05)), 0.0])
    x, ok = _fisher_scoring(np.asarray(x0, np.float64), g, n, k)
    if not ok:  # e.g. on a bound: let L-BFGS-B handle it
        res = scipy.optimize.minimize(
            _nll, x0, args=(g, n, k), jac=True, method="L-BFGS-B", bounds=_BOUNDS, options={"gtol": 1e-8}
        )
        x, ok = res.x, bool(res.success)
    scale, shape = float(np.exp(x[0])), float(np.exp(x[1]))
    return CurveFit(scale, shape, g75_from(scale, shape), total, ok)


_BOUNDS = [(np.log(1e-4), np.log(1e3)), (np.log(0.1), np.log(20.0))]


def fit_curve(gap, agree, weight=None, *, start: tuple[float, float] | None = None) -> CurveFit:
    """Maximum-likelihood 2AFC Weibull on answers (gap in [0, 1], agree bool), optionally weighted.

    Answers with the same gap are grouped first (a pair's answers share its gap)."""
    g = np.asarray(gap, np.float64)
    a = np.asarray(agree, bool)
    w = np.ones(g.size) if weight is None else np.asarray(weight, np.float64)
    if not (g.shape == a.shape == w.shape) or g.ndim != 1:
        raise ValueError("gap, agree and weight must be 1-D arrays of the same length")
    if g.size and (np.isnan(g).any() or g.min() < 0 or g.max() > 1):
        raise ValueError("gaps must be normalised to [0, 1]")
    uniq, inv = np.unique(g, return_inverse=True)
    inv = inv.reshape(-1)
    return _fit_grouped(uniq, np.bincount(inv, w, uniq.size), np.bincount(inv, w * a, uniq.size), start)


def level_flags(n, min_answers: int) -> list[str]:
    """'' for a level with enough answers, else 'empty' or 'thin (n=…)' — shown in every table."""
    out = []
    for x in np.asarray(n).reshape(-1):
        x = int(x)
        out.append("empty (n=0)" if x == 0 else (f"thin (n={x})" if x < min_answers else ""))
    return out


@dataclass(frozen=True)
class TwoWayBootstrap:
    """Poisson weights per worker and per pair for ``n_boot`` replicates (module doc)."""

    worker_weights: np.ndarray  # (n_boot, n_workers)
    pair_weights: np.ndarray  # (n_boot, n_pairs)

    @classmethod
    def draw(cls, n_workers: int, n_pairs: int, n_boot: int, rng: np.random.Generator) -> TwoWayBootstrap:
        return cls(
            rng.poisson(1.0, size=(n_boot, n_workers)).astype(np.float64),
            rng.poisson(1.0, size=(n_boot, n_pairs)).astype(np.float64),
        )

    @property
    def n_boot(self) -> int:
        return int(self.worker_weights.shape[0])

    def weights(self, b: int, worker: np.ndarray, pair: np.ndarray) -> np.ndarray:
        return self.worker_weights[b, worker] * self.pair_weights[b, pair]


def percentile_interval(samples: np.ndarray, ci: float = 0.95, axis: int = 0):
    tail = 50.0 * (1.0 - ci)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: empty levels stay NaN
        if np.all(np.isnan(samples)):
            nan = np.full(np.delete(samples.shape, axis), np.nan)
            return nan, nan.copy()
        return tuple(np.nanpercentile(samples, [tail, 100.0 - tail], axis=axis))


def weighted_rates(level: np.ndarray, agree: np.ndarray, weight: np.ndarray, n_levels: int):
    """(overall rate, rate per level) of weighted answers (NaN where a level has no weight)."""
    n = np.bincount(level, weight, n_levels)
    k = np.bincount(level, weight * agree, n_levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(n > 0, k / n, np.nan)
        overall = k.sum() / n.sum() if n.sum() > 0 else np.nan
    return overall, per


@dataclass(frozen=True)
class MethodCurve:
    method: int
    fit: CurveFit
    g75_lo: float
    g75_hi: float
    g75_reached: bool  # False: 75% is not reached within the gaps observed (g₇₅ > max gap)
    max_gap: float
    n: int
    rate: float
    rate_lo: float
    rate_hi: float
    n_per_level: np.ndarray
    rate_per_level: np.ndarray
    lo_per_level: np.ndarray
    hi_per_level: np.ndarray


@dataclass(frozen=True)
class Difference:
    method_a: int
    method_b: int
    diff: float  # overall agreement of a − of b
    lo: float
    hi: float
    diff_per_level: np.ndarray
    lo_per_level: np.ndarray
    hi_per_level: np.ndarray
    n_a_per_level: np.ndarray
    n_b_per_level: np.ndarray
    g75_diff: float
    g75_lo: float
    g75_hi: float


@dataclass(frozen=True)
class CurveAnalysis:
    curves: dict[int, MethodCurve]
    differences: list[Difference]
    n_boot: int
    ci: float


def analyse(
    *,
    gap,
    agree,
    level,
    method,
    worker,
    pair,
    n_methods: int,
    n_levels: int,
    n_boot: int,
    rng: np.random.Generator,
    reference: int | None = None,
    ci: float = 0.95,
) -> CurveAnalysis:
    """Curves per method, and the reference method minus every other one (module doc).

    ``worker`` and ``pair`` are integer codes of the answer's worker and planned pair."""
    g = np.asarray(gap, np.float64)
    a = np.asarray(agree, bool)
    lv, m = np.asarray(level, np.int64), np.asarray(method, np.int64)
    wk, pr = (
        np.unique(worker, return_inverse=True)[1].reshape(-1),
        np.unique(pair, return_inverse=True)[1].reshape(-1),
    )
    if not (g.shape == a.shape == lv.shape == m.shape == wk.shape == pr.shape):
        raise ValueError("gap, agree, level, method, worker and pair need one entry per answer")
    present = [x for x in range(n_methods) if (m == x).any()]
    n_workers = int(wk.max()) + 1 if wk.size else 0
    n_pairs = int(pr.max()) + 1 if pr.size else 0
    b_total = n_boot if g.size else 0
    boot = TwoWayBootstrap.draw(n_workers, n_pairs, b_total, rng) if b_total else None
    fits, rates, per_level = {}, {}, {}
    g75s, rate_s, level_s = {}, {}, {}
    for x in present:
        sel = m == x
        fits[x] = fit_curve(g[sel], a[sel])
        rates[x], per_level[x] = weighted_rates(lv[sel], a[sel], np.ones(int(sel.sum())), n_levels)
        if not b_total:
            g75s[x], rate_s[x], level_s[x] = np.zeros(0), np.zeros(0), np.zeros((0, n_levels))
            continue
        # per pair: answers by worker (P × W), so a replicate's pair totals are v ∘ (C u)
        pairs, local = np.unique(pr[sel], return_inverse=True)
        shape = (pairs.size, n_workers)
        count = sp.csr_matrix((np.ones(local.size), (local, wk[sel])), shape=shape)
        hits = sp.csr_matrix((a[sel].astype(np.float64), (local, wk[sel])), shape=shape)
        pair_gap = np.zeros(pairs.size)
        pair_gap[local] = g[sel]
        pair_level = np.zeros(pairs.size, np.int64)
        pair_level[local] = lv[sel]
        v = boot.pair_weights[:, pairs].T  # (P_x, B)
        n_b = v * (count @ boot.worker_weights.T)
        k_b = v * (hits @ boot.worker_weights.T)
        to_level = sp.csr_matrix(
            (np.ones(pairs.size), (pair_level, np.arange(pairs.size))), (n_levels, pairs.size)
        )
        n_lv, k_lv = to_level @ n_b, to_level @ k_b
        with np.errstate(invalid="ignore", divide="ignore"):
            level_s[x] = np.where(n_lv > 0, k_lv / n_lv, np.nan).T
            rate_s[x] = np.where(n_b.sum(0) > 0, k_b.sum(0) / n_b.sum(0), np.nan)
        start = (fits[x].scale, fits[x].shape) if np.isfinite(fits[x].scale) else None
        g75s[x] = np.array([_fit_grouped(pair_gap, n_b[:, j], k_b[:, j], start).g75 for j in range(b_total)])
    curves = {}
    for x in present:
        sel = m == x
        g_lo, g_hi = percentile_interval(g75s[x], ci) if b_total else (np.nan, np.nan)
        r_lo, r_hi = percentile_interval(rate_s[x], ci) if b_total else (np.nan, np.nan)
        l_lo, l_hi = percentile_interval(level_s[x], ci) if b_total else (np.full(n_levels, np.nan),) * 2
        max_gap = float(g[sel].max())
        curves[x] = MethodCurve(
            x, fits[x], float(g_lo), float(g_hi), bool(fits[x].g75 <= max_gap), max_gap, int(sel.sum()),
            float(rates[x]), float(r_lo), float(r_hi), np.bincount(lv[sel], minlength=n_levels),
            per_level[x], np.asarray(l_lo), np.asarray(l_hi),
        )  # fmt: skip
    differences = []
    if reference is not None and reference in present:
        for x in present:
            if x == reference:
                continue
            d_rate = rate_s[reference] - rate_s[x]
            d_level = level_s[reference] - level_s[x]
            d_g75 = g75s[reference] - g75s[x]
            lo, hi = percentile_interval(d_rate, ci) if b_total else (np.nan, np.nan)
            l_lo, l_hi = percentile_interval(d_level, ci) if b_total else (np.full(n_levels, np.nan),) * 2
            g_lo, g_hi = percentile_interval(d_g75, ci) if b_total else (np.nan, np.nan)
            differences.append(Difference(
                reference, x, float(rates[reference] - rates[x]), float(lo), float(hi),
                per_level[reference] - per_level[x], np.asarray(l_lo), np.asarray(l_hi),
                curves[reference].n_per_level, curves[x].n_per_level,
                fits[reference].g75 - fits[x].g75, float(g_lo), float(g_hi),
            ))  # fmt: skip
    return CurveAnalysis(curves, differences, b_total, ci)
