"""A study's results from the selectors' arrays: agreement, rankings, worker QA, reliability.

Rules (also written into every report, ``RULES``):

- **Analysed answers** are the *regular* trials of the participants in scope (by default
  ``Participant.objects.analysable()``: completed and qualified). Practice trials are never
  analysed; sentinels only screen workers.
- **Duplicates** (the second showing of a pair to the same worker) are not new
  observations: they count for duplicate consistency only, never for agreement, Bradley–Terry
  or inter-annotator reliability. The first showing is an ordinary regular trial.
- **Agreement**: the human picked the sketch with the higher q of the pair's scorer (q frozen
  in the plan). Pairs with equal q and "no difference" answers have no winner: they are left
  out of n and counted (``n_q_ties``, ``n_no_difference``).
- **Bradley–Terry** per category pools every method's pairs of that category; "no
  difference" answers count as ties (half a win each way).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from analysis import agreement as agr
from analysis import bot_screening, selectors
from analysis import reliability as rel
from analysis import worker_model as wm
from analysis.worker_qa import worker_qa
from annotation.models import ParticipantStatus, TrialKind
from scoring.models import Scorer
from sketches.models import Category
from studies import bot_flags, screening
from studies.models import Study

AGREEMENT_BOOT = 1000  # bootstrap-over-workers replicates for the agreement intervals
BT_BOOT = 200  # bootstrap replicates (resampling comparisons) for the BT intervals
CORRELATION_BOOT = 200  # resampling items for τ and ρ, only when the BT bootstrap is off
ALPHA_PER_ITEM = 0.1  # BT prior strength: alpha = ALPHA_PER_ITEM / n_items (mild)
CHOIX_MAX_COMPARISONS = 50_000  # above this (or with ties) the vectorised fit_fast is used
FAST_MS = 300.0
THIN_LEVEL_ANSWERS = 30  # a level (cell) with fewer analysed answers is flagged "thin (n=…)"

RULES = [
    "Analysed: regular trials of the participants in scope; practice is never analysed, sentinels only screen workers.",
    "A duplicate (second showing of a pair to the same worker) is not a new observation: it counts for "
    "duplicate consistency only.",
    "Agreement: the human chose the sketch with the higher q of the pair's scorer (q frozen in the plan); "
    "equal q and 'no difference' answers are left out of n and counted.",
    "Intervals: 95% Wilson per cell, and a percentile bootstrap resampling whole workers.",
    "Bradley–Terry per category pools all methods' pairs; 'no difference' counts as a tie (half a win each way); "
    f"prior alpha = {ALPHA_PER_ITEM} / n_items; choix.ilsr_pairwise is the reference, the vectorised Newton fit "
    f"is used with ties or above {CHOIX_MAX_COMPARISONS:,} comparisons.",
    "Kendall τ-b and Spearman ρ between BT scores and q use the sketches compared at least once; their "
    "intervals recompute τ and ρ on every BT bootstrap replicate (the same resamples as the BT intervals, q "
    "fixed), corrected for the pull towards 0 that noisy scores cause, so they carry the BT uncertainty.",
    "Response time: the browser's measurement when sent, else the server's (first served → received).",
    "Bot flags (studies.bot_flags; thresholds per study): too fast, hidden tab, no own input, same side, "
    "periodic answers, shared network or device, agreement with the scorer at the hardest levels beyond the "
    "other participants. A flagged participant is left out of the analysis when the study says so (the "
    "default), unless a researcher includes them again; flags never reject anyone on the panel.",
]


@dataclass
class Frame:
    """What every computation needs: the study, its methods and categories, all answers, who is in scope."""

    study: Study
    scorers: list[Scorer]
    categories: list[Category]
    levels: list[str]
    answers: selectors.StudyAnswers
    participants: list[dict]
    scope: str
    in_scope: np.ndarray  # participant ids analysed
    flags: bot_flags.StudyFlags = field(default_factory=bot_flags.StudyFlags)

    @property
    def analysed(self) -> np.ndarray:
        a = self.answers
        return a.regular & np.isin(a.participant_id, self.in_scope)


def load_frame(study: Study, scope: str = selectors.ANALYSABLE) -> Frame:
    """The study's answers and participants; the scope leaves out whom the bot flags exclude
    (``analysis.bot_screening.flagged_out``)."""
    participants = selectors.participant_table(study)
    answers = selectors.study_answers(study)
    flags = bot_screening.study_flags(study, answers, participants)
    excluded = bot_screening.flagged_out(study, flags, participants)
    scoped = set(selectors.scope_participants(study, scope).values_list("pk", flat=True)) - excluded
    return Frame(
        study=study,
        scorers=selectors.study_scorers(study),
        categories=selectors.study_categories(study),
        levels=level_names(study),
        answers=answers,
        participants=participants,
        scope=scope,
        in_scope=np.array(sorted(scoped), np.int64),
        flags=flags,
    )


def level_names(study: Study) -> list[str]:
    levels = (study.plan_summary or {}).get("levels") or []
    return list(levels) if len(levels) == study.n_levels else agr.level_labels(study.n_levels)


def _codes(values: np.ndarray, keys: list[int]) -> np.ndarray:
    lookup = {k: i for i, k in enumerate(keys)}
    return np.array([lookup[int(v)] for v in values], dtype=np.int64)


def _f(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


# -- agreement ------------------------------------------------------------------------


@dataclass
class Agreement:
    table: agr.AgreementTable
    n_no_difference: np.ndarray  # (methods, categories, levels)
    cells: list[dict]  # per method × category × level
    by_category: list[dict]  # per method × category, pooled over levels
    by_method: list[dict]  # per method: pooled, and mean ± std across categories
    across_methods: list[dict]  # mean ± std over methods (all; GACL with soft binning)
    curves: dict  # {category: {method: (levels, rates, lo, hi)}} for figures.agreement_figure
    interval: str  # "bootstrap" or "wilson": what the curves' bands show
    level_flags: dict  # {category: [flag per level]}: empty or thin levels (fewest answers of any method)


def agreement(frame: Frame, *, n_boot: int = AGREEMENT_BOOT, seed=None) -> Agreement:
    a = frame.answers.take(frame.analysed)
    shape = (len(frame.scorers), len(frame.categories), len(frame.levels))
    method = _codes(a.scorer, [s.pk for s in frame.scorers])
    category = _codes(a.category, [c.pk for c in frame.categories])
    none = a.choice == "none"
    n_none = np.zeros(shape, np.int64)
    np.add.at(n_none, (method[none], category[none], a.level[none]), 1)
    d = a.take(~none)
    table = agr.agreement_table(
        q_left=d.q_left, q_right=d.q_right, chose_left=d.choice == "left",
        level=d.level, category=category[~none], method=method[~none], worker=d.participant_index,
        n_methods=shape[0], n_categories=shape[1], n_levels=shape[2],
        n_boot=n_boot if len(d) else 0, rng=np.random.default_rng(seed),
    )  # fmt: skip
    names_m = [s.name for s in frame.scorers]
    names_c = [c.name for c in frame.categories]
    ci = "bootstrap" if table.boot_lo is not None else "wilson"
    curves = {
        names_c[c]: {
            names_m[m]: agr.curve(table, m, c, ci=ci) for m in range(shape[0]) if table.n[m, c].sum()
        }
        for c in range(shape[1])
    }
    return Agreement(
        table=table,
        n_no_difference=n_none,
        cells=_cells(table, n_none, names_m, names_c, frame.levels),
        by_category=_by_category(table, n_none, names_m, names_c),
        by_method=_by_method(table, frame.scorers),
        across_methods=_across(table, frame.scorers),
        curves=curves,
        interval=ci,
        level_flags=_level_flags(table, names_c),
    )


def _level_flags(table, names_c) -> dict:
    from analysis.psychometric import level_flags

    out = {}
    for c, name in enumerate(names_c):
        present = table.n[:, c].sum(axis=1) > 0
        if present.any():
            out[name] = level_flags(table.n[present, c].min(axis=0), THIN_LEVEL_ANSWERS)
    return out


def _cells(table, n_none, names_m, names_c, levels) -> list[dict]:
    out = []
    seen = (table.n + table.n_q_ties + n_none).sum(
        axis=2
    ) > 0  # every level of a method × category with data,
    for m, c, lv in zip(*np.nonzero(np.repeat(seen[:, :, None], len(levels), axis=2))):  # empty ones flagged
        rec = {
            "method": names_m[m], "category": names_c[c], "level": levels[lv], "level_index": int(lv),
            "n": int(table.n[m, c, lv]), "agree": int(table.agree[m, c, lv]), "rate": _f(table.rate[m, c, lv]),
            "wilson_lo": _f(table.lo[m, c, lv]), "wilson_hi": _f(table.hi[m, c, lv]),
        }  # fmt: skip
        if table.boot_lo is not None:
            rec |= {"boot_lo": _f(table.boot_lo[m, c, lv]), "boot_hi": _f(table.boot_hi[m, c, lv])}
        rec |= {"n_q_ties": int(table.n_q_ties[m, c, lv]), "n_no_difference": int(n_none[m, c, lv])}
        n = int(table.n[m, c, lv])
        rec["flag"] = "empty (n=0)" if n == 0 else (f"thin (n={n})" if n < THIN_LEVEL_ANSWERS else "")
        out.append(rec)
    return out


def _by_category(table, n_none, names_m, names_c) -> list[dict]:
    n, k = table.n.sum(axis=2), table.agree.sum(axis=2)
    lo, hi = agr.wilson_interval(k, n, table.z)
    none = n_none.sum(axis=2)
    return [
        {
            "method": names_m[m],
            "category": names_c[c],
            "n": int(n[m, c]),
            "agree": int(k[m, c]),
            "rate": _f(k[m, c] / n[m, c]) if n[m, c] else None,
            "wilson_lo": _f(lo[m, c]),
            "wilson_hi": _f(hi[m, c]),
            "n_no_difference": int(none[m, c]),
        }  # fmt: skip
        for m, c in zip(*np.nonzero(n + none))
    ]


def _by_method(table, scorers) -> list[dict]:
    summary = agr.method_summary(table)
    return [
        {
            "method": scorers[m].name,
            "variant": scorers[m].variant,
            "soft_binning": scorers[m].soft_binning,
            "n": s.n,
            "agree": s.agree,
            "rate": s.rate,
            "wilson_lo": s.lo,
            "wilson_hi": s.hi,
            "category_mean": s.category_mean,
            "category_std": _f(s.category_std),
            "n_categories": s.n_categories,
        }  # fmt: skip
        for m, s in summary.items()
    ]


def _across(table, scorers) -> list[dict]:
    groups = [("all methods", list(range(len(scorers))))]
    gacl = [i for i, s in enumerate(scorers) if s.variant != "softmax" and s.soft_binning]
    if gacl and len(gacl) < len(scorers):
        groups.append(("GACL with soft binning", gacl))
    summary = agr.method_summary(table)
    out = []
    for label, methods in groups:
        present = [m for m in methods if m in summary]
        mean, std = agr.across_methods(table, present)
        out.append(
            {
                "methods": label,
                "n_methods": len(present),
                "names": ", ".join(scorers[m].name for m in present),
                "mean": _f(mean),
                "std": _f(std),
            }  # fmt: skip
        )
    return out


# -- worker QA and reliability -------------------------------------------------------------


def identity_columns(participant: dict, in_scope: set[int]) -> dict:
    """The columns every worker-QA row starts with: who, where in the flow, what screening
    decided, and whether the analysis counts them."""
    return {
        "participant_id": participant["id"],
        "panel_id": participant["panel_id"],
        "index": participant["index"],
        "flow_status": participant["status"],
        "status": status_of(participant),
        "analysed": participant["id"] in in_scope,
    }


def status_of(participant: dict) -> str:
    """ok, undecided, blocked or unqualified: what live screening decided (blocked wins).
    "undecided" (too little evidence either way) is analysed, and shown as such."""
    if participant["status"] == ParticipantStatus.BLOCKED:
        return "blocked"
    if participant["qualified"] is False:
        return "unqualified"
    if participant.get("screening") == "undecided":
        return "undecided"
    return "ok"


def replayed_screening(frame: Frame) -> dict[int, tuple[str, str]]:
    """participant id → (status, reason): the study's screening rules replayed on the stored
    answers in order (``studies.screening.replay``), as a check on what was decided live."""
    a = frame.answers.take(frame.answers.main)
    rules = frame.study.screening_rules()
    chosen_of = dict(zip(a.trial_id.tolist(), a.chosen.tolist()))
    original_choice = np.array([chosen_of.get(int(t), -2) for t in a.duplicate_of])
    is_sentinel, is_duplicate = a.kind == TrialKind.SENTINEL, a.kind == TrialKind.DUPLICATE
    mistake = is_sentinel & (a.chosen != a.gold_better)
    consistent = is_duplicate & (a.chosen == original_choice)
    fast = np.nan_to_num(a.response_ms, nan=np.inf) < rules.too_fast_ms
    n_trials = {p["id"]: p["n_trials"] for p in frame.participants}
    out = {}
    for pid in np.unique(a.participant_id).tolist():
        sel = a.participant_id == pid
        counts = screening.cumulative_counts(
            is_sentinel[sel],
            mistake[sel],
            is_duplicate[sel],
            consistent[sel],
            a.choice[sel] == "left",
            fast[sel],
        )
        status, reason, _ = screening.replay(rules, counts, n_trials.get(pid, 0))
        out[pid] = (status, reason)
    return out


def fit_workers(frame: Frame) -> wm.WorkerModel:
    """The reliability model (``analysis.worker_model``) on every main answer with a side
    chosen, of every worker: skill and left/right bias per worker, with intervals."""
    a = frame.answers
    sided = a.main & np.isin(a.choice, ["left", "right"])
    return wm.fit_worker_model(
        a.participant_id[sided], a.left[sided], a.right[sided], a.choice[sided] == "left"
    )


def skill_weighted_agreement(frame: Frame, model: wm.WorkerModel) -> list[dict]:
    """Per method: agreement with q of the analysed answers, unweighted and weighted by each
    worker's fitted skill (an option reported beside the unweighted figure, never instead)."""
    a = frame.answers
    sel = frame.analysed & np.isin(a.choice, ["left", "right"]) & (a.q_left != a.q_right)
    agree = (a.choice == "left") == (a.q_left > a.q_right)
    rows = []
    for scorer in frame.scorers:
        m = sel & (a.scorer == scorer.pk)
        rows.append(
            {
                "method": scorer.name,
                "n": int(m.sum()),
                "agreement": float(agree[m].mean()) if m.any() else None,
                "agreement_weighted_by_skill": wm.weighted_agreement(agree[m], a.participant_id[m], model),
            }
        )
    return rows


