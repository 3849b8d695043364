"""Bootstrap replicates of the regularised Bradley–Terry MAP, many at once (pure numpy/scipy).

Every replicate is the *same estimator* as the point estimate — the maximiser of the I-LSR
objective F of ``analysis.bradley_terry`` (same alpha) — computed on Poisson-resampled
pair counts (``analysis.bt_resample``).  Only the way the maximiser is found differs:

1. **Chord iterations, all replicates together.**  Starting from the full-data MAP θ̂,
   each replicate takes steps  θ ← θ − H₀⁻¹ ∇(−F_b)(θ),  where H₀ is the Hessian of −F at
   θ̂ on the full data (the expected Hessian of every replicate).  H₀ is the same for all
   replicates, so its solves are shared: one Cholesky factorisation for small problems,
   one block preconditioned-CG (sparse H₀ times a block of right-hand sides) for large
   ones.  A replicate stops when its largest step is ≤ ``tol`` (default 1e-4, a tiny
   fraction of any standard error), i.e. at the replicate's own maximiser.
2. **Exact Newton fallback.**  Where a replicate's Hessian is far from H₀ (typically an item
   with one or two comparisons whose count was resampled to 0 or 3), the chord steps stop
   contracting; that replicate is then solved by the damped Newton method of
   ``bradley_terry`` from θ̂.  The number of fallbacks is reported.

Replicate b draws its counts from its own generator seeded from ``rng`` up front, so the
result does not depend on the number of worker threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.special import expit, logsumexp

from analysis.bradley_terry import _DENSE_MAX_ITEMS, _Laplacian, _newton
from analysis.bt_resample import PairCounts

__all__ = ["bootstrap_replicates"]

CHUNK_BYTES = 2**28  # ~48 bytes per pair and replicate in flight: at most ~256 MB per chunk


class _ChordSystem:
    """H₀ (Hessian of −F at θ̂, full data) and a batched solver for H₀ X = G with G ⟂ 1."""

    def __init__(self, pc: PairCounts, alpha: float, theta_hat: np.ndarray):
        m = pc.n_items
        self.m, self.alpha = m, alpha
        self.A = pc.incidence()
        self.AT = self.A.T.tocsr()
        self.abs_AT = abs(self.AT)
        sig = expit(self.A @ theta_hat)
        h = pc.n * sig * (1.0 - sig)
        lap = (self.AT @ sp.diags(h) @ self.A).tocsr()
        self.am2 = alpha * m * m
        self.s = np.exp(theta_hat - logsumexp(theta_hat)) if alpha else np.zeros(m)
        self.dense = m <= _DENSE_MAX_ITEMS
        self.diag0 = lap.diagonal() + self.am2 * (self.s - self.s * self.s)
        if self.dense:
            hess = lap.toarray()
            if alpha:
                hess += self.am2 * (np.diag(self.s) - np.outer(self.s, self.s))
            c = max(float(np.mean(np.diag(hess))), 1e-12)
            # an explicit inverse: one small matmul per chord step beats LAPACK's per-call overhead
            self.inverse = scipy.linalg.cho_solve(scipy.linalg.cho_factor(hess + c / m), np.eye(m))
        else:
            self.lap = lap
            diag = self.diag0
            # + c·11ᵀ/m makes H₀ positive definite without changing solutions ⟂ 1, and keeps
            # the system consistent after the per-replicate diagonal scaling (see ``step``)
            self.c = max(float(np.mean(diag)), 1e-12) / m
            diag = diag + self.c
            self.dinv = 1.0 / np.maximum(diag, 1e-300)

    def gradient(self, theta: np.ndarray, n: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(∇(−F), diagonal of the Hessian of −F) at every column of θ (m × B) for pair
        totals n, k (P × B)."""
        sig = expit(self.A @ theta)
        g = self.AT @ (n * sig - k)
        diag = self.abs_AT @ (n * (sig * (1.0 - sig)))
        if self.alpha:
            s = np.exp(theta - logsumexp(theta, axis=0, keepdims=True))
            g += self.alpha * self.m * (self.m * s - 1.0)
            diag += self.am2 * (s - s * s)
        return g, diag

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        out = self.lap @ x + self.c * x.sum(axis=0, keepdims=True)
        if self.alpha:
            s = self.s[:, None]
            out += self.am2 * (s * x - s * (self.s @ x)[None, :])
        return out

    def solve(self, g: np.ndarray) -> np.ndarray:
        """(H₀ + c·11ᵀ/m)⁻¹ g, column by column (positive definite)."""
        if self.dense:
            return self.inverse @ g
        # an inexact inner solve is enough: the outer iteration stops only when the gradient
        # itself is small (its step ≤ tol), so the fixed point is the exact MAP
        return _block_pcg(self._matvec, g, self.dinv, rtol=1e-3, maxiter=max(200, self.m))


