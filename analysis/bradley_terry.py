"""Bradley–Terry rankings from pairwise human answers (pure numpy/scipy, no Django).

Model: P(i beats j) = σ(θ_i − θ_j) = w_i / (w_i + w_j), with w = exp(θ).

The regularised objective (shared by the reference and the fast path)
---------------------------------------------------------------------
The reference is ``choix.ilsr_pairwise(n_items, data, alpha)`` (I-LSR, Maystre &
Grossglauser 2015).  Its ``alpha`` does NOT add pseudo-comparisons and is NOT the L2
penalty of ``choix.opt_pairwise`` nor the Gamma prior of ``choix.mm_pairwise`` (those
two use the same name for different objectives).  I-LSR adds ``alpha`` to every
off-diagonal rate of the LSR Markov chain, with weights normalised so that
mean(w) = 1 (``choix.utils.exp_transform``).  Writing out global balance of the
chain at the I-LSR fixed point gives, for every item i,

    ∂ℓ/∂θ_i = α·n·(n·s_i − 1),        s = softmax(θ),  n = n_items,

where ℓ is the BT log-likelihood.  The right-hand side is the gradient of the convex,
shift-invariant penalty  R(θ) = α·n·(n·logsumexp(θ) − Σθ)  =  α·n²·log(AM(w)/GM(w)) + const,
so the I-LSR fixed point is exactly the maximiser of

    F(θ) = ℓ(θ) − α·n²·log( mean(w) / geomean(w) ),      centred so that mean(θ) = 0.

F is strictly concave on {mean θ = 0} for α > 0, so the optimum is unique even when
the comparison graph is disconnected or an item never loses.  ``fit_fast`` maximises
this F with Newton's method (sparse Hessian + rank-one term, preconditioned CG for
large problems), so it agrees with ``fit_choix`` up to the reference's own
convergence tolerance (tests: ≤ 1e-6 on small problems).

Scale of α: every item gets a pseudo-rate of α·(n−1) against ~(its #comparisons)/2
from data, so the prior's strength grows with n_items.  α ≈ 0.01 / n_items is weak;
α ≈ 1 / n_items is a strong shrinkage towards equal scores.

Ties ("no difference" answers, if a study allows them) count as half a win each way
(a tie contributes ½·log σ(θ_i−θ_j) + ½·log σ(θ_j−θ_i)).  This keeps the objective
above (it is I-LSR on fractional counts) and needs no extra parameter; Rao–Kupper or
Davidson models, which add a tie parameter, are the alternatives and are not used.
``fit_choix`` only takes strict outcomes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.stats
from scipy.sparse.csgraph import connected_components as _cc
from scipy.special import expit, logsumexp

__all__ = [
    "BTResult",
    "RankCorrelation",
    "bootstrap",
    "connected_components",
    "fit",
    "fit_choix",
    "fit_fast",
    "neg_objective",
    "rank_correlation",
]

_DENSE_MAX_ITEMS = 400


# --------------------------------------------------------------------------- input


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _check_comparisons(
    n_items: int, winners, losers, ties=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if int(n_items) != n_items or n_items < 1:
        raise ValueError(f"n_items must be a positive integer, got {n_items!r}")
    w = np.asarray(winners)
    l_ = np.asarray(losers)
    if w.ndim != 1 or l_.ndim != 1 or w.shape != l_.shape:
        raise ValueError("winners and losers must be 1-D arrays of the same length")
    if w.size and not (np.issubdtype(w.dtype, np.integer) and np.issubdtype(l_.dtype, np.integer)):
        raise ValueError("winners and losers must be integer item indices")
    w = w.astype(np.int64, copy=False)
    l_ = l_.astype(np.int64, copy=False)
    if w.size:
        lo = min(w.min(), l_.min())
        hi = max(w.max(), l_.max())
        if lo < 0 or hi >= n_items:
            raise ValueError(f"item indices must be in [0, {n_items}), got range [{lo}, {hi}]")
        if np.any(w == l_):
            raise ValueError("an item cannot be compared with itself (winner == loser)")
    t = None
    if ties is not None:
        t = np.asarray(ties, dtype=bool)
        if t.shape != w.shape:
            raise ValueError("ties must be a boolean array with one entry per comparison")
    return w, l_, t


@dataclass(frozen=True)
class _Pairs:
    """Comparisons aggregated per unordered pair (a < b)."""

    n_items: int
    a: np.ndarray  # (P,) int64
    b: np.ndarray  # (P,) int64
    inverse: np.ndarray  # (m,) pair index of each comparison
    a_score: np.ndarray  # (m,) 1 if a won, 0 if b won, 0.5 for a tie
    n: np.ndarray = field(repr=False)  # (P,) comparisons per pair
    k: np.ndarray = field(repr=False)  # (P,) wins of a per pair (ties count 1/2)

    @classmethod
    def build(cls, n_items: int, w: np.ndarray, l_: np.ndarray, t: np.ndarray | None) -> _Pairs:
        a = np.minimum(w, l_)
        b = np.maximum(w, l_)
        a_score = (w == a).astype(np.float64)
        if t is not None:
            a_score[t] = 0.5
        uniq, inverse = np.unique(a * n_items + b, return_inverse=True)
        inverse = inverse.reshape(-1)
        n = np.bincount(inverse, minlength=uniq.size).astype(np.float64)
        k = np.bincount(inverse, weights=a_score, minlength=uniq.size)
        return cls(n_items, uniq // n_items, uniq % n_items, inverse, a_score, n, k)

    def reweighted(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pair totals when comparison j is used ``counts[j]`` times (bootstrap)."""
        size = self.a.size
        n = np.bincount(self.inverse, weights=counts, minlength=size)
        k = np.bincount(self.inverse, weights=counts * self.a_score, minlength=size)
        return n, k


