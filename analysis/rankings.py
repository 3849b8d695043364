"""Bradley–Terry rankings per category from the analysed answers, and their rank correlation with q.

Every method's pairs of a category are pooled; "no difference" answers are ties (half a win
each way). The point estimate is the regularised MAP (``choix.ilsr_pairwise`` is the
reference; the vectorised ``fit_fast`` gives the same optimum and is used with ties or above
``CHOIX_MAX_COMPARISONS``); intervals, rank intervals, components and evidence flags come from
``analysis.bt_inference`` (percentile intervals of the same estimator over a Poisson bootstrap
of the pair counts). Sketches never compared are listed last, unranked; a sketch with too
little evidence gets no point score or rank, only its intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import bradley_terry as bt
from analysis.bt_inference import BTInference, infer_counts
from analysis.bt_resample import PairCounts
from analysis.results import ALPHA_PER_ITEM, BT_BOOT, CHOIX_MAX_COMPARISONS, CORRELATION_BOOT, Frame, _f
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
    info, res = _fit(n_items, w, l_, tie, alpha, n_boot, rng)
    info = {"category": category.name, **info}
    compared = res.component >= 0
    order = np.lexsort((sketch_ids, -np.nan_to_num(res.scores), np.where(compared, res.component, n_items)))
    q_by_scorer = {
        s.name: np.array([scores[s.pk].get(int(i), np.nan) for i in sketch_ids]) for s in frame.scorers
    }
    q_rank = {name: _rank_desc(q) for name, q in q_by_scorer.items()}
    items = [_item(category, res, i, int(sketch_ids[i]), q_by_scorer, q_rank) for i in order]
    correlations, points = [], {}
    main = res.component == 0  # τ and ρ within the largest component only
    for name, q in q_by_scorer.items():
        keep = main & np.isfinite(q)
        rec = {"category": category.name, "method": name, "component": 1, "n_items": int(keep.sum())}
        if keep.sum() >= 3 and np.ptp(res.scores[keep]) > 0 and np.ptp(q[keep]) > 0:
            # τ and ρ on every BT replicate (the BT uncertainty carries over); items resampled
            # with fixed scores only when there is no BT bootstrap
            boot = res.samples[:, keep] if res.samples is not None and res.n_boot > 0 else None
            rc = bt.rank_correlation(res.scores[keep], q[keep], n_boot=n_boot_corr, rng=rng, bt_samples=boot)
            rec |= {
                k: _f(v) if isinstance(v, float) else v for k, v in rc.to_dict().items() if k != "n_items"
            }
        else:
            rec |= {"tau": None, "note": "needs 3 compared sketches whose BT scores and q both vary"}
        correlations.append(rec)
        shown = keep & res.reported  # figures show only sketches with a point score
        points[name] = (q[shown], res.scores[shown], res.lo[shown], res.hi[shown])
    return Ranking(category, info, items, correlations, points)


def _item(category, res: BTInference, i: int, sketch_id: int, q_by_scorer, q_rank) -> dict:
    seen = res.component[i] >= 0
    ok = bool(res.reported[i])
    boot = seen and res.n_boot > 0
    evidence = str(res.evidence[i])
    rec = {
        "category": category.name, "component": int(res.component[i]) + 1 if seen else None,
        "bt_rank": int(res.rank[i]) if ok else None,
        "rank_lo": int(res.rank_lo[i]) if boot else None, "rank_hi": int(res.rank_hi[i]) if boot else None,
        "sketch_id": sketch_id, "bt_score": _f(res.scores[i]) if ok else None,
        # a one-sided record bounds the score on one side only: the other end is the prior's
        "bt_lo": _f(res.lo[i]) if boot and evidence != "winless" else None,
        "bt_hi": _f(res.hi[i]) if boot and evidence != "unbeaten" else None,
        "evidence": evidence, "wins": int(res.wins[i]), "losses": int(res.losses[i]), "ties": int(res.ties[i]),
    }  # fmt: skip
    for name, q in q_by_scorer.items():
        rec[f"q[{name}]"] = _f(q[i])
        rec[f"q_rank[{name}]"] = int(q_rank[name][i]) if np.isfinite(q[i]) else None
    return rec


def _fit(n_items, w, l_, tie, alpha, n_boot, rng) -> tuple[dict, BTInference]:
    """(fit info, inference): the MAP by choix when it applies, else the vectorised fit."""
    ties = tie if tie.any() else None
    pc = PairCounts.from_comparisons(n_items, w, l_, tie)
    if not w.size:
        info = {"alpha": alpha, "n_items": n_items, "n_comparisons": 0, "n_ties": 0, "n_components": 0,
                "largest_component": 0, "n_never_compared": n_items, "n_point_scores": 0,
                "n_little_evidence": 0, "converged": True, "solver": "none", "n_boot": 0,
                "warning": "no analysed answers in this category yet"}  # fmt: skip
        return info, infer_counts(pc, alpha, n_boot=0, theta_hat=np.zeros(n_items))
    fit = bt.fit(n_items, w, l_, alpha, ties=ties)
    scores, solver = fit.scores, "fit_fast (Newton, vectorised)"
    if ties is None and w.size <= CHOIX_MAX_COMPARISONS:
        scores, solver = bt.fit_choix(n_items, w, l_, alpha), "choix.ilsr_pairwise (reference)"
    res = infer_counts(pc, alpha, n_boot=max(n_boot, 0), rng=rng, theta_hat=scores, keep_samples=True)
    summary = res.summary()
    counts = summary["evidence"]
    little = sum(v for k, v in counts.items() if k not in ("ok", "never compared"))
    info = {
        "alpha": alpha, "n_items": n_items, "n_comparisons": fit.n_comparisons, "n_ties": fit.n_ties,
        "n_components": res.n_components, "largest_component": summary["largest_component"],
        "n_never_compared": counts["never compared"], "n_point_scores": counts["ok"], "n_little_evidence": little,
        **{f"n_{k.replace(' ', '_')}": v for k, v in counts.items() if k not in ("ok", "never compared")},
        "converged": fit.converged, "n_strong_components": fit.n_strong_components, "solver": solver,
        "n_boot": res.n_boot, "interval": f"{100 * res.ci:.0f}% percentile, Poisson bootstrap of pair counts",
        "n_newton_fallback": summary.get("n_newton_fallback", 0), "warning": _warning(res, counts, little),
    }  # fmt: skip
    return info, res


def _warning(res: BTInference, counts: dict, little: int) -> str | None:
    notes = []
    if res.n_components > 1:
        sizes = res.component_sizes
        notes.append(
            f"the comparison graph has {res.n_components} components (sizes {', '.join(map(str, sizes[:8]))}"
            f"{', …' if sizes.size > 8 else ''}): scores and ranks are compared only within a component; "
            f"τ and ρ use the largest ({sizes[0]} sketches)"
        )
    if little:
        parts = [f"{v} {k}" for k, v in counts.items() if v and k not in ("ok", "never compared")]
        notes.append(f"{little} sketch(es) with too little evidence get no point score ({', '.join(parts)})")
    if counts["never compared"]:
        notes.append(f"{counts['never compared']} sketch(es) never compared")
    return "; ".join(notes) or None


def _rank_desc(values: np.ndarray) -> np.ndarray:
    """1 = the highest value; NaN last; ties broken by position (sketch id order)."""
    order = np.lexsort((np.arange(values.size), -np.nan_to_num(values, nan=-np.inf)))
    ranks = np.empty(values.size, np.int64)
    ranks[order] = np.arange(1, values.size + 1)
    return ranks
