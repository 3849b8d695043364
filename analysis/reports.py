"""A study's full report: ``build_report(study, include_excluded=False) -> Report``.

The report is what the HTML page, the CSV/JSON files and the figures are all written
from (``analysis.exports``), so every number in every format comes from one computation.
It records what is needed to reproduce it: the study configuration and seed, the
scorers' checkpoint hashes, who and what was excluded and why, the rules and parameters.
"""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
from django.utils import timezone

from analysis import choice_quality, figures, results, selectors, trial_type_results
from analysis import curves as agreement_curves
from analysis.rankings import Ranking, ranking
from annotation.models import TrialKind
from studies import seeds
from studies.models import Study, TrialType

CONFIG_FIELDS = [
    "name", "slug", "question", "state", "seed", "split", "pairs_per_cell", "n_levels", "level_edges",
    "sampling_mode", "auto_gold_pairs", "trials_per_participant", "practice_trials", "sentinels_per_participant",
    "max_sentinel_mistakes", "duplicates_per_participant", "min_duplicate_agreement", "min_duplicate_distance",
    "allow_no_difference", "target_participants", "panel", "plan_frozen_at", "launched_at", "closed_at",
]  # fmt: skip
ANSWER_FIELDS = [
    "answer_id", "participant", "participant_index", "simulated", "participant_status", "analysed", "excluded_reason",
    "trial_id", "trial_kind", "position", "planned_pair_id", "gold_pair_id", "duplicate_of_trial_id",
    "category", "method", "level", "q_left", "q_right", "left_sketch_id", "right_sketch_id", "choice",
    "chosen_sketch_id", "agrees_with_q", "correct", "server_response_ms", "client_response_ms",
    "blur_count", "hidden_count", "input_kind", "pointer_moves", "pointer_path_px", "viewport_w", "viewport_h",
    "device_hash", "network_hash", "served_at", "answered_at",
    "third_sketch_id", "fourth_sketch_id",  # best of K: options 3 and 4 (left, right are options 1 and 2)
]  # fmt: skip


@dataclass
class Report:
    study: Study
    meta: dict
    frame: results.Frame
    agreement: results.Agreement
    rankings: list[Ranking]
    worker_qa: list[dict]
    reliability: list[dict]
    recognition: list[dict]
    exclusions: list[dict]
    accounting: list[dict]
    curves: agreement_curves.Curves | None = None
    allocation: list[dict] = field(default_factory=list)  # adaptive studies: random vs adaptive answers
    weighted: list[dict] = field(default_factory=list)  # agreement weighted by worker skill, beside
    #: best of K / single (``analysis.trial_type_results``): their own tables; empty for pairs
    choice_tables: dict[str, list[dict]] = field(default_factory=dict)
    _figures: dict = field(default_factory=dict, repr=False)

    def tables(self) -> dict[str, list[dict]]:
        """Every table of the report by file name (CSV), in reading order."""
        return {
            "agreement_by_method": self.agreement.by_method,
            "agreement_across_methods": self.agreement.across_methods,
            "agreement_by_category": self.agreement.by_category,
            "agreement_by_level": self.agreement.cells,
            "agreement_curves": self.curves.by_method if self.curves else [],
            "agreement_curve_levels": self.curves.by_level if self.curves else [],
            "method_differences": self.curves.differences if self.curves else [],
            "agreement_weighted_by_skill": self.weighted,
            "answers_by_allocation": self.allocation,
            "recognition": self.recognition,
            "bt_fits": [r.fit for r in self.rankings],
            "rank_correlations": [c for r in self.rankings for c in r.correlations],
            "rankings": [item for r in self.rankings for item in r.items],
            "worker_qa": self.worker_qa,
            "reliability": self.reliability,
            "exclusions": self.exclusions,
            "answer_accounting": self.accounting,
            **self.choice_tables,
        }

    def to_dict(self) -> dict:
        return {"meta": self.meta, "rules": results.RULES, **self.tables()}

    def figure_names(self) -> list[str]:
        if self.study.trial_type == TrialType.BEST_OF_K:
            return ["kway_agreement"] if self.choice_tables.get("kway_agreement_by_level") else []
        if self.study.trial_type == TrialType.SINGLE:
            return ["yes_rate"] if self.choice_tables.get("yes_rate_curve") else []
        names = ["agreement"] if self.frame.categories else []
        if self.curves and self.curves.figure:
            names.append("psychometric")
        method = reference_method(self.frame.scorers)
        if any(len(r.points.get(method, ((),))[0]) for r in self.rankings):
            names.append("bt_vs_q")
        return names

    def figure(self, name: str, fmt: str = "svg") -> bytes:
        key = (name, fmt)
        if key not in self._figures:
            if name == "agreement":
                title = f"{self.study.name}: agreement with q ({self.agreement.interval} 95% intervals)"
                data = figures.agreement_figure(
                    self.agreement.curves,
                    self.frame.levels,
                    fmt,
                    title=title,
                    level_flags=self.agreement.level_flags,
                )
            elif name == "psychometric" and name in self.figure_names():
                title = (f"{self.study.name}: agreement against the gap, all categories "
                         f"(2AFC Weibull fit; g75 with {self.curves.n_boot}-replicate worker × pair bootstrap)")  # fmt: skip
                data = figures.psychometric_figure(self.curves.figure, fmt, title=title)
            elif name == "bt_vs_q" and name in self.figure_names():
                data = bt_vs_q(self, fmt)
            elif name == "kway_agreement" and name in self.figure_names():
                data = kway_agreement(self, fmt)
            elif name == "yes_rate" and name in self.figure_names():
                data = yes_rate(self, fmt)
            else:
                raise KeyError(f"no figure {name!r} in this report")
            self._figures[key] = data
        return self._figures[key]

    def answer_rows(self) -> Iterator[dict]:
        """One row per stored answer (practice included), with why it is or is not analysed."""
        return answer_rows(self.frame, {e["participant_id"]: e["reason"] for e in self.exclusions})


