"""Results of best-of-K and single-sketch studies: tables from the answers for the report and its CSVs.

Reads a ``results.Frame`` (the analysed workers' regular answers, as for pairs) and the
sketches' q (``selectors.study_scores``); the maths is in pure modules:

* best of K (``analysis.plackett_luce``): per category a Plackett–Luce ranking of the
  sketches from the top-1 choices (abstentions left out), with Poisson-bootstrap percentile
  intervals and the BT rankings' evidence flags; Kendall τ of the scores against each
  method's q; and agreement with q per method and level of the largest gap (the human
  chose the offered sketch with the highest q of the set's method), Wilson 95% intervals,
  abstentions counted apart;
* single (``analysis.yes_rate``): per method, per category and over all categories, the
  logistic fit of "yes" against q, with Wald and worker-bootstrap 95% intervals of the
  slope, and the fitted yes rate on a grid of q with its bootstrap band.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from analysis import plackett_luce as pl
from analysis import selectors
from analysis import yes_rate as yr
from analysis.agreement import wilson_interval
from studies.models import TrialType

KWAY_BOOT = 200
YES_BOOT = 200
NONE = "none"


def _f(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def choice_tables(frame, *, seed, n_boot: int | None = None) -> dict[str, list[dict]]:
    """The trial type's own tables (empty for a pair study)."""
    study = frame.study
    if study.trial_type == TrialType.BEST_OF_K:
        return kway_tables(frame, seed=seed, n_boot=KWAY_BOOT if n_boot is None else n_boot)
    if study.trial_type == TrialType.SINGLE:
        return single_tables(frame, seed=seed, n_boot=YES_BOOT if n_boot is None else n_boot)
    return {}


def _analysed(frame):
    return frame.answers.take(frame.analysed)


def _scores(frame, answers) -> dict[int, dict[int, float]]:
    ids = np.unique(np.concatenate([answers.left, answers.right, answers.third, answers.fourth]))
    return selectors.study_scores(frame.study, [s.pk for s in frame.scorers], ids[ids >= 0])


def kway_tables(frame, *, seed, n_boot: int) -> dict[str, list[dict]]:
    a = _analysed(frame)
    offered = np.column_stack([a.left, a.right, a.third, a.fourth]) if len(a) else np.zeros((0, 4), np.int64)
    chose = a.choice != NONE
    scores = _scores(frame, a)
    rng = np.random.default_rng(seed)
    rankings, correlations, agreement = [], [], []
    for category in frame.categories:
        rows = (a.category == category.pk) & chose
        sets = offered[rows]
        items = np.unique(sets[sets >= 0])
        if items.size < 2:
            continue
        index = {int(pk): n for n, pk in enumerate(items)}
        local = np.array([[index.get(int(pk), -1) for pk in row] for row in sets], dtype=np.int64)
        winners = np.array([index[int(pk)] for pk in a.chosen[rows]], dtype=np.int64)
        res = pl.rank(items.size, pl.as_choices(local, winners), rng, n_boot=n_boot)
        order = np.argsort(-np.nan_to_num(res.score, nan=-np.inf), kind="stable")
        for rank, n in enumerate(order, start=1):
            row = {
                "category": category.name, "rank": rank if res.evidence[n] == "ok" else None,
                "sketch_id": int(items[n]), "pl_score": _f(res.score[n]), "pl_lo": _f(res.lo[n]), "pl_hi": _f(res.hi[n]),
                "evidence": str(res.evidence[n]), "offered": int(res.offered[n]), "chosen": int(res.chosen[n]),
            }  # fmt: skip
            for scorer in frame.scorers:
                row[f"q[{scorer.name}]"] = _f(scores.get(scorer.pk, {}).get(int(items[n]), np.nan))
            rankings.append(row)
        ok = res.evidence == "ok"
        for scorer in frame.scorers:
            q = np.array([scores.get(scorer.pk, {}).get(int(pk), np.nan) for pk in items])
            keep = ok & np.isfinite(q)
            tau = scipy.stats.kendalltau(res.score[keep], q[keep]).statistic if keep.sum() >= 3 else np.nan
            correlations.append(
                {"category": category.name, "method": scorer.name, "items": int(keep.sum()), "tau": _f(tau)}
            )
    for scorer in frame.scorers:
        mine = a.scorer == scorer.pk
        q_of = scores.get(scorer.pk, {})
        for level, name in enumerate(frame.levels):
            rows = mine & (a.level == level)
            n_abstain = int((rows & ~chose).sum())
            picked = rows & chose
            q = np.array(
                [[q_of.get(int(pk), np.nan) if pk >= 0 else np.nan for pk in row] for row in offered[picked]],
                dtype=float,
            ).reshape(-1, 4)
            cols = (
                np.argmax(offered[picked] == a.chosen[picked][:, None], axis=1)
                if picked.any()
                else np.zeros(0, int)
            )
            agrees = pl.agreement_with_q(q, cols) if picked.any() else np.zeros(0, bool)
            k, n = int(agrees.sum()), int(agrees.size)
            lo, hi = wilson_interval(k, n) if n else (None, None)
            agreement.append({
                "method": scorer.name, "level": name, "answers": n, "agree": k,
                "agreement": k / n if n else None, "lo": _f(lo), "hi": _f(hi), "abstained": n_abstain,
            })  # fmt: skip
    return {
        "kway_agreement_by_level": agreement,
        "kway_rank_correlations": correlations,
        "kway_rankings": rankings,
    }


def single_tables(frame, *, seed, n_boot: int) -> dict[str, list[dict]]:
    a = _analysed(frame)
    scores = _scores(frame, a)
    yes = (a.choice == "yes").astype(float)
    rng = np.random.default_rng(seed)
    fits, curves = [], []
    groups = [(c.name, a.category == c.pk) for c in frame.categories] + [("all", np.ones(len(a), bool))]
    for scorer in frame.scorers:
        q_of = scores.get(scorer.pk, {})
        q = np.array([q_of.get(int(pk), np.nan) for pk in a.left], dtype=float)
        for name, rows in groups:
            rows = rows & np.isfinite(q)
            n = int(rows.sum())
            row = {
                "method": scorer.name,
                "category": name,
                "answers": n,
                "yes_share": _f(yes[rows].mean()) if n else None,
            }
            if n >= 10 and 0 < yes[rows].sum() < n:
                curve = yr.yes_rate_curve(
                    q[rows], yes[rows], rng, worker=a.participant_id[rows], n_boot=n_boot
                )
                w_lo, w_hi = curve.fit.slope_interval()
                row |= {
                    "intercept": _f(curve.fit.intercept),
                    "slope": _f(curve.fit.slope),
                    "slope_wald_lo": _f(w_lo),
                    "slope_wald_hi": _f(w_hi),
                    "slope_boot_lo": _f(curve.slope_lo),
                    "slope_boot_hi": _f(curve.slope_hi),
                    "n_boot": n_boot,
                }  # fmt: skip
                curves += [
                    {"method": scorer.name, "category": name, "q": _f(g), "yes_rate": _f(r),
                     "lo": _f(lo), "hi": _f(hi)}
                    for g, r, lo, hi in zip(curve.grid, curve.rate, curve.lo, curve.hi)
                ]  # fmt: skip
            fits.append(row)
    return {"yes_rate_fits": fits, "yes_rate_curve": curves}
