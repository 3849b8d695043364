"""Bootstrap replicates of the regularised Bradley–Terry MAP, many at once (pure numpy/scipy).

Every replicate is the *same estimator* as the point estimate — the maximiser of the I-LSR
objective F of ``analysis.bradley_terry`` (same alpha) — computed on Poisson-resampled
pair counts (``analysis.bt_resample``).  Only the way the maximiser is found differs:

1. **Inexact Newton, replicates side by side.**  Replicates are solved in groups of
   ``GROUP`` (one column each; fewer for studies with tens of millions of pairs).  Every
   replicate starts from the full-data MAP θ̂ (a warm start: a replicate's optimum is a
   standard error away) and takes Newton steps with *its own* Hessian
   H_b = Aᵀ diag(h_b) A + prior term (A the signed pair incidence, h_b the replicate's
   per-pair curvature).  Each step solves H_b δ = −∇ to a relative residual of
   ``FORCING`` by Jacobi-preconditioned conjugate gradients, all columns at once (one sparse
   pass over the pairs per CG iteration).  No score moves more than ``MAX_STEP`` in one step
   (a trust region: an item resampled down to the prior's curvature alone would otherwise
   fly off), and a step that does not lower the gradient norm is halved (backtracking); a
   replicate stops when its largest step is ≤ ``tol`` (see ``TOL``).
2. **Exact Newton fallback.**  A replicate that has not stopped after ``max_iter`` steps (or
   whose step is numerically lost) is solved by the damped float64 Newton method of
   ``bradley_terry`` from θ̂; the number is reported in the info (0 in the benchmarks and the simulated studies).

The passes over the pairs (gradient, Hessian–vector products) run in float32 on blocks of
``BLOCK`` pairs, with θ and every per-item sum in float64: the per-pair terms are O(1) and
their rounding error (~1e-7 relative) is far below ``tol``.  The logistic is evaluated as
σ(d) = (1 + tanh(d/2))/2, which numpy vectorises.

Group g draws its counts from its own generator, seeded from ``rng`` up front, and the group
sizes depend on the data alone, so the result does not depend on the number of worker threads.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from analysis.bradley_terry import _DENSE_MAX_ITEMS, _Laplacian, _newton
from analysis.bt_resample import PairCounts, Resampler

__all__ = ["bootstrap_replicates", "replicate_counts"]

GROUP = 25  # replicates solved side by side (fixed, so results do not depend on the threads)
GROUP_BYTES = 2**29  # at most ~512 MB of per-pair arrays per group (fewer replicates if needed)
BLOCK = 32_768  # pairs per block of a pass over the pairs (bounds the float32 temporaries)
FORCING = 0.25  # each Newton step solves its linear system to this relative residual
MAX_CG = 200
MAX_STEP = 4.0  # largest move of any score in one Newton step (θ units: e⁴ ≈ 55 in odds)
# A replicate stops when its largest Newton step is ≤ tol_eff = min(TOL, STEP_IN_SE · SE_min),
# SE_min = 1/√(largest diagonal of the full-data Hessian at θ̂), a lower bound of the smallest
# standard error. The inexact Newton steps contract the error at least FORCING-fold, so the
# error left after that step is ≤ FORCING/(1 − FORCING)·tol_eff ≈ 0.07 standard errors, under
# 2% of any interval's width (tests/analysis/test_bt_inference.py: intervals within 2% of their
# width of exactly solved replicates; measured ≤ 0.2%).
TOL = 0.05
STEP_IN_SE = 0.2
TOL_FLOOR = 1e-5


@dataclass(frozen=True)
class _Block:
    lo: int
    hi: int
    items: np.ndarray | slice  # the items these pairs touch (a slice: all of them)
    inc: sp.csr_matrix  # (pairs, len(items)) signed incidence, float32: inc @ θ[items] = θ_a − θ_b
    inc_t: sp.csc_matrix  # its transpose (scatter back to the items)
    abs_t: sp.csc_matrix  # |incidence|ᵀ (sums a per-pair quantity onto both items)


class _Pairs:
    """The compared pairs cut into blocks, and the passes over them for a group of replicates."""

    def __init__(self, pc: PairCounts, alpha: float, theta_hat: np.ndarray):
        self.m = pc.n_items
        self.size = pc.a.size
        self.alpha = alpha
        self.am2 = alpha * self.m * self.m
        self.blocks = []
        for lo in range(0, self.size, BLOCK):
            hi = min(lo + BLOCK, self.size)
            ends = np.concatenate([pc.a[lo:hi], pc.b[lo:hi]])
            touched, inv = np.unique(ends, return_inverse=True)
            items: np.ndarray | slice = touched
            if 4 * touched.size > self.m:  # most items: index them directly (no gather, no fancy add)
                items, inv = slice(None), ends
            inv = inv.reshape(2, hi - lo)
            width = self.m if isinstance(items, slice) else touched.size
            rows = np.repeat(np.arange(hi - lo), 2)
            cols = inv.T.reshape(-1)
            signs = np.tile(np.array([1.0, -1.0], np.float32), hi - lo)
            inc = sp.csr_matrix((signs, (rows, cols)), shape=(hi - lo, width))
            self.blocks.append(_Block(lo, hi, items, inc, inc.T, abs(inc).T))
        # every replicate starts at θ̂: its first pass shares tanh((θ̂_a − θ̂_b)/2) per pair
        d = (theta_hat[pc.a] - theta_hat[pc.b]) / 2
        self.t_hat = np.tanh(d).astype(np.float32)[:, None]
        self.one_plus, self.one_minus_sq = 1 + self.t_hat, 1 - self.t_hat**2

    def gradient(self, theta, n, k2, h_out, at_theta_hat=False):
        """(∇(−F_b), diagonal of its Hessian, softmax weights) at every column of θ (m × G) for the
        counts n, 2k (P × G integers); stores 4 × each pair's curvature nσ(1 − σ) in ``h_out``.
        ``at_theta_hat``: every column of θ is θ̂ (the first step)."""
        m, cols = theta.shape
        g = np.zeros((m, cols))
        diag = np.zeros((m, cols))
        half = (0.5 * theta).astype(np.float32)
        for blk in self.blocks:
            lo, hi = blk.lo, blk.hi
            nf = n[lo:hi].astype(np.float32)
            if at_theta_hat:
                r = nf * self.one_plus[lo:hi]  # n(1 + t) = 2nσ, t = tanh((θ_a − θ_b)/2)
                h = np.multiply(nf, self.one_minus_sq[lo:hi], out=h_out[lo:hi])  # n(1 − t²) = 4nσ(1 − σ)
            else:
                t = blk.inc @ half[blk.items]  # (θ_a − θ_b)/2
                np.tanh(t, out=t)
                r = nf * t
                r += nf  # 2nσ
                h = np.multiply(r, t, out=h_out[lo:hi])
                np.subtract(r, h, out=h)  # 2nσ(1 − t) = 4nσ(1 − σ)
            r -= k2[lo:hi]  # 2(nσ − k)
            g[blk.items] += blk.inc_t @ r
            diag[blk.items] += blk.abs_t @ h
        g *= 0.5
        diag *= 0.25
        s = np.exp(theta - logsumexp(theta, axis=0, keepdims=True))
        if self.alpha:
            g += self.alpha * m * (m * s - 1.0)
            diag += self.am2 * (s - s * s)
        return g, diag, s

    def hessian_times(self, x, h, s):
        """H_b x_b for every column (h: the stored 4·nσ(1 − σ) per pair)."""
        out = np.zeros_like(x)
        x32 = x.astype(np.float32)
        for blk in self.blocks:
            y = blk.inc @ x32[blk.items]
            y *= h[blk.lo : blk.hi]
            out[blk.items] += blk.inc_t @ y
        out *= 0.25
        if self.alpha:
            out += self.am2 * (s * x - s * np.einsum("ij,ij->j", s, x)[None, :])
        return out


def _newton_steps(pairs: _Pairs, g, diag, h, s):
    """Inexact Newton steps −H_b⁻¹ g_b (Jacobi-preconditioned CG to relative residual FORCING)."""
    m = pairs.m
    # + c·11ᵀ/m: H_b is singular along 1 (g ⟂ 1); this makes it definite without changing δ ⟂ 1
    c = np.maximum(diag.mean(axis=0), 1e-12) / m
    dinv = 1.0 / np.maximum(diag + c, 1e-300)
    x = np.zeros_like(g)
    r = -g
    target = FORCING * np.linalg.norm(g, axis=0)
    z = dinv * r
    p = z.copy()
    rz = np.einsum("ij,ij->j", r, z)
    for _ in range(min(MAX_CG, 2 * m)):
        hp = pairs.hessian_times(p, h, s) + c * p.sum(axis=0)
        php = np.einsum("ij,ij->j", p, hp)
        step = np.where(php > 0, rz / np.where(php > 0, php, 1.0), 0.0)
        x += step * p
        r -= step * hp
        if np.all(np.linalg.norm(r, axis=0) <= target):
            break
        z = dinv * r
        rz_new = np.einsum("ij,ij->j", r, z)
        p = z + np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0) * p
        rz = rz_new
    return x - x.mean(axis=0, keepdims=True)


def _solve_group(pairs: _Pairs, pc: PairCounts, theta_hat, n, k2, tol, max_iter, exact_newton):
    """MAPs of the replicates whose counts are the columns of n, 2k: (samples (G, m), steps, fallbacks)."""
    size = n.shape[1]
    n_all, k2_all = n, k2
    result = np.repeat(theta_hat[:, None], size, axis=1)
    theta = result.copy()
    ids = np.arange(size)  # group column of each working column
    base = theta.copy()  # where the current step started
    delta = np.zeros_like(theta)  # the current Newton step
    frac = np.ones(size)  # the fraction of it taken
    prev = np.full(size, np.inf)  # gradient norm at base
    # float32 rounding level of a gradient: a larger norm than before below it is not "worse"
    floor = 1e-6 * float(
        np.linalg.norm(np.bincount(pc.a, pc.n, pc.n_items) + np.bincount(pc.b, pc.n, pc.n_items))
    )
    h = np.empty((pc.a.size, size), np.float32)
    failed: list[int] = []
    steps = 0
    for it in range(max_iter):
        if not ids.size:
            break
        steps = it + 1
        g, diag, s = pairs.gradient(theta, n, k2, h, at_theta_hat=it == 0)
        norm = np.linalg.norm(g, axis=0)
        worse = ~(norm <= np.maximum(prev, floor))  # the step overshot (or overflowed): halve it
        frac[worse] *= 0.5
        theta[:, worse] = base[:, worse] + frac[worse] * delta[:, worse]
        take = ~worse
        g[:, worse] = 0.0
        with np.errstate(invalid="ignore", over="ignore"):
            new = _newton_steps(pairs, g, diag, h, s)
        broken = ~np.isfinite(new).all(axis=0)  # numerically lost: solved exactly below
        new[:, broken] = 0.0
        # a trust region: where the Hessian is nearly flat (an item left with only the prior's
        # curvature) a full Newton step can fly off; no column moves more than MAX_STEP at once
        new *= np.minimum(1.0, MAX_STEP / np.maximum(np.abs(new).max(axis=0), 1e-300))
        delta[:, take], frac[take], prev[take] = new[:, take], 1.0, norm[take]
        base[:, take] = theta[:, take]
        theta[:, take] += new[:, take]
        finished = take & ~broken & (np.abs(new).max(axis=0) <= tol)
        stuck = (frac < 2.0**-10) | broken
        result[:, ids[finished]] = theta[:, finished]
        failed += ids[stuck].tolist()
        keep = ~(finished | stuck)
        if not keep.all():
            theta, base, delta = theta[:, keep], base[:, keep], delta[:, keep]
            frac, prev, ids = frac[keep], prev[keep], ids[keep]
            n, k2 = n[:, keep], k2[:, keep]
            h = np.empty((pc.a.size, ids.size), np.float32)
    failed += ids.tolist()
    for j in failed:
        result[:, j] = exact_newton(n_all[:, j].astype(np.float64), 0.5 * k2_all[:, j].astype(np.float64))
    result -= result.mean(axis=0, keepdims=True)
    return result.T, steps, len(failed)


def replicate_counts(pc: PairCounts, n_boot: int, rng: np.random.Generator):
    """The resampled counts of every replicate, group by group, in order: yields (n*, 2·k*) of
    shape (P, group size), one replicate per column (what ``bootstrap_replicates`` solves)."""
    resampler = Resampler(pc)
    for seed, size in _groups(pc, n_boot, rng):
        yield resampler.draw(np.random.default_rng(seed), size)


def _groups(pc: PairCounts, n_boot: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(seed, number of replicates) of every group, drawn from ``rng`` up front. A group holds
    ``GROUP`` replicates, fewer when their per-pair arrays (counts and curvatures) would pass
    ``GROUP_BYTES`` — a function of the data alone, never of the threads."""
    per_replicate = pc.a.size * (4 + 2 * np.dtype(pc.count_dtype()).itemsize)
    size = int(np.clip(GROUP_BYTES // max(per_replicate, 1), 1, GROUP))
    seeds = rng.integers(0, 2**63 - 1, size=-(-n_boot // size)).tolist()
    return [(seed, min(size, n_boot - g * size)) for g, seed in enumerate(seeds)]


def bootstrap_replicates(
    pc: PairCounts,
    alpha: float,
    theta_hat: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    *,
    tol: float = TOL,
    max_iter: int = 30,
    workers: int = 1,
) -> tuple[np.ndarray, dict]:
    """(samples of shape (n_boot, n_items), info) — Poisson-bootstrap MAPs, centred like θ̂.

    ``tol`` bounds the largest last Newton step of every replicate (in θ units), lowered to
    ``STEP_IN_SE`` smallest standard errors and raised to ``TOL_FLOOR`` (the float32 rounding
    level of the passes); ``info["tol"]`` is the one used."""
    if alpha <= 0:
        raise ValueError("the bootstrap needs alpha > 0: a resample can disconnect the comparison graph")
    if n_boot < 1:
        raise ValueError("n_boot must be ≥ 1")
    theta_hat = np.asarray(theta_hat, np.float64)
    theta_hat = theta_hat - theta_hat.mean()
    sig = 0.5 * (1.0 + np.tanh(0.5 * (theta_hat[pc.a] - theta_hat[pc.b])))
    curv = pc.n * sig * (1.0 - sig)
    top = float(
        np.max(np.bincount(pc.a, curv, pc.n_items) + np.bincount(pc.b, curv, pc.n_items), initial=0.0)
    )
    if top > 0:
        tol = min(float(tol), STEP_IN_SE / np.sqrt(top))
    tol = max(float(tol), TOL_FLOOR)
    pairs = _Pairs(pc, float(alpha), theta_hat)
    laplacian: list[_Laplacian] = []  # built on the first fallback only
    lock = threading.Lock()

    def exact_newton(n, k):
        with lock:
            if not laplacian and pc.n_items > _DENSE_MAX_ITEMS:
                laplacian.append(_Laplacian(pc.n_items, pc.a, pc.b))
        theta, *_ = _newton(
            pc.n_items, pc.a, pc.b, n, k, float(alpha), theta_hat, min(tol, 1e-6), 100,
            laplacian[0] if laplacian else None,
        )  # fmt: skip
        return theta

    resampler = Resampler(pc)

    def run(job):
        seed, size = job
        n, k2 = resampler.draw(np.random.default_rng(seed), size)
        return _solve_group(pairs, pc, theta_hat, n, k2, tol, max_iter, exact_newton)

    jobs = _groups(pc, n_boot, rng)
    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, jobs))
    else:
        parts = [run(job) for job in jobs]
    samples = np.concatenate([p[0] for p in parts], axis=0)
    info = {
        "n_boot": int(n_boot),
        "resampling": "Poisson bootstrap of the win/tie counts per pair",
        "tol": tol,
        "max_newton_steps": max(p[1] for p in parts),
        "n_newton_fallback": sum(p[2] for p in parts),
    }
    return samples, info