def reference_method(scorers) -> str | None:
    """The method the BT-vs-q figure shows: the first GACL scorer with soft binning, else the first."""
    preferred = [s for s in scorers if s.variant != "softmax" and s.soft_binning]
    chosen = (preferred or list(scorers))[:1]
    return chosen[0].name if chosen else None


def kway_agreement(report: Report, fmt: str) -> bytes:
    return kway_agreement_figure(report.study, report.frame.levels, report.choice_tables, fmt)


def kway_agreement_figure(study: Study, levels: list[str], tables: dict, fmt: str) -> bytes:
    """Best of K: % of choices of the highest-q sketch per level of the largest gap, Wilson 95%,
    all categories pooled; chance (a random pick) is 1/K."""
    curves: dict[str, tuple] = {}
    table = tables["kway_agreement_by_level"]
    for method in dict.fromkeys(r["method"] for r in table):
        rows = {r["level"]: r for r in table if r["method"] == method}
        columns = [[_nan(rows.get(lv, {}).get(key)) for lv in levels] for key in ("agreement", "lo", "hi")]
        curves[method] = (np.arange(len(levels)), *columns)
    k = study.sketches_per_trial
    title = f"{study.name}: best of {k}, choices of the highest-q sketch (Wilson 95%)"
    return figures.agreement_figure({"all categories": curves}, levels, fmt, chance=1 / k, title=title)


def yes_rate(report: Report, fmt: str) -> bytes:
    return yes_rate_figure(report.study, report.choice_tables, fmt)


def yes_rate_figure(study: Study, tables: dict, fmt: str) -> bytes:
    """Single: the fitted yes rate against each method's q, all categories pooled, worker bootstrap band."""
    curves: dict[str, tuple] = {}
    rows = [r for r in tables["yes_rate_curve"] if r["category"] == "all"]
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        curves[method] = tuple([_nan(r[key]) for r in mine] for key in ("q", "yes_rate", "lo", "hi"))
    title = f"{study.name}: yes rate against q (logistic fit, worker-bootstrap 95% band)"
    return figures.yes_rate_figure(curves, fmt, title=title)


def _nan(value) -> float:
    return np.nan if value is None else float(value)