# ------------------------------------------------------------------------ objective


def _neg_objective(theta, a, b, n, k, alpha, d=None) -> float:
    if d is None:
        d = theta[a] - theta[b]
    # k·softplus(−d) + (n−k)·softplus(d), with softplus(d) = softplus(−d) + d
    nll = np.dot(n, np.logaddexp(0.0, -d)) + np.dot(n - k, d)
    if alpha:
        m = theta.size
        nll += alpha * m * (m * logsumexp(theta) - theta.sum())
    return float(nll)


def neg_objective(n_items: int, winners, losers, alpha: float, theta, ties=None) -> float:
    """−F(θ): the negative regularised log-likelihood that both fits minimise (see module doc).

    Useful to compare two solutions; constant terms are dropped.
    """
    w, l_, t = _check_comparisons(n_items, winners, losers, ties)
    p = _Pairs.build(n_items, w, l_, t)
    return _neg_objective(np.asarray(theta, float), p.a, p.b, p.n, p.k, float(alpha))


class _Laplacian:
    """The pair graph's weighted Laplacian L(h) = Aᵀ diag(h) A, A the signed pair incidence
    (fixed); ``build(h)`` gives its off-diagonal part as an operator, and its diagonal."""

    def __init__(self, n_items: int, a: np.ndarray, b: np.ndarray):
        p = a.size
        rows = np.repeat(np.arange(p), 2)
        cols = np.column_stack([a, b]).reshape(-1)
        self.inc = sp.csr_matrix((np.tile([1.0, -1.0], p), (rows, cols)), shape=(p, n_items))
        self.inc_t = self.inc.T  # CSC: scatters back to the items in one pass
        self.n_items = n_items
        self.a, self.b = a, b

    def build(self, h: np.ndarray) -> tuple[_OffDiagonal, np.ndarray]:
        diag = np.bincount(self.a, h, self.n_items) + np.bincount(self.b, h, self.n_items)
        return _OffDiagonal(self, h, diag), diag


@dataclass(frozen=True)
class _OffDiagonal:
    """(L(h) − diag L(h)) as an operator: x ↦ Aᵀ(h ⊙ A x) − diag ⊙ x."""

    lap: _Laplacian
    h: np.ndarray
    diag: np.ndarray

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.lap.inc_t @ (self.h * (self.lap.inc @ x)) - self.diag * x