def worker_quality(frame: Frame, model: wm.WorkerModel | None = None) -> list[dict]:
    """One row per participant with main answers: screening counters (as stored, i.e. what
    decided their status), behaviour recomputed from the answers, and the reliability model's
    skill and side bias with 95% intervals; least reliable first."""
    study, a = frame.study, frame.answers
    main = a.take(a.main)
    decided = main.take(main.choice != "none")
    originals = decided.duplicate_of[decided.duplicate_of >= 0]
    qa = worker_qa(
        decided.participant_id, decided.left, decided.right, decided.choice == "left", decided.response_ms,
        gold=np.where(decided.kind == TrialKind.SENTINEL, decided.gold_better, -1),
        is_duplicate=(decided.kind == TrialKind.DUPLICATE) | np.isin(decided.trial_id, originals),
        max_sentinel_mistakes=study.max_sentinel_mistakes, min_duplicate_agreement=study.min_duplicate_agreement,
        fast_ms=study.too_fast_ms or FAST_MS,
    )  # fmt: skip
    computed = {r["worker"]: r for r in qa.to_records()}
    replayed = replayed_screening(frame)
    model = fit_workers(frame) if model is None else model
    ids, answered = np.unique(main.participant_id, return_counts=True)
    n_main = dict(zip(ids.tolist(), answered.tolist()))
    in_scope = set(frame.in_scope.tolist())
    rows = []
    for p in frame.participants:
        if p["id"] not in n_main:
            continue
        r = computed.get(p["id"], {})
        rows.append(
            {
                **identity_columns(p, in_scope),
                "trials": n_main[p["id"]],
                "of_trials": p["n_trials"],
                "no_difference": n_main[p["id"]] - r.get("trials", 0),
                "sentinels": p["sentinels_answered"],
                "sentinel_mistakes": p["sentinel_mistakes"],
                "duplicates": p["duplicates_answered"],
                "duplicate_consistency": p["duplicate_agreement"],
                "median_rt_ms": r.get("median_rt_ms"),
                "fast_share": r.get("fast_share"),
                "left_rate": r.get("left_rate"),
                "majority_trials": r.get("majority_trials", 0),
                "majority_agreement": r.get("majority_agreement"),
                "screening_reason": p.get("screening_reason", ""),
                "simulated": p.get("simulated", False),
                "bot_flags": bot_screening.reasons(frame.flags.of(p["id"])),
                "recomputed_status": _recomputed(replayed.get(p["id"], ("", ""))[0], p),
                **_model_columns(model, p["id"]),
            }  # fmt: skip
        )
    return sorted(rows, key=lambda r: (r["model_skill"] is None, r["model_skill"] or 0.0, r["index"]))