def bt_vs_q(report: Report, fmt: str) -> bytes:
    """One panel per category, against the reference method's q (every method's τ and ρ are in the table)."""
    method = reference_method(report.frame.scorers)
    points, notes = {}, {}
    for r in report.rankings:
        c = next((c for c in r.correlations if c["method"] == method), None)
        q, s, lo, hi = r.points.get(method, ((),) * 4)
        if c is None or not len(q):
            continue
        panel = f"{r.category.name} · {method}"
        points[panel] = (q, s, lo, hi)
        if c.get("tau") is not None:
            notes[panel] = f"τ = {c['tau']:.2f} [{c['tau_lo']:.2f}, {c['tau_hi']:.2f}]"
    title = f"Bradley–Terry score vs q of {method}"
    return figures.bt_vs_q_figure(
        points, fmt, annotations=notes, ncols=min(4, max(1, len(points))), title=title
    )


def build_report(
    study: Study,
    include_excluded: bool = False,
    *,
    agreement_boot: int | None = None,
    bt_boot: int | None = None,
    correlation_boot: int | None = None,
    curve_boot: int | None = None,
    progress=None,
) -> Report:
    """Everything about ``study``'s results. ``include_excluded`` analyses blocked,
    unqualified and unfinished workers too (for comparison with the default). Bootstrap
    sizes default to ``results.AGREEMENT_BOOT``, ``BT_BOOT`` and ``CORRELATION_BOOT``."""
    agreement_boot = results.AGREEMENT_BOOT if agreement_boot is None else agreement_boot
    bt_boot = results.BT_BOOT if bt_boot is None else bt_boot
    correlation_boot = results.CORRELATION_BOOT if correlation_boot is None else correlation_boot
    scope = selectors.EVERYONE if include_excluded else selectors.ANALYSABLE
    step = progress or (lambda share, stage: None)  # progress(share in [0, 1], stage): e.g. a Celery task's
    step(0.0, "reading the answers")
    frame = results.load_frame(study, scope)
    choice_tables = {}
    if study.trial_type != TrialType.PAIR:  # the pair analyses below get no answers; these replace them
        step(0.05, "best-of-K or single-sketch results and their bootstraps")
        choice_tables = trial_type_results.choice_tables(
            frame, seed=seeds.key(study.seed_scheme, "report_choices", study.seed)
        )
    # pair analyses (agreement, BT, curves, reliability) read pairs only: none in other trial types
    pairs = frame
    if study.trial_type != TrialType.PAIR:
        no_answers = frame.answers.take(np.zeros(len(frame.answers), bool))
        pairs = dataclasses.replace(frame, answers=no_answers, in_scope=np.zeros(0, np.int64))
    step(0.1, "agreement and its bootstrap over workers")
    agreement = results.agreement(
        pairs, n_boot=agreement_boot, seed=seeds.key(study.seed_scheme, "report_agreement", study.seed)
    )
    step(0.3, "Bradley–Terry rankings and their bootstrap")
    rankings = category_rankings(pairs, n_boot=bt_boot, n_boot_corr=correlation_boot)
    step(0.6, "agreement curves and method differences")
    curve_boot = agreement_curves.CURVE_BOOT if curve_boot is None else curve_boot
    curves = agreement_curves.curves(
        pairs, n_boot=curve_boot, seed=seeds.key(study.seed_scheme, "report_curves", study.seed)
    )
    step(0.75, "worker quality and reliability")
    is_pair = study.trial_type == TrialType.PAIR
    workers = results.fit_workers(pairs)
    report = Report(
        study=study,
        meta={},
        frame=frame,
        agreement=agreement,
        rankings=rankings,
        worker_qa=results.worker_quality(pairs, workers) if is_pair else choice_quality.worker_rows(frame),
        reliability=results.reliability(pairs) if is_pair else choice_quality.reliability(frame),
        allocation=results.by_allocation(pairs),
        recognition=recognition(study, frame),
        exclusions=results.exclusions(frame),
        accounting=results.answer_accounting(frame),
        curves=curves,
        weighted=results.skill_weighted_agreement(pairs, workers),
        choice_tables=choice_tables,
    )
    report.meta = _meta(report, include_excluded, agreement_boot, bt_boot, correlation_boot)
    report.meta["parameters"]["curve_bootstrap"] = curve_boot
    step(0.8, "figures")
    return report