def _pcg(matvec, rhs: np.ndarray, dinv: np.ndarray, rtol: float, maxiter: int) -> np.ndarray:
    """Jacobi-preconditioned CG for the PSD system H x = rhs with rhs ⟂ null(H) = span(1)."""
    x = np.zeros_like(rhs)
    r = rhs.copy()
    target = rtol * np.linalg.norm(rhs)
    z = dinv * r
    p = z.copy()
    rz = r @ z
    for _ in range(maxiter):
        hp = matvec(p)
        php = p @ hp
        if php <= 0:
            break
        step = rz / php
        x += step * p
        r -= step * hp
        if np.linalg.norm(r) <= target:
            break
        z = dinv * r
        rz_new = r @ z
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x


def _newton(
    n_items: int,
    a: np.ndarray,
    b: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    alpha: float,
    theta0: np.ndarray | None,
    tol: float,
    max_iter: int,
    lap: _Laplacian | None = None,
) -> tuple[np.ndarray, int, bool]:
    """Minimise −F(θ) by damped Newton; returns (centred θ, iterations, converged)."""
    m = n_items
    theta = np.zeros(m) if theta0 is None else np.asarray(theta0, float) - np.mean(theta0)
    dense = m <= _DENSE_MAX_ITEMS
    if not dense and lap is None:
        lap = _Laplacian(m, a, b)
    s = np.zeros(m)  # the prior's softmax weights, used only when alpha > 0
    am2 = alpha * m * m
    d = theta[a] - theta[b]
    f = _neg_objective(theta, a, b, n, k, alpha, d)
    grad_floor = 1e-13 * max(1.0, float(n.sum()))
    for it in range(1, max_iter + 1):
        sig = expit(d)
        r = n * sig - k  # d(−ℓ)/dd per pair
        h = n * sig * (1.0 - sig)
        grad = np.bincount(a, r, m) - np.bincount(b, r, m)
        if alpha:
            s = np.exp(theta - logsumexp(theta))
            grad += alpha * m * (m * s - 1.0)
        gmax = np.abs(grad).max() if m else 0.0
        if gmax <= grad_floor:
            return theta - theta.mean(), it - 1, True
        if dense:
            hess = np.zeros((m, m))
            np.add.at(hess, (a, b), -h)
            np.add.at(hess, (b, a), -h)
            hess[np.diag_indices(m)] += np.bincount(a, h, m) + np.bincount(b, h, m)
            if alpha:
                hess += am2 * (np.diag(s) - np.outer(s, s))
            # H has null space span(1) and grad ⟂ 1: adding c·11ᵀ makes it PD without
            # changing the solution, which then satisfies 1ᵀδ = 0.
            c = max(float(np.mean(np.diag(hess))), 1e-300)
            try:
                delta = -scipy.linalg.solve(hess + c / m, grad, assume_a="pos")
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
                delta = -np.linalg.lstsq(hess + c / m, grad, rcond=None)[0]
        else:
            assert lap is not None  # built above for the sparse path
            off, diag = lap.build(h)
            if alpha:
                hdiag = diag + am2 * (s - s * s)

                def matvec(x, off=off, diag=diag, s=s):
                    return diag * x + off @ x + am2 * (s * x - s * (s @ x))
            else:
                hdiag = diag

                def matvec(x, off=off, diag=diag, s=s):
                    return diag * x + off @ x

            dinv = np.where(hdiag > 0, 1.0 / np.where(hdiag > 0, hdiag, 1.0), 0.0)
            # CG steps are cheap next to objective evaluations: solve fairly tightly
            rtol = min(1e-3, max(1e-12, 1e-3 * float(gmax)))
            delta = -_pcg(matvec, grad, dinv, rtol, maxiter=max(200, 2 * m))
        delta -= delta.mean()
        gd = float(grad @ delta)
        if gd >= 0:  # not a descent direction (numerically flat): done
            return theta - theta.mean(), it, bool(np.abs(delta).max() <= tol)
        slack = 1e-13 * max(1.0, abs(f))
        t = 1.0
        for _ in range(40):
            cand = theta + t * delta
            d_new = cand[a] - cand[b]
            f_new = _neg_objective(cand, a, b, n, k, alpha, d_new)
            if f_new <= f + 1e-4 * t * gd + slack:
                break
            t *= 0.5
        theta, f, d = cand, f_new, d_new
        if t * np.abs(delta).max() <= tol:
            return theta - theta.mean(), it, True
    return theta - theta.mean(), max_iter, False


# ------------------------------------------------------------------------- public