def _model_columns(model: wm.WorkerModel, participant_id: int) -> dict:
    try:
        fitted = model.of(participant_id)
    except KeyError:  # only "no difference" answers: nothing to fit
        fitted = dict.fromkeys(("skill", "skill_lo", "skill_hi", "bias", "bias_lo", "bias_hi"))
    return {f"model_{name}": value for name, value in fitted.items()}


def _recomputed(replayed: str, participant: dict) -> str:
    """The replayed decision in ``status_of``'s words ("ok" while still going, as live)."""
    if replayed == screening.BLOCKED:
        return "blocked"
    if replayed in (screening.UNQUALIFIED, screening.UNDECIDED):
        return replayed
    return "ok"


def reliability(frame: Frame) -> list[dict]:
    """Krippendorff's α (nominal) and Fleiss' κ over pairs answered by several analysed workers."""
    a = frame.answers.take(frame.analysed)
    value = np.where(a.choice == "none", 2, np.where(a.chosen == a.sketch_a, 0, 1))
    return reliability_table(frame, a, value)


def reliability_table(frame: Frame, a: selectors.StudyAnswers, value: np.ndarray) -> list[dict]:
    """α and κ per category and overall; units are planned trials, coders workers, ``value`` nominal."""
    groups = [("all categories", np.ones(len(a), bool))]
    groups += [(c.name, a.category == c.pk) for c in frame.categories]
    out = []
    for label, sel in groups:
        rec = {"category": label, "units": 0, "answers": 0, "krippendorff_alpha": None,
               "fleiss_kappa": None, "fleiss_units": 0, "fleiss_raters": None}  # fmt: skip
        if sel.any():
            matrix, _, _ = rel.units_by_coders(a.planned_pair[sel], a.participant_id[sel], value[sel])
            counts, _ = rel.ratings_to_counts(matrix)
            per_unit = counts.sum(axis=1)
            multi = per_unit >= 2
            rec |= {"units": int(multi.sum()), "answers": int(per_unit[multi].sum())}
            if multi.any():
                rec["krippendorff_alpha"] = _safe(rel.krippendorff_alpha_nominal, matrix[multi])
                k = int(np.bincount(per_unit[multi]).argmax())
                rec |= {"fleiss_raters": k, "fleiss_units": int((per_unit == k).sum())}
                rec["fleiss_kappa"] = _safe(rel.fleiss_kappa, counts[per_unit == k])
        out.append(rec)
    return out


