"""What a researcher may publish from a Bradley–Terry fit: scores, intervals, ranks, evidence flags.

Pure numpy/scipy, no Django.  The choice (documented in ``analysis/README.md``):

- **Estimator.** The point estimate is the regularised MAP of ``bradley_terry`` (the
  maximiser of the I-LSR objective F, identical to ``choix.ilsr_pairwise`` with the same
  alpha), fitted on the win/tie counts per pair.
- **Interval.** The 95% *percentile* interval of the same estimator refitted on B
  Poisson-bootstrap replicates of those counts (``bt_bootstrap``).
- **Components.** The comparison graph is split into connected components; every score,
  bootstrap replicate and rank is centred / ranked **within its component** (the offset
  between components is not identified by the data). Components are numbered by size,
  0 = largest.
- **Rank interval.** The 2.5–97.5% percentiles of the item's rank within its component
  over the replicates (rank 1 = best).
- **Evidence.** An item gets a point score only when the data pin it down.  Otherwise its
  ``evidence`` says why, and ``reported_score`` is NaN (the interval is still given):

  ================== =====================================================================
  never compared     no comparison at all
  unbeaten / winless it never lost (never won) and never tied: the maximum-likelihood score
                     is infinite and the MAP is set by the prior alone
  few comparisons    fewer than ``min_comparisons`` comparisons
  unstable           the estimate (or its rank) falls outside its own bootstrap interval:
                     the sampling distribution is too skewed for a point estimate
  ================== =====================================================================

  So every reported estimate lies inside its reported interval, by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.stats
from scipy.sparse.csgraph import connected_components

from analysis.bradley_terry import _newton
from analysis.bt_bootstrap import bootstrap_replicates
from analysis.bt_resample import PairCounts

__all__ = ["EVIDENCE", "BTInference", "infer", "infer_counts"]

OK = "ok"
EVIDENCE = {
    OK: "enough evidence",
    "never compared": "never compared",
    "unbeaten": "never lost: the score is only a lower bound",
    "winless": "never won: the score is only an upper bound",
    "few comparisons": "too few comparisons for a point score",
    "unstable": "estimate outside its own bootstrap interval (skewed): no point score",
}
MIN_COMPARISONS = 5


@dataclass(frozen=True)
class BTInference:
    scores: np.ndarray  # MAP, centred within each component (NaN: never compared)
    lo: np.ndarray  # percentile interval of the same estimator (NaN without bootstrap)
    hi: np.ndarray
    rank: np.ndarray  # 1 = best within the component, by the MAP (0: never compared)
    rank_lo: np.ndarray  # percentile interval of the rank (0 without bootstrap)
    rank_hi: np.ndarray
    component: np.ndarray  # 0 = largest component; -1 never compared
    component_sizes: np.ndarray
    evidence: np.ndarray  # str per item, a key of EVIDENCE
    wins: np.ndarray
    losses: np.ndarray
    ties: np.ndarray
    alpha: float
    ci: float
    n_boot: int
    boot_info: dict
    samples: np.ndarray | None = None  # (n_boot, n_items), centred within components

    @property
    def n_items(self) -> int:
        return int(self.scores.size)

    @property
    def reported(self) -> np.ndarray:
        """Items with a point score (enough evidence)."""
        return self.evidence == OK

    @property
    def reported_score(self) -> np.ndarray:
        return np.where(self.reported, self.scores, np.nan)

    @property
    def n_components(self) -> int:
        return int(self.component_sizes.size)

    def summary(self) -> dict:
        counts = {key: int((self.evidence == key).sum()) for key in EVIDENCE}
        return {
            "n_items": self.n_items,
            "n_components": self.n_components,
            "largest_component": int(self.component_sizes[0]) if self.component_sizes.size else 0,
            "component_sizes": self.component_sizes.tolist(),
            "evidence": counts,
            "alpha": self.alpha,
            "ci": self.ci,
            "n_boot": self.n_boot,
            **{k: v for k, v in self.boot_info.items() if k != "n_boot"},
        }


def _components(pc: PairCounts, compared: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label per item (0 = largest component, −1 = never compared) and component sizes."""
    m = pc.n_items
    graph = sp.coo_matrix((np.ones(pc.a.size), (pc.a, pc.b)), shape=(m, m)).tocsr()
    _, raw = connected_components(graph, directed=False)
    raw = np.where(compared, raw, -1)
    labels, sizes = np.unique(raw[compared], return_counts=True)
    order = np.lexsort((labels, -sizes))  # largest first, ties by first item
    relabel = np.full(raw.max() + 2 if raw.size else 1, -1)
    relabel[labels[order]] = np.arange(order.size)
    out = np.where(compared, relabel[raw], -1)
    return out, sizes[order]