def category_rankings(frame: results.Frame, *, n_boot: int, n_boot_corr: int, only=None) -> list[Ranking]:
    planned = selectors.planned_sketches(frame.study)
    all_ids = np.concatenate(list(planned.values())) if planned else np.zeros(0, np.int64)
    scores = selectors.study_scores(frame.study, [s.pk for s in frame.scorers], all_ids)
    out = []
    for category in frame.categories:
        if category.pk not in planned or (only is not None and category.pk != only.pk):
            continue
        seed = seeds.key(frame.study.seed_scheme, "report_ranking", frame.study.seed, category.pk)
        out.append(
            ranking(
                frame,
                category,
                planned[category.pk],
                scores,
                n_boot=n_boot,
                n_boot_corr=n_boot_corr,
                seed=seed,
            )
        )
    return out


def recognition(study: Study, frame: results.Frame) -> list[dict]:
    """Top-1 accuracy of each scorer on the study's sketches (the paper's Table 1, on this set)."""
    found = selectors.recognition_accuracy(study)
    rows = []
    for s in frame.scorers:
        correct, n = found.get(s.pk, (0, 0))
        rows.append({"method": s.name, "variant": s.variant, "scored": n, "correct": correct,
                     "accuracy": correct / n if n else None})  # fmt: skip
    return rows


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def sanity_digest(scorer) -> dict:
    """The scorer's sanity report at moderate severity (share q falls per family), and its verdict."""
    from scoring.evaluation import problem_of, report_of

    stored = report_of(scorer) or {}
    return {
        "moderate": {f: row.get("share") for f, row in (stored.get("summary") or {}).items()},
        "problem": problem_of(scorer),
        "n_sketches": stored.get("n_sketches"),
    }


def _meta(report: Report, include_excluded: bool, agreement_boot: int, bt_boot: int, corr_boot: int) -> dict:
    study, frame = report.study, report.frame
    config = {name: getattr(study, name) for name in CONFIG_FIELDS}
    config = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in config.items()}
    a = frame.answers
    return {
        "title": f"SketchQ report: {study.name}",
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "study": config,
        "owner": study.owner.get_username() if study.owner else None,
        "scope": frame.scope,
        "scope_label": selectors.SCOPES[frame.scope],
        "include_excluded": include_excluded,
        "scorers": [
            {
                "id": s.pk,
                "name": s.name,
                "variant": s.variant,
                "soft_binning": s.soft_binning,
                "encoder": s.encoder,
                "checkpoint_sha256": s.checkpoint_sha256,
                "status": s.status,
                "sanity": sanity_digest(s),
            }  # fmt: skip
            for s in frame.scorers
        ],
        "categories": [{"id": c.pk, "name": c.name, "slug": c.slug} for c in frame.categories],
        "levels": frame.levels,
        "plan": {
            k: (study.plan_summary or {}).get(k) for k in ("total_pairs", "gold_pairs", "mode", "edges")
        },
        "simulated_participants": sum(bool(p.get("simulated")) for p in frame.participants),
        "counts": {
            "participants": len(frame.participants),
            "participants_analysed": int(frame.in_scope.size),
            "answers": len(a),
            "main_answers": int(a.main.sum()),
            "analysed_answers": int(frame.analysed.sum()),
        },
        "parameters": {
            "agreement_bootstrap": agreement_boot,
            "bt_bootstrap": bt_boot,
            "correlation_bootstrap": corr_boot,
            "bt_alpha_per_item": results.ALPHA_PER_ITEM,
            "interval_z": 1.96,
            "fast_answer_ms": results.FAST_MS,
            "seed_streams": {
                "scheme": study.seed_scheme,
                "agreement": seeds.key(study.seed_scheme, "report_agreement", study.seed),
                "ranking": {
                    c.slug: seeds.key(study.seed_scheme, "report_ranking", study.seed, c.pk)
                    for c in frame.categories
                },
            },
        },  # fmt: skip
        "software": {"python": platform.python_version()}
        | {p: _version(p) for p in ("django", "numpy", "scipy", "choix", "matplotlib")},
    }