def _safe(fn, *args):
    try:
        return float(fn(*args))
    except ValueError:
        return None  # undefined (e.g. every answer identical)


# -- what was left out -----------------------------------------------------------------


def exclusion_reason(p: dict, study: Study, flags: list | None = None) -> str:
    status = p["status"]
    if p.get("analysis_override") == "exclude":
        return f"excluded by the researcher: {p.get('analysis_override_reason') or 'no reason given'}"
    if status == ParticipantStatus.BLOCKED:
        return (f"blocked: {p['sentinel_mistakes']} sentinel mistakes in {p['sentinels_answered']} "
                f"(more than {study.max_sentinel_mistakes} allowed)")  # fmt: skip
    if p["qualified"] is False:
        share = p["duplicate_agreement"]
        shown = "n/a" if share is None else f"{100 * share:.0f}%"
        return (f"unqualified: reproduced {shown} of {p['duplicates_answered']} duplicates "
                f"(minimum {100 * study.min_duplicate_agreement:.0f}%)")  # fmt: skip
    if status == ParticipantStatus.ABANDONED:
        return f"abandoned (idle timeout) after {p['current_position']} of {p['n_trials']} trials"
    if status in (ParticipantStatus.CONSENTING, ParticipantStatus.DECLINED):
        return (
            "did not start the trials ("
            + ("declined consent" if status == "declined" else "no consent yet")
            + ")"
        )
    if status != ParticipantStatus.COMPLETED:
        return f"not finished yet ({status}, {p['current_position']} of {p['n_trials']} trials)"
    if flags and study.exclude_flagged and p.get("analysis_override") != "include":
        return f"flagged as possibly automated ({bot_screening.reasons(flags)})"
    return "not in the analysed scope"