def connected_components(n_items: int, winners, losers) -> tuple[int, np.ndarray]:
    """Components of the undirected comparison graph: (n_components, label per item).

    An item never compared is a component of its own.
    """
    w, l_, _ = _check_comparisons(n_items, winners, losers)
    graph = sp.coo_matrix((np.ones(w.size), (w, l_)), shape=(n_items, n_items)).tocsr()
    n_comp, labels = _cc(graph, directed=False)
    return int(n_comp), labels


def fit_choix(
    n_items: int, winners, losers, alpha: float, *, tol: float = 1e-8, max_iter: int = 100
) -> np.ndarray:
    """Reference fit: ``choix.ilsr_pairwise`` (strict outcomes only). Centred scores."""
    import choix

    w, l_, _ = _check_comparisons(n_items, winners, losers)
    data = np.column_stack([w, l_]).tolist()
    theta = choix.ilsr_pairwise(n_items, data, alpha=alpha, max_iter=max_iter, tol=tol)
    return theta - theta.mean()


def _fit_fast(n_items, winners, losers, alpha, ties, tol, max_iter, theta0=None):
    if alpha < 0 or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number ≥ 0, got {alpha!r}")
    w, l_, t = _check_comparisons(n_items, winners, losers, ties)
    if alpha == 0 and connected_components(n_items, w, l_)[0] > 1:
        raise ValueError(
            "the comparison graph is disconnected, so the unregularised Bradley–Terry "
            "estimate does not exist; use alpha > 0"
        )
    p = _Pairs.build(n_items, w, l_, t)
    theta, n_iter, ok = _newton(n_items, p.a, p.b, p.n, p.k, float(alpha), theta0, tol, max_iter)
    return theta, n_iter, ok, p, w, l_, t


def fit_fast(
    n_items: int,
    winners,
    losers,
    alpha: float,
    tol: float = 1e-10,
    max_iter: int = 100,
    *,
    ties=None,
    initial_params=None,
) -> np.ndarray:
    """Vectorised maximiser of the I-LSR objective F (module doc); centred scores.

    ``ties[j]`` marks comparison j as a tie (half a win each way). ``tol`` bounds the
    largest parameter change of the last Newton step. Emits a RuntimeWarning if
    ``max_iter`` is reached.
    """
    theta, _, ok, *_ = _fit_fast(n_items, winners, losers, alpha, ties, tol, max_iter, initial_params)
    if not ok:
        warnings.warn(
            f"Bradley–Terry Newton did not converge in {max_iter} iterations", RuntimeWarning, stacklevel=2
        )
    return theta


@dataclass(frozen=True)
class BTResult:
    scores: np.ndarray  # centred θ per item
    alpha: float
    n_items: int
    n_comparisons: int
    n_ties: int
    n_components: int  # of the undirected comparison graph
    component_labels: np.ndarray
    n_strong_components: int  # of the directed "beat" graph (ties count both ways)
    never_compared: np.ndarray  # item indices with no comparison
    converged: bool
    n_iter: int
    warning: str | None  # human-readable, None when the graph is fine

    def to_dict(self) -> dict:
        return {
            "scores": self.scores.tolist(),
            "alpha": self.alpha,
            "n_items": self.n_items,
            "n_comparisons": self.n_comparisons,
            "n_ties": self.n_ties,
            "n_components": self.n_components,
            "n_strong_components": self.n_strong_components,
            "never_compared": self.never_compared.tolist(),
            "converged": self.converged,
            "n_iter": self.n_iter,
            "warning": self.warning,
        }


