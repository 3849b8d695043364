"""Human–model agreement per (method, category, level) from plain arrays (no Django).

One row per answer. A trial *agrees* when the human picked the sketch to which the
scorer in question gave the higher q. Trials whose two q are exactly equal have no
"higher" sketch: they are excluded from n and counted in ``n_q_ties``.

Everything is vectorised on the combined cell code
``(method * n_categories + category) * n_levels + level`` with ``np.bincount``.

Note on the paper (§4.1): "78.13% (with standard deviation 0.06%)" is a mean and
std over the four GACL variants, while the same paragraph attributes 78.13% to
Ours-Cos. ``method_summary`` reports, per method, the pooled rate and the mean ± std
of the per-category rates; ``across_methods`` gives the paper's mean ± std over methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from scipy.stats import norm

__all__ = [
    "AgreementTable",
    "MethodSummary",
    "across_methods",
    "agreement_table",
    "agrees_from_q",
    "bootstrap_by_worker",
    "curve",
    "level_labels",
    "method_summary",
    "wilson_interval",
]


def wilson_interval(k, n, z: float = 1.96) -> tuple[Any, Any]:
    """Wilson score interval for k successes in n trials (vectorised). NaN where n == 0.

    Arrays in, arrays out; two scalars in, two floats out."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 ≤ k ≤ n")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
        lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def level_labels(n_levels: int = 10) -> list[str]:
    """['[0,.1]', '(.1,.2]', …, '(.9,1]'] — the paper's normalised |Δq| bins."""

    def fmt(x: float) -> str:
        s = f"{x:.10g}"
        return s[1:] if s.startswith("0.") else s

    edges = [i / n_levels for i in range(n_levels + 1)]
    return [("[" if i == 0 else "(") + f"{fmt(edges[i])},{fmt(edges[i + 1])}]" for i in range(n_levels)]


def agrees_from_q(q_left, q_right, chose_left) -> tuple[np.ndarray, np.ndarray]:
    """(agrees, valid): agrees[i] is True when the chosen side has the higher q;
    valid is False where q_left == q_right (no higher sketch) or a q is NaN."""
    ql = np.asarray(q_left, float)
    qr = np.asarray(q_right, float)
    cl = np.asarray(chose_left, bool)
    if not (ql.shape == qr.shape == cl.shape) or ql.ndim != 1:
        raise ValueError("q_left, q_right and chose_left must be 1-D arrays of the same length")
    valid = np.isfinite(ql) & np.isfinite(qr) & (ql != qr)
    return (ql > qr) == cl, valid


def _codes(name: str, x, size: int) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1 or a.size != size:
        raise ValueError(f"{name} must be a 1-D array with one entry per answer ({size})")
    if size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integer codes, got dtype {a.dtype}")
    a = a.astype(np.int64, copy=False)
    if size and a.min() < 0:
        raise ValueError(f"{name} codes must be ≥ 0")
    return a


def _dim(name: str, codes: np.ndarray, given: int | None) -> int:
    top = int(codes.max()) + 1 if codes.size else 0
    if given is None:
        return max(top, 1)
    if top > given:
        raise ValueError(f"{name} code {top - 1} is out of range for n_{name}={given}")
    return int(given)


@dataclass(frozen=True)
class AgreementTable:
    """Arrays of shape (n_methods, n_categories, n_levels)."""

    n: np.ndarray  # answers with a defined "higher" sketch
    agree: np.ndarray  # of which the human picked the higher-q sketch
    rate: np.ndarray  # agree / n (NaN where n == 0)
    lo: np.ndarray  # Wilson interval
    hi: np.ndarray
    n_q_ties: np.ndarray  # answers excluded because q_left == q_right
    z: float
    boot_lo: np.ndarray | None = None  # bootstrap-over-workers percentile interval
    boot_hi: np.ndarray | None = None
    n_boot: int = 0

    @property
    def shape(self) -> tuple[int, int, int]:
        return cast("tuple[int, int, int]", self.n.shape)

    def to_records(self, method_names=None, category_names=None, level_names=None) -> list[dict]:
        """One dict per non-empty cell, for CSV/JSON export."""
        n_m, n_c, n_l = self.shape
        method_names = list(method_names) if method_names is not None else list(range(n_m))
        category_names = list(category_names) if category_names is not None else list(range(n_c))
        level_names = list(level_names) if level_names is not None else level_labels(n_l)
        out = []
        for m, c, lv in zip(*np.nonzero((self.n + self.n_q_ties) > 0)):
            rec = {
                "method": method_names[m],
                "category": category_names[c],
                "level": level_names[lv],
                "n": int(self.n[m, c, lv]),
                "agree": int(self.agree[m, c, lv]),
                "rate": _f(self.rate[m, c, lv]),
                "wilson_lo": _f(self.lo[m, c, lv]),
                "wilson_hi": _f(self.hi[m, c, lv]),
                "n_q_ties": int(self.n_q_ties[m, c, lv]),
            }
            if self.boot_lo is not None and self.boot_hi is not None:
                rec["boot_lo"] = _f(self.boot_lo[m, c, lv])
                rec["boot_hi"] = _f(self.boot_hi[m, c, lv])
            out.append(rec)
        return out