def _centre_within(x: np.ndarray, component: np.ndarray, n_comp: int) -> np.ndarray:
    """Subtract each component's mean (last axis = items); never-compared items → NaN."""
    out = np.array(x, dtype=np.float64, copy=True)
    for c in range(n_comp):
        idx = component == c
        out[..., idx] -= out[..., idx].mean(axis=-1, keepdims=True)
    out[..., component < 0] = np.nan
    return out


def _ranks_within(x: np.ndarray, component: np.ndarray, n_comp: int) -> np.ndarray:
    """Rank (1 = largest) within the component along the last axis; 0 for never compared."""
    out = np.zeros(x.shape, np.int64)
    for c in range(n_comp):
        idx = np.flatnonzero(component == c)
        out[..., idx] = scipy.stats.rankdata(-x[..., idx], axis=-1, method="min").astype(np.int64)
    return out


def infer_counts(
    pc: PairCounts,
    alpha: float,
    *,
    n_boot: int = 200,
    rng: np.random.Generator | int | None = None,
    ci: float = 0.95,
    min_comparisons: int = MIN_COMPARISONS,
    theta_hat: np.ndarray | None = None,
    workers: int = 1,
    keep_samples: bool = False,
) -> BTInference:
    """Fit, bootstrap and label (module doc). ``theta_hat``: a full-data MAP computed elsewhere
    (e.g. by choix, the same objective) to skip the fit."""
    if alpha <= 0 or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not 0 < ci < 1:
        raise ValueError("ci must be in (0, 1)")
    if n_boot < 0:
        raise ValueError("n_boot must be ≥ 0")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    m = pc.n_items
    per = pc.per_item()
    wins, losses, ties = per["wins"], per["losses"], per["ties"]
    if theta_hat is None:
        # Newton from each item's smoothed log odds of winning: 2 steps fewer than from 0
        start = np.log((wins + 0.5 * ties + 1.0) / (losses + 0.5 * ties + 1.0))
        theta_hat, *_ = _newton(m, pc.a, pc.b, pc.n, pc.k, float(alpha), start, 1e-10, 100)
    theta_hat = np.asarray(theta_hat, np.float64)
    total = wins + losses + ties
    compared = total > 0
    component, sizes = _components(pc, compared)
    n_comp = sizes.size
    scores = _centre_within(theta_hat, component, n_comp)
    rank = _ranks_within(np.nan_to_num(scores), component, n_comp)

    nan = np.full(m, np.nan)
    lo, hi = nan, nan.copy()
    rank_lo = rank_hi = np.zeros(m, np.int64)
    samples, info = None, {"n_boot": 0}
    if n_boot > 0 and pc.a.size:
        raw, info = bootstrap_replicates(pc, alpha, theta_hat, n_boot, rng, workers=workers)
        samples = _centre_within(raw, component, n_comp)
        tail = 50.0 * (1.0 - ci)
        lo, hi = np.percentile(samples, [tail, 100.0 - tail], axis=0)
        ranks = _ranks_within(np.nan_to_num(samples), component, n_comp)
        rank_lo = np.percentile(ranks, tail, axis=0, method="lower").astype(np.int64)
        rank_hi = np.percentile(ranks, 100.0 - tail, axis=0, method="higher").astype(np.int64)

    evidence = np.full(m, OK, dtype=object)
    if n_boot > 0:
        inside = (lo <= scores) & (scores <= hi) & (rank_lo <= rank) & (rank <= rank_hi)
        evidence[~inside] = "unstable"
    evidence[total < min_comparisons] = "few comparisons"
    evidence[(losses == 0) & (ties == 0) & (wins > 0)] = "unbeaten"
    evidence[(wins == 0) & (ties == 0) & (losses > 0)] = "winless"
    evidence[~compared] = "never compared"
    return BTInference(
        scores=scores, lo=lo, hi=hi, rank=rank, rank_lo=rank_lo, rank_hi=rank_hi,
        component=component, component_sizes=sizes, evidence=evidence.astype(str),
        wins=wins, losses=losses, ties=ties, alpha=float(alpha), ci=float(ci), n_boot=int(n_boot) if pc.a.size else 0,
        boot_info=info, samples=samples if keep_samples else None,
    )  # fmt: skip


def infer(n_items: int, winners, losers, alpha: float, *, ties=None, **kwargs) -> BTInference:
    """``infer_counts`` on one row per comparison (``ties[j]``: comparison j was a tie)."""
    return infer_counts(PairCounts.from_comparisons(n_items, winners, losers, ties), alpha, **kwargs)
