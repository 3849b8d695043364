"""Reports of best-of-K and single studies: answers by q-following workers give the tables their meaning."""

from __future__ import annotations

import numpy as np
import pytest
from django.db.models import F

from analysis.exports import render_report_html, report_files
from analysis.reports import build_report
from annotation.actions import do_finish_instructions, do_submit_answer
from annotation.models import ParticipantStatus
from annotation.trial_types import option_sketch_ids
from scoring.models import SketchScore
from tests.annotation.factories import admitted, main_trials, make_running_study

pytestmark = pytest.mark.django_db

N_WORKERS = 6


def _q(study):
    scorer = study.scorers.order_by("name").first()  # test-gacl-cos: feature q
    return dict(SketchScore.objects.filter(scorer=scorer).values_list("sketch_id", "q"))


def _known(trial):
    if trial.is_practice:
        return trial.practice_better_sketch_id
    return trial.gold_pair.better_id if trial.gold_pair_id else None


def _run(study, answer):
    for w in range(N_WORKERS):
        participant = do_finish_instructions(admitted(study, f"W{w}"))
        practice = participant.trials.filter(is_practice=True, position__lt=F("participant__n_practice"))
        for trial in practice.order_by("position"):
            do_submit_answer(participant, trial.token, answer(trial, w))
        for trial in main_trials(participant):
            do_submit_answer(participant, trial.token, answer(trial, w))
        participant.refresh_from_db()
        assert participant.status == ParticipantStatus.COMPLETED and participant.qualified


def test_a_best_of_k_report_ranks_by_plackett_luce_and_agrees_more_at_large_gaps():
    study = make_running_study(
        "kway-report", trial_type="best_of_k", options_per_trial=3, target_participants=10
    )
    q = _q(study)

    def highest_q(trial, worker):  # the set's best by q; duplicates stay consistent
        options = option_sketch_ids(trial)
        target = _known(trial) or max(options, key=lambda pk: q[pk])
        return str(options.index(target) + 1)

    _run(study, highest_q)
    report = build_report(study, agreement_boot=20, bt_boot=10, correlation_boot=10, curve_boot=10)
    tables = report.tables()
    ranked = [r for r in tables["kway_rankings"] if r["evidence"] == "ok"]
    assert ranked and all(r["pl_lo"] <= r["pl_score"] <= r["pl_hi"] for r in ranked)
    taus = {(r["category"], r["method"]): r["tau"] for r in tables["kway_rank_correlations"]}
    assert all(t is None or t > 0.3 for (c, m), t in taus.items() if m == "test-gacl-cos")
    by_level = [
        r for r in tables["kway_agreement_by_level"] if r["method"] == "test-gacl-cos" and r["answers"]
    ]
    assert by_level and all(r["agreement"] == 1.0 for r in by_level)  # this worker always picks the top q
    assert tables["agreement_by_level"] == [] or all(
        not r.get("answers") for r in tables["agreement_by_level"]
    )
    files = dict(report_files(report))
    assert b"sketch_id" in files["kway_rankings.csv"] and "kway_agreement_by_level.csv" in files
    html = render_report_html(report, with_figures=False)
    assert "Best of K: Plackett" in html
    assert report.figure_names() == ["kway_agreement"]  # not the empty pair agreement figure
    svg = report.figure("kway_agreement").decode()
    assert "best of 3" in svg and "test-gacl-cos" in svg
    assert "figures/kway_agreement.pdf" in files


def test_a_single_report_fits_a_rising_yes_rate_for_workers_who_say_yes_to_high_q():
    study = make_running_study("single-report", trial_type="single", target_participants=10)
    q = _q(study)
    cut = float(np.median(list(q.values())))
    rng = np.random.default_rng(0)

    def yes_if_high(trial, worker):
        known = _known(trial)
        if known is not None:
            return "yes" if trial.left_sketch_id == known else "no"
        if trial.duplicate_of_id:
            return trial.duplicate_of.answer.choice
        p = 0.85 if q[trial.left_sketch_id] > cut else 0.15
        return "yes" if rng.random() < p else "no"

    _run(study, yes_if_high)
    report = build_report(study, agreement_boot=20, bt_boot=10, correlation_boot=10, curve_boot=10)
    fits = {(r["method"], r["category"]): r for r in report.tables()["yes_rate_fits"]}
    overall = fits[("test-gacl-cos", "all")]
    assert overall["answers"] > 100
    assert overall["slope"] > 0 and overall["slope_wald_lo"] > 0 and overall["slope_boot_lo"] > 0
    curve = [
        r
        for r in report.tables()["yes_rate_curve"]
        if r["method"] == "test-gacl-cos" and r["category"] == "all"
    ]
    assert curve[0]["yes_rate"] < 0.5 < curve[-1]["yes_rate"]
    files = dict(report_files(report))
    assert b"slope_boot_lo" in files["yes_rate_fits.csv"]
    assert "Single sketches: yes rate" in render_report_html(report, with_figures=False)
    assert report.figure_names() == ["yes_rate"]
    svg = report.figure("yes_rate").decode()
    assert "yes rate against q" in svg and "test-gacl-cos" in svg and "figures/yes_rate.png" in files
