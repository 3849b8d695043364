"""Bradley–Terry rankings per category from the analysed answers, and their rank correlation with q.

Every method's pairs of a category are pooled; "no difference" answers are ties (half a win
each way). ``choix.ilsr_pairwise`` is the reference fit; the vectorised ``fit_fast`` is used with
ties or above ``CHOIX_MAX_COMPARISONS``. Sketches never compared are listed last, unranked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import bradley_terry as bt
from analysis.services import ALPHA_PER_ITEM, BT_BOOT, CHOIX_MAX_COMPARISONS, CORRELATION_BOOT, Frame, _f
from sketches.models import Category


@dataclass
class Ranking:
    category: Category
    fit: dict  # solver, alpha, BTResult.to_dict() without the scores, bootstrap size
    items: list[dict]  # one per sketch, best first
    correlations: list[dict]  # per scorer: τ, ρ and intervals
    points: dict  # {scorer name: (q, bt, lo, hi)} of the compared sketches, for figures


def ranking(
    frame: Frame,
    category: Category,
    sketch_ids: np.ndarray,
    scores: dict[int, dict[int, float]],
    *,
    n_boot: int = BT_BOOT,
    n_boot_corr: int = CORRELATION_BOOT,
    seed=None,
) -> Ranking:
    """BT scores of ``sketch_ids`` (a category's planned sketches) from the analysed answers."""
    a = frame.answers.take(frame.analysed & (frame.answers.category == category.pk))
    n_items = int(sketch_ids.size)
    tie = a.choice == "none"
    winner = np.where(tie, a.left, a.chosen)
    loser = np.where(winner == a.left, a.right, a.left)
    w, l_ = np.searchsorted(sketch_ids, winner), np.searchsorted(sketch_ids, loser)
    rng = np.random.default_rng(seed)
    alpha = ALPHA_PER_ITEM / max(n_items, 1)
    wins = np.bincount(w[~tie], minlength=n_items)
    losses = np.bincount(l_[~tie], minlength=n_items)
    ties = np.bincount(w[tie], minlength=n_items) + np.bincount(l_[tie], minlength=n_items)
    info, scores_bt, lo, hi = _fit(n_items, w, l_, tie, alpha, n_boot, rng)
    info = {"category": category.name, **info}
    compared = (wins + losses + ties) > 0
    order = np.lexsort((sketch_ids, -scores_bt, ~compared))  # never-compared sketches last, unranked
    q_by_scorer = {
        s.name: np.array([scores[s.pk].get(int(i), np.nan) for i in sketch_ids]) for s in frame.scorers
    }
    q_rank = {name: _rank_desc(q) for name, q in q_by_scorer.items()}
    items = []
    for rank, i in enumerate(order, start=1):
        seen = bool(compared[i])
        rec = {
            "category": category.name, "bt_rank": rank if seen else None, "sketch_id": int(sketch_ids[i]),
            "bt_score": float(scores_bt[i]), "bt_lo": _f(lo[i]) if seen else None, "bt_hi": _f(hi[i]) if seen else None,
            "wins": int(wins[i]), "losses": int(losses[i]), "ties": int(ties[i]),
        }  # fmt: skip
        for name in q_by_scorer:
            rec[f"q[{name}]"] = _f(q_by_scorer[name][i])
            rec[f"q_rank[{name}]"] = int(q_rank[name][i]) if np.isfinite(q_by_scorer[name][i]) else None
        items.append(rec)
    correlations, points = [], {}
    for name, q in q_by_scorer.items():
        keep = compared & np.isfinite(q)
        rec = {"category": category.name, "method": name, "n_items": int(keep.sum())}
        if keep.sum() >= 3 and np.ptp(scores_bt[keep]) > 0 and np.ptp(q[keep]) > 0:
            rc = bt.rank_correlation(scores_bt[keep], q[keep], n_boot=n_boot_corr, rng=rng)
            rec |= {
                k: _f(v) if isinstance(v, float) else v for k, v in rc.to_dict().items() if k != "n_items"
            }
        else:
            rec |= {"tau": None, "note": "needs 3 compared sketches whose BT scores and q both vary"}
        correlations.append(rec)
        points[name] = (q[keep], scores_bt[keep], lo[keep], hi[keep])
    return Ranking(category, info, items, correlations, points)


def _fit(n_items, w, l_, tie, alpha, n_boot, rng):
    """(fit info, scores, bootstrap lo, hi): choix when it applies, else the vectorised fit."""
    ties = tie if tie.any() else None
    if not w.size:
        info = {"alpha": alpha, "n_items": n_items, "n_comparisons": 0, "n_ties": 0, "n_components": n_items,
                "n_strong_components": n_items, "converged": True, "n_iter": 0, "n_never_compared": n_items,
                "solver": "none", "n_boot": 0, "warning": "no analysed answers in this category yet"}  # fmt: skip
        nan = np.full(n_items, np.nan)
        return info, np.zeros(n_items), nan, nan.copy()
    fit = bt.fit(n_items, w, l_, alpha, ties=ties)
    info = {k: v for k, v in fit.to_dict().items() if k not in ("scores", "never_compared")}
    info["n_never_compared"] = int(fit.never_compared.size)
    scores = fit.scores
    info["solver"] = "fit_fast (Newton, vectorised)"
    if ties is None and w.size <= CHOIX_MAX_COMPARISONS:
        scores = bt.fit_choix(n_items, w, l_, alpha)
        info["solver"] = "choix.ilsr_pairwise (reference)"
    lo = hi = np.full(n_items, np.nan)
    if n_boot > 0:
        lo, hi = bt.bootstrap(n_items, w, l_, alpha, n_boot, rng, ties=ties, theta_hat=scores)
    info["n_boot"] = max(n_boot, 0)
    return info, scores, lo, hi


def _rank_desc(values: np.ndarray) -> np.ndarray:
    """1 = the highest value; NaN last; ties broken by position (sketch id order)."""
    order = np.lexsort((np.arange(values.size), -np.nan_to_num(values, nan=-np.inf)))
    ranks = np.empty(values.size, np.int64)
    ranks[order] = np.arange(1, values.size + 1)
    return ranks