def fit(
    n_items: int,
    winners,
    losers,
    alpha: float,
    *,
    ties=None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> BTResult:
    """``fit_fast`` plus a report on the comparison graph (never raises on a bad graph)."""
    theta, n_iter, ok, p, w, l_, t = _fit_fast(n_items, winners, losers, alpha, ties, tol, max_iter)
    n_comp, labels = connected_components(n_items, w, l_)
    src, dst = l_, w  # edge loser -> winner; a tie goes both ways
    if t is not None and t.any():
        src = np.concatenate([src, w[t]])
        dst = np.concatenate([dst, l_[t]])
    beat = sp.coo_matrix((np.ones(src.size), (src, dst)), shape=(n_items, n_items)).tocsr()
    n_strong = int(_cc(beat, directed=True, connection="strong")[0])
    degree = np.bincount(w, minlength=n_items) + np.bincount(l_, minlength=n_items)
    never = np.flatnonzero(degree == 0)
    notes = []
    if never.size:
        notes.append(
            f"{never.size} item(s) were never compared; their scores come from the prior (alpha) only"
        )
    if n_comp > 1:
        sizes = np.bincount(labels)
        notes.append(
            f"the comparison graph is disconnected ({n_comp} components, largest {sizes.max()} items); "
            "scores in different components are related only through the prior (alpha), not by data"
        )
    elif n_strong > 1:
        notes.append(
            "some items never lost (or never won) against the rest; without alpha the maximum-likelihood "
            "scores would be infinite, so their scores are bounded by the prior"
        )
    if not ok:
        notes.append(f"Newton did not converge in {max_iter} iterations")
    return BTResult(
        scores=theta,
        alpha=float(alpha),
        n_items=int(n_items),
        n_comparisons=int(w.size),
        n_ties=int(t.sum()) if t is not None else 0,
        n_components=n_comp,
        component_labels=labels,
        n_strong_components=n_strong,
        never_compared=never,
        converged=ok,
        n_iter=n_iter,
        warning="; ".join(notes) or None,
    )


def bootstrap(
    n_items: int,
    winners,
    losers,
    alpha: float,
    n_boot: int,
    rng: np.random.Generator | int | None,
    *,
    ties=None,
    ci: float = 0.95,
    tol: float | None = None,
    max_iter: int = 30,
    theta_hat: np.ndarray | None = None,
    return_samples: bool = False,
):
    """Percentile bootstrap intervals of the centred scores (Poisson bootstrap of the counts).

    The comparisons are aggregated into win/tie counts per pair, every replicate resamples
    those counts and is refitted to the same objective (``analysis.bt_bootstrap``), warm-started
    from the full fit ``theta_hat`` (computed if not given). ``tol`` bounds the largest last
    Newton step of each refit (default ``bt_bootstrap.TOL``). Returns (lo, hi), or (lo, hi, samples) with samples of shape
    (n_boot, n_items) when ``return_samples``. For components, rank intervals and evidence
    flags use ``analysis.bt_inference.infer``.
    """
    from analysis.bt_bootstrap import TOL, bootstrap_replicates
    from analysis.bt_resample import PairCounts

    if n_boot < 1:
        raise ValueError("n_boot must be ≥ 1")
    if not 0 < ci < 1:
        raise ValueError("ci must be in (0, 1)")
    rng = _as_rng(rng)
    if alpha <= 0:
        raise ValueError("bootstrap needs alpha > 0: a resample can disconnect the comparison graph")
    w, l_, t = _check_comparisons(n_items, winners, losers, ties)
    pc = PairCounts.from_comparisons(n_items, w, l_, t)
    if theta_hat is None:
        theta_hat, *_ = _newton(n_items, pc.a, pc.b, pc.n, pc.k, float(alpha), None, 1e-10, 100)
    tol = TOL if tol is None else tol
    samples, _ = bootstrap_replicates(pc, alpha, theta_hat, n_boot, rng, tol=tol, max_iter=max_iter)
    tail = 50.0 * (1.0 - ci)
    lo, hi = np.percentile(samples, [tail, 100.0 - tail], axis=0)
    return (lo, hi, samples) if return_samples else (lo, hi)


@dataclass(frozen=True)
class RankCorrelation:
    n_items: int
    tau: float  # Kendall τ-b
    tau_lo: float
    tau_hi: float
    rho: float  # Spearman ρ
    rho_lo: float
    rho_hi: float
    n_boot: int
    interval: str = "resampling items (BT scores held fixed)"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def rank_correlation(
    bt_scores,
    q,
    n_boot: int = 1000,
    rng: np.random.Generator | int | None = None,
    *,
    ci: float = 0.95,
    bt_samples: np.ndarray | None = None,
) -> RankCorrelation:
    """Kendall τ-b and Spearman ρ between BT scores and q, with percentile bootstrap intervals.
    Items where either value is NaN are dropped.

    With ``bt_samples`` (n_boot × n_items: the BT bootstrap replicates of the scores, the same
    resamples as the BT intervals) τ and ρ are computed against q on every replicate, so the
    interval carries the uncertainty of the BT scores; ``n_boot`` and ``rng`` are then unused.
    Without them, items are resampled with the BT scores held fixed."""
    x = np.asarray(bt_scores, float)
    y = np.asarray(q, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("bt_scores and q must be 1-D arrays of the same length")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3:
        raise ValueError("need at least 3 items with finite scores for a rank correlation")
    tau = float(scipy.stats.kendalltau(x, y).statistic)
    rho = float(scipy.stats.spearmanr(x, y).statistic)
    tail = 50.0 * (1.0 - ci)
    if bt_samples is not None:
        s = np.asarray(bt_samples, float)
        if s.ndim != 2 or s.shape[1] != keep.size:
            raise ValueError("bt_samples must have one column per item (n_boot × n_items)")
        taus, rhos = _correlations_per_replicate(s[:, keep], y)
        lo_t, hi_t = _disattenuated_interval(tau, taus, tail)
        lo_r, hi_r = _disattenuated_interval(rho, rhos, tail)
        interval = (
            "BT bootstrap replicates of the scores (same resamples as the BT intervals), q fixed; "
            "corrected for the attenuation that noisy scores cause"
        )
        return RankCorrelation(
            int(x.size),
            tau,
            float(lo_t),
            float(hi_t),
            rho,
            float(lo_r),
            float(hi_r),
            int(s.shape[0]),
            interval,
        )
    rng = _as_rng(rng)
    lo_t = hi_t = lo_r = hi_r = float("nan")
    if n_boot > 0:
        rhos = np.empty(n_boot)
        taus = np.empty(n_boot)
        chunk = max(1, 2_000_000 // x.size)  # bounds memory for large studies
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            idx = rng.integers(0, x.size, size=(b, x.size))
            xs, ys = x[idx], y[idx]
            rx = scipy.stats.rankdata(xs, axis=1)
            ry = scipy.stats.rankdata(ys, axis=1)
            rx -= rx.mean(axis=1, keepdims=True)
            ry -= ry.mean(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                rhos[start : start + b] = (rx * ry).sum(1) / np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
            taus[start : start + b] = [scipy.stats.kendalltau(xs[i], ys[i]).statistic for i in range(b)]
        lo_t, hi_t = np.nanpercentile(taus, [tail, 100 - tail])
        lo_r, hi_r = np.nanpercentile(rhos, [tail, 100 - tail])
    return RankCorrelation(
        int(x.size), tau, float(lo_t), float(hi_t), rho, float(lo_r), float(hi_r), int(n_boot)
    )


def _correlations_per_replicate(samples: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Kendall τ-b, Spearman ρ) between every row of ``samples`` and the fixed ``q``."""
    rq = scipy.stats.rankdata(q)
    rq -= rq.mean()
    rs = scipy.stats.rankdata(samples, axis=1)
    rs -= rs.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rhos = (rs @ rq) / np.sqrt((rs * rs).sum(1) * (rq @ rq))
    taus = np.array([scipy.stats.kendalltau(row, q).statistic for row in samples])
    return taus, rhos


def _disattenuated_interval(est: float, boot: np.ndarray, tail: float) -> tuple[float, float]:
    """Interval for the correlation of the *latent* scores with q from replicate correlations.

    Noise in the scores pulls a rank correlation towards 0: est ≈ λ·true and, one level
    down, every replicate ≈ λ·est.  So true ≈ est·(est / replicate): the percentile interval
    of the replicates, mapped through c ↦ est²/c (a replicate of the other sign maps to ±1).
    Near 0 that multiplicative picture says nothing about the sign, so the basic bootstrap
    interval [2·est − hi, 2·est − lo] is joined in, and so is the estimate itself."""
    lo, hi = (float(v) for v in np.nanpercentile(boot, [tail, 100 - tail]))
    ends = [est, 2.0 * est - hi, 2.0 * est - lo]
    sign = 1.0 if est >= 0 else -1.0
    for c in (sign * lo, sign * hi):  # replicate quantiles on the estimate's side of 0
        ends.append(sign * (est * est / c if c > 0 else 1.0))
    return max(-1.0, min(ends)), min(1.0, max(ends))