def _block_pcg(matvec, rhs: np.ndarray, dinv: np.ndarray, rtol: float, maxiter: int) -> np.ndarray:
    """Jacobi-preconditioned CG on every column of ``rhs`` at once (independent step sizes)."""
    x = np.zeros_like(rhs)
    r = rhs.copy()
    target = rtol * np.linalg.norm(rhs, axis=0)
    z = dinv[:, None] * r
    p = z.copy()
    rz = np.einsum("ij,ij->j", r, z)
    for _ in range(maxiter):
        hp = matvec(p)
        php = np.einsum("ij,ij->j", p, hp)
        step = np.where(php > 0, rz / np.where(php > 0, php, 1.0), 0.0)
        x += step * p
        r -= step * hp
        if np.all(np.linalg.norm(r, axis=0) <= target):
            break
        z = dinv[:, None] * r
        rz_new = np.einsum("ij,ij->j", r, z)
        beta = np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        p = z + beta * p
        rz = rz_new
    return x


def _solve_chunk(system: _ChordSystem, pc: PairCounts, theta_hat, seeds, tol, max_iter, lap):
    """Replicates for ``seeds``: (samples (len(seeds), m), chord iterations, fallbacks)."""
    b = len(seeds)
    n = np.empty((pc.a.size, b), np.float32)  # counts and half counts are exact in float32
    k = np.empty((pc.a.size, b), np.float32)
    for j, seed in enumerate(seeds):
        n[:, j], k[:, j] = pc.resample(np.random.default_rng(int(seed)))
    theta = np.repeat(theta_hat[:, None], b, axis=1)
    active = np.ones(b, bool)
    fallback = np.zeros(b, bool)
    prev = np.full(b, np.inf)
    iterations = 0
    for it in range(max_iter):
        if not active.any():
            break
        iterations = it + 1
        cols = np.flatnonzero(active)
        if cols.size == b:
            grad, diag = system.gradient(theta, n, k)
        else:  # only the replicates still moving
            grad, diag = system.gradient(theta[:, cols], n[:, cols], k[:, cols])
        # scaled chord step: H_b ≈ T H₀ T with T = diag(√(diag H_b / diag H₀)), so every item's
        # own curvature is exact (an item running away from θ̂ gets its long step at once)
        scale = np.sqrt(system.diag0[:, None] / np.maximum(diag, 1e-300))
        delta = np.zeros_like(theta)
        delta[:, cols] = -scale * system.solve(scale * grad)
        delta[:, cols] -= delta[:, cols].mean(axis=0, keepdims=True)
        theta += delta
        step = np.abs(delta).max(axis=0)
        done = active & (step <= tol)
        diverging = active & ~done & (step > 2.0 * prev)
        fallback |= diverging
        active &= ~(done | diverging)
        prev = np.where(active, step, prev)
    fallback |= active
    for j in np.flatnonzero(fallback).tolist():
        theta[:, j], *_ = _newton(
            pc.n_items, pc.a, pc.b, n[:, j].astype(np.float64), k[:, j].astype(np.float64), system.alpha,
            theta_hat, tol, 100, lap,
        )  # fmt: skip
    theta -= theta.mean(axis=0, keepdims=True)
    return theta.T, iterations, int(fallback.sum())


def bootstrap_replicates(
    pc: PairCounts,
    alpha: float,
    theta_hat: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    *,
    tol: float = 1e-4,
    max_iter: int = 30,
    workers: int = 1,
) -> tuple[np.ndarray, dict]:
    """(samples of shape (n_boot, n_items), info) — Poisson-bootstrap MAPs, centred like θ̂."""
    if alpha <= 0:
        raise ValueError("the bootstrap needs alpha > 0: a resample can disconnect the comparison graph")
    if n_boot < 1:
        raise ValueError("n_boot must be ≥ 1")
    theta_hat = np.asarray(theta_hat, np.float64)
    theta_hat = theta_hat - theta_hat.mean()
    seeds = rng.integers(0, 2**63 - 1, size=n_boot)
    system = _ChordSystem(pc, float(alpha), theta_hat)
    lap = None if pc.n_items <= _DENSE_MAX_ITEMS else _Laplacian(pc.n_items, pc.a, pc.b)
    size = int(np.clip(CHUNK_BYTES // (48 * max(pc.a.size, 1)), 1, 256))
    chunks = [seeds[i : i + size] for i in range(0, n_boot, size)]

    def run(chunk):
        return _solve_chunk(system, pc, theta_hat, chunk, tol, max_iter, lap)

    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, chunks))
    else:
        parts = [run(c) for c in chunks]
    samples = np.concatenate([p[0] for p in parts], axis=0)
    info = {
        "n_boot": int(n_boot),
        "resampling": "Poisson bootstrap of the win/tie counts per pair",
        "tol": tol,
        "max_chord_iterations": max(p[1] for p in parts),
        "n_newton_fallback": sum(p[2] for p in parts),
    }
    return samples, info