def exclusions(frame: Frame) -> list[dict]:
    """Every participant whose answers are not analysed, and why."""
    in_scope = set(frame.in_scope.tolist())
    main = frame.answers.take(frame.answers.main)
    ids, n = np.unique(main.participant_id, return_counts=True)
    answered = dict(zip(ids.tolist(), n.tolist()))
    return [
        {
            "participant_id": p["id"],
            "panel_id": p["panel_id"],
            "index": p["index"],
            "status": p["status"],
            "answers": answered.get(p["id"], 0),
            "reason": exclusion_reason(p, frame.study, frame.flags.of(p["id"])),
        }  # fmt: skip
        for p in frame.participants
        if p["id"] not in in_scope
    ]


def answer_accounting(frame: Frame) -> list[dict]:
    """Answers by trial kind: how many, how many of them analysed, and what each kind is used for."""
    a = frame.answers
    in_scope = np.isin(a.participant_id, frame.in_scope)
    uses = {
        TrialKind.PRACTICE: "never analysed (feedback only)",
        TrialKind.SENTINEL: "screening only (sentinel mistakes)",
        TrialKind.DUPLICATE: "consistency only (not a new observation)",
        TrialKind.REGULAR: "agreement, Bradley–Terry, reliability",
    }
    out = []
    for kind, use in uses.items():
        sel = a.kind == kind
        analysed = int((sel & in_scope).sum()) if kind == TrialKind.REGULAR else 0
        none = int((sel & in_scope & (a.choice == "none")).sum()) if kind == TrialKind.REGULAR else 0
        out.append({"kind": str(kind), "answers": int(sel.sum()), "in_scope": int((sel & in_scope).sum()),
                    "analysed": analysed, "no_difference": none, "used_for": use})  # fmt: skip
    return out