def answer_rows(frame: results.Frame, excluded: dict[int, str]) -> Iterator[dict]:
    a = frame.answers
    analysed = frame.analysed
    methods = {s.pk: s.name for s in frame.scorers}
    categories = {c.pk: c.name for c in frame.categories}
    people = {p["id"]: p for p in frame.participants}
    q_left, q_right = a.q_left, a.q_right
    for i in range(len(a)):
        p = people[int(a.participant_id[i])]
        kind = str(a.kind[i])
        planned = int(a.planned_pair[i]) >= 0
        chosen = int(a.chosen[i])
        agrees = correct = None
        pair = a.right[i] >= 0 and a.third[i] < 0  # best of K and single: agreement in their own tables
        if pair and planned and chosen >= 0 and q_left[i] != q_right[i]:
            agrees = bool((chosen == a.left[i]) == (q_left[i] > q_right[i]))
        known = a.gold_better[i] if kind == TrialKind.SENTINEL else a.practice_better[i]
        if kind in (TrialKind.SENTINEL, TrialKind.PRACTICE):
            single = a.right[i] < 0  # yes is right for the better sketch, no for the worse
            correct = (
                bool((a.choice[i] == "yes") == (a.left[i] == known)) if single else bool(chosen == known)
            )
        if analysed[i]:
            reason = ""
        elif kind != TrialKind.REGULAR:
            reason = {"practice": "practice", "sentinel": "sentinel", "duplicate": "duplicate"}[kind]
        else:
            reason = excluded.get(p["id"], "not in scope")
        yield {
            "answer_id": int(a.answer_id[i]), "participant": p["panel_id"], "participant_index": p["index"],
            "simulated": bool(p.get("simulated")),
            "participant_status": p["status"], "analysed": bool(analysed[i]), "excluded_reason": reason,
            "trial_id": int(a.trial_id[i]), "trial_kind": kind, "position": int(a.position[i]),
            "planned_pair_id": int(a.planned_pair[i]) if planned else None,
            "gold_pair_id": int(a.gold_pair[i]) if a.gold_pair[i] >= 0 else None,
            "duplicate_of_trial_id": int(a.duplicate_of[i]) if a.duplicate_of[i] >= 0 else None,
            "category": categories.get(int(a.category[i])), "method": methods.get(int(a.scorer[i])),
            "level": int(a.level[i]) if planned else None,
            "q_left": float(q_left[i]) if planned and pair else None,
            "q_right": float(q_right[i]) if planned and pair else None,
            "left_sketch_id": int(a.left[i]), "right_sketch_id": _id(a.right[i]), "choice": str(a.choice[i]),
            "chosen_sketch_id": chosen if chosen >= 0 else None, "agrees_with_q": agrees, "correct": correct,
            "server_response_ms": _ms(a.server_ms[i]), "client_response_ms": _ms(a.client_ms[i]),
            "blur_count": _ms(a.blur_count[i]), "hidden_count": _ms(a.hidden_count[i]),
            "input_kind": str(a.input_kind[i]), "pointer_moves": _ms(a.pointer_moves[i]),
            "pointer_path_px": _ms(a.pointer_path_px[i]), "viewport_w": _ms(a.viewport_w[i]),
            "viewport_h": _ms(a.viewport_h[i]), "device_hash": str(a.device_hash[i]),
            "network_hash": str(a.network_hash[i]),
            "served_at": a.served_at[i].isoformat() if a.served_at[i] else None,
            "answered_at": a.answered_at[i].isoformat() if a.answered_at[i] else None,
            "third_sketch_id": _id(a.third[i]), "fourth_sketch_id": _id(a.fourth[i]),
        }  # fmt: skip


def _id(x) -> int | None:
    return int(x) if x >= 0 else None


def _ms(x) -> int | None:
    return None if np.isnan(x) else int(x)
