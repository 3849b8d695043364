"""Worker quality and reliability for best-of-K and single studies (the pair tables' counterparts).

The pair tables (``results.worker_quality``, ``results.reliability``) read left/right answers;
these read what a best-of-K or single answer means (``annotation.trial_types``):

* the answer's *value* on its trial: the chosen sketch id (best of K; "none" is its own value)
  or yes/no (single). A trial's *unit* is its planned set, the same for every worker shown it;
* position rate (the ``left_rate`` column): the share of decided answers that picked option 1
  (best of K) or said "yes" (single), the positions the side-bias test reads as "left";
* majority agreement, leave-one-out: for each regular answer, the majority value among the OTHER
  workers' answers to the same unit (all of this worker's answers to it are left out); answers
  whose unit has no other answers, or a tied majority, do not count;
* Krippendorff's α (nominal) and Fleiss' κ over units answered by several analysed workers.

Sentinel and duplicate counters are the stored ones (what screening decided); the pair model's
skill and side-bias columns are empty (it is a pair model).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis import bot_screening, results
from analysis.results import FAST_MS, Frame, identity_columns, reliability_table
from annotation.models import TrialKind
from studies.models import TrialType

NONE_VALUE = -1.0


def answer_values(trial_type: str, choice: ArrayLike, chosen: ArrayLike) -> NDArray[np.float64]:
    """One nominal value per answer: single 1 (yes) / 0 (no); best of K the chosen sketch id, −1 for "none"."""
    choice = np.asarray(choice)
    if trial_type == TrialType.SINGLE:
        return (choice == "yes").astype(float)
    return np.where(choice == "none", NONE_VALUE, np.asarray(chosen, dtype=float))


def majority_agreement(worker: ArrayLike, unit: ArrayLike, value: ArrayLike) -> NDArray[np.float64]:
    """Per answer: 1 if it matches the majority of the other workers' answers to its unit, 0 if not,
    NaN when there is no majority to compare with (no other worker, or a tie)."""
    worker, unit, value = np.asarray(worker), np.asarray(unit), np.asarray(value, dtype=float)
    by_unit: dict[int, list[int]] = defaultdict(list)
    for n, u in enumerate(unit.tolist()):
        by_unit[u].append(n)
    out = np.full(unit.size, np.nan)
    for rows in by_unit.values():
        for n in rows:
            others = Counter(value[m] for m in rows if worker[m] != worker[n])
            if not others:
                continue
            (top, count), *rest = others.most_common(2) + [(None, -1)]
            if rest[0][1] == count:
                continue  # tied majority
            out[n] = float(value[n] == top)
    return out


def worker_quality(frame: Frame) -> list[dict]:
    """The worker-QA rows of any study: pairs ``results.worker_quality``, else ``worker_rows``."""
    if frame.study.trial_type == TrialType.PAIR:
        return results.worker_quality(frame)
    return worker_rows(frame)


def worker_rows(frame: Frame) -> list[dict]:
    """One row per participant with main answers, in the columns of ``results.worker_quality``."""
    study, a = frame.study, frame.answers
    main = a.take(a.main)
    decided = main.choice != "none"
    values = answer_values(study.trial_type, main.choice, main.chosen)
    regular = main.kind == TrialKind.REGULAR
    agree = np.full(len(main), np.nan)
    agree[regular] = majority_agreement(
        main.participant_id[regular], main.planned_pair[regular], values[regular]
    )
    first = _first_option(study.trial_type, main) & decided
    rt = main.response_ms
    fast_ms = study.too_fast_ms or FAST_MS
    in_scope = set(frame.in_scope.tolist())
    rows = []
    for p in frame.participants:
        mine = main.participant_id == p["id"]
        if not mine.any():
            continue
        n_decided = int((mine & decided).sum())
        times = rt[mine][np.isfinite(rt[mine])]
        compared = mine & np.isfinite(agree)
        rows.append(
            {
                **identity_columns(p, in_scope),
                "trials": int(mine.sum()),
                "of_trials": p["n_trials"],
                "no_difference": int(mine.sum()) - n_decided,
                "sentinels": p["sentinels_answered"],
                "sentinel_mistakes": p["sentinel_mistakes"],
                "duplicates": p["duplicates_answered"],
                "duplicate_consistency": p["duplicate_agreement"],
                "median_rt_ms": float(np.median(times)) if times.size else None,
                "fast_share": float(np.mean(times < fast_ms)) if times.size else None,
                "left_rate": float((mine & first).sum() / n_decided) if n_decided else None,
                "majority_trials": int(compared.sum()),
                "majority_agreement": float(agree[compared].mean()) if compared.any() else None,
                "screening_reason": p.get("screening_reason", ""),
                "simulated": p.get("simulated", False),
                "bot_flags": bot_screening.reasons(frame.flags.of(p["id"])),
                "recomputed_status": None,
                **dict.fromkeys(
                    (
                        "model_skill",
                        "model_skill_lo",
                        "model_skill_hi",
                        "model_bias",
                        "model_bias_lo",
                        "model_bias_hi",
                    )
                ),
            }  # fmt: skip
        )
    return sorted(
        rows, key=lambda r: (r["majority_agreement"] is None, r["majority_agreement"] or 0.0, r["index"])
    )


def _first_option(trial_type: str, a) -> NDArray[np.bool_]:
    if trial_type == TrialType.SINGLE:
        return a.choice == "yes"
    return (a.chosen == a.left) & (a.left >= 0)


def reliability(frame: Frame) -> list[dict]:
    """Krippendorff's α (nominal) and Fleiss' κ over planned sets answered by several analysed workers."""
    a = frame.answers.take(frame.analysed)
    return reliability_table(frame, a, answer_values(frame.study.trial_type, a.choice, a.chosen))