def by_allocation(frame: Frame) -> list[dict]:
    """Agreement and reliability on all answers, on the random answers alone (random start and
    control slice) and on the adaptively chosen ones, with how many analysed answers each has.

    An adaptive study's reported figures should rest on the random rows; the adaptive row shows
    how far adaptively chosen pairs differ. Empty when the study has no adaptive answers."""
    a = frame.answers
    if not np.any(a.allocation == "adaptive"):
        return []
    random_pairs = np.isin(a.allocation, ["random_start", "control"])
    subsets = {  # sentinels, practice and gold ("" allocation) stay in every subset
        "all": np.ones(len(a), dtype=bool),
        "random (start + control)": a.allocation != "adaptive",
        "adaptive": ~random_pairs,
    }
    rows = []
    for name, mask in subsets.items():
        part = replace(frame, answers=a.take(mask))
        analysed = part.analysed
        keep = analysed & (part.answers.choice != "none") & (part.answers.q_a != part.answers.q_b)
        agree = (part.answers.chosen == part.answers.sketch_a) == (part.answers.q_a > part.answers.q_b)
        n = int(keep.sum())
        alpha = reliability(part)
        rows.append({
            "answers": name,
            "n": n,
            "agreement": float(agree[keep].mean()) if n else None,
            "krippendorff_alpha": alpha[0].get("krippendorff_alpha") if alpha else None,
        })  # fmt: skip
    return rows