def _f(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def _prepare(chosen_is_higher, level, category, method, q_left, q_right, chose_left):
    if chosen_is_higher is not None:
        if q_left is not None or q_right is not None or chose_left is not None:
            raise ValueError("pass either chosen_is_higher or (q_left, q_right, chose_left), not both")
        agrees = np.asarray(chosen_is_higher)
        if agrees.ndim != 1 or agrees.dtype != bool:
            raise ValueError("chosen_is_higher must be a 1-D boolean array")
        valid = np.ones(agrees.size, bool)
    else:
        if q_left is None or q_right is None or chose_left is None:
            raise ValueError("need chosen_is_higher, or all of q_left, q_right and chose_left")
        agrees, valid = agrees_from_q(q_left, q_right, chose_left)
    size = agrees.size
    return (
        agrees,
        valid,
        _codes("level", level, size),
        _codes("category", category, size),
        _codes("method", method, size),
    )


def _shape(level, category, method, n_levels, n_categories, n_methods) -> tuple[int, int, int]:
    return (
        _dim("methods", method, n_methods),
        _dim("categories", category, n_categories),
        _dim("levels", level, n_levels),
    )


def _boot_cells(agrees, valid, cell, worker, n_cells, n_boot, rng, z):
    """Cluster bootstrap: resample workers with replacement, recompute every cell."""
    if n_boot < 1:
        raise ValueError("n_boot must be ≥ 1")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    _, widx = np.unique(worker[valid], return_inverse=True)
    widx = widx.reshape(-1)
    n_workers = int(widx.max()) + 1 if widx.size else 0
    if n_workers == 0:
        nan = np.full(n_cells, np.nan)
        return nan, nan.copy()
    c = cell[valid]
    shape = (n_workers, n_cells)
    counts = sp.csr_matrix((np.ones(c.size), (widx, c)), shape=shape)
    hits = sp.csr_matrix((agrees[valid].astype(float), (widx, c)), shape=shape)
    tail = 100.0 * norm.sf(z)
    lo = np.empty(n_cells)
    hi = np.empty(n_cells)
    chunk = max(1, int(4_000_000 // max(n_cells, 1)))
    rates = np.empty((n_boot, n_cells))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        wts = rng.multinomial(n_workers, np.full(n_workers, 1.0 / n_workers), size=b).astype(float)
        num = np.asarray((hits.T @ wts.T).T)
        den = np.asarray((counts.T @ wts.T).T)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates[start : start + b] = np.where(den > 0, num / den, np.nan)
    with np.errstate(invalid="ignore"):
        empty = np.all(np.isnan(rates), axis=0)
        lo[:] = np.nan
        hi[:] = np.nan
        if (~empty).any():
            lo[~empty], hi[~empty] = np.nanpercentile(rates[:, ~empty], [tail, 100 - tail], axis=0)
    return lo, hi


def bootstrap_by_worker(
    chosen_is_higher=None,
    *,
    level,
    category,
    method,
    worker,
    n_boot: int,
    rng: np.random.Generator | int | None,
    q_left=None,
    q_right=None,
    chose_left=None,
    n_levels: int | None = None,
    n_categories: int | None = None,
    n_methods: int | None = None,
    z: float = 1.96,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per cell from resampling whole workers (clusters) with
    replacement; coverage matches Wilson's z (1.96 → 95%). Shape (M, C, L)."""
    agrees, valid, lv, cat, met = _prepare(
        chosen_is_higher, level, category, method, q_left, q_right, chose_left
    )
    wk = _codes("worker", worker, agrees.size)
    shape = _shape(lv, cat, met, n_levels, n_categories, n_methods)
    cell = (met * shape[1] + cat) * shape[2] + lv
    lo, hi = _boot_cells(agrees, valid, cell, wk, int(np.prod(shape)), n_boot, rng, z)
    return lo.reshape(shape), hi.reshape(shape)


def agreement_table(
    chosen_is_higher=None,
    *,
    level,
    category,
    method,
    worker=None,
    q_left=None,
    q_right=None,
    chose_left=None,
    n_levels: int | None = None,
    n_categories: int | None = None,
    n_methods: int | None = None,
    z: float = 1.96,
    n_boot: int = 0,
    rng: np.random.Generator | int | None = None,
) -> AgreementTable:
    """Counts, rates and Wilson intervals per (method, category, level).

    Give either ``chosen_is_higher`` (bool per answer) or ``q_left, q_right,
    chose_left`` (then equal q are excluded and counted). With ``n_boot > 0`` and
    ``worker``, also a bootstrap-over-workers interval.
    """
    agrees, valid, lv, cat, met = _prepare(
        chosen_is_higher, level, category, method, q_left, q_right, chose_left
    )
    shape = _shape(lv, cat, met, n_levels, n_categories, n_methods)
    n_cells = int(np.prod(shape))
    cell = (met * shape[1] + cat) * shape[2] + lv
    n = np.bincount(cell[valid], minlength=n_cells)
    agree = np.bincount(cell[valid & agrees], minlength=n_cells)
    ties = np.bincount(cell[~valid], minlength=n_cells)
    lo, hi = wilson_interval(agree, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, agree / np.maximum(n, 1), np.nan)
    boot_lo = boot_hi = None
    if n_boot:
        if worker is None:
            raise ValueError("n_boot > 0 needs the worker codes")
        wk = _codes("worker", worker, agrees.size)
        boot_lo, boot_hi = _boot_cells(agrees, valid, cell, wk, n_cells, n_boot, rng, z)
        boot_lo, boot_hi = boot_lo.reshape(shape), boot_hi.reshape(shape)
    return AgreementTable(
        n=n.reshape(shape),
        agree=agree.reshape(shape),
        rate=rate.reshape(shape),
        lo=np.asarray(lo).reshape(shape),
        hi=np.asarray(hi).reshape(shape),
        n_q_ties=ties.reshape(shape),
        z=z,
        boot_lo=boot_lo,
        boot_hi=boot_hi,
        n_boot=int(n_boot),
    )


def curve(
    table: AgreementTable, method: int, category: int, *, ci: str = "wilson"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(levels, rates, lo, hi) for one method and category; ci is "wilson" or "bootstrap"."""
    if ci == "wilson":
        lo, hi = table.lo, table.hi
    elif ci == "bootstrap":
        if table.boot_lo is None or table.boot_hi is None:
            raise ValueError("this table has no bootstrap intervals (build it with n_boot > 0)")
        lo, hi = table.boot_lo, table.boot_hi
    else:
        raise ValueError(f"ci must be 'wilson' or 'bootstrap', got {ci!r}")
    levels = np.arange(table.shape[2])
    return (
        levels,
        table.rate[method, category].copy(),
        lo[method, category].copy(),
        hi[method, category].copy(),
    )


@dataclass(frozen=True)
class MethodSummary:
    method: int
    n: int
    agree: int
    rate: float  # pooled over categories and levels
    lo: float  # Wilson interval of the pooled rate
    hi: float
    category_mean: float  # mean over categories of the per-category rate
    category_std: float  # their std (ddof as requested; paper style "78.13% ± 0.06")
    n_categories: int  # categories with data


def method_summary(table: AgreementTable, *, ddof: int = 0) -> dict[int, MethodSummary]:
    """Per method: overall rate, and mean ± std across categories of the per-category
    rate (each category pooled over levels). Methods without data are left out."""
    n_mc = table.n.sum(axis=2)
    a_mc = table.agree.sum(axis=2)
    out = {}
    for m in range(table.shape[0]):
        n_tot = int(n_mc[m].sum())
        if n_tot == 0:
            continue
        k_tot = int(a_mc[m].sum())
        has = n_mc[m] > 0
        per_cat = a_mc[m, has] / n_mc[m, has]
        std = float(np.std(per_cat, ddof=ddof)) if per_cat.size > ddof else float("nan")
        lo, hi = wilson_interval(k_tot, n_tot, table.z)
        out[m] = MethodSummary(
            m, n_tot, k_tot, k_tot / n_tot, lo, hi, float(per_cat.mean()), std, int(has.sum())
        )
    return out


def across_methods(table: AgreementTable, methods=None, *, ddof: int = 0) -> tuple[float, float]:
    """Mean ± std over methods of each method's pooled rate (the paper's §4.1 figure)."""
    summ = method_summary(table)
    keys = list(summ) if methods is None else [m for m in methods if m in summ]
    if not keys:
        return float("nan"), float("nan")
    rates = np.array([summ[m].rate for m in keys])
    std = float(np.std(rates, ddof=ddof)) if rates.size > ddof else float("nan")
    return float(rates.mean()), std
