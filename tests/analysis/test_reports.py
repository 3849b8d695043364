"""The report's numbers, counted by hand on workers who answer by rule (tests/analysis/factories.py)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import results
from analysis.reports import build_report
from annotation.models import Answer, TrialKind
from tests.analysis.factories import answer_all, undecided
from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db


def _regular(participant):
    """(agreeing, q ties, total) over the participant's regular answers, counted directly."""
    agree = ties = total = 0
    for answer in Answer.objects.filter(
        trial__participant=participant, trial__kind=TrialKind.REGULAR
    ).select_related("trial__planned_pair"):
        pair = answer.trial.planned_pair
        total += 1
        if pair.q_a == pair.q_b:
            ties += 1
            continue
        higher = pair.sketch_a_id if pair.q_a > pair.q_b else pair.sketch_b_id
        agree += answer.chosen_sketch_id == higher
    return agree, ties, total


@pytest.fixture(scope="module")
def reports(answered, django_db_blocker):
    study, _ = answered
    with django_db_blocker.unblock():
        return build_report(study, agreement_boot=100, bt_boot=20), build_report(
            study, include_excluded=True, agreement_boot=100, bt_boot=20
        )


def test_agreement_counts_the_regular_trials_of_qualified_workers_only(answered, reports):
    _, w = answered
    report, _ = reports
    f_agree, f_ties, f_total = _regular(w["follower"])
    c_agree, c_ties, c_total = _regular(w["contrarian"])
    table = report.agreement.table
    assert f_agree == f_total - f_ties and c_agree == 0  # the rules do what they say
    assert int(table.n.sum()) == f_total - f_ties + c_total - c_ties
    assert int(table.agree.sum()) == f_agree
    assert int(table.n_q_ties.sum()) == f_ties + c_ties


def test_duplicates_sentinels_and_practice_never_enter_the_agreement(answered, reports):
    _, w = answered
    report, _ = reports
    accounting = {row["kind"]: row for row in report.accounting}
    assert accounting["duplicate"]["answers"] > 0 and accounting["duplicate"]["analysed"] == 0
    assert accounting["sentinel"]["analysed"] == 0 and accounting["practice"]["analysed"] == 0
    assert accounting["regular"]["analysed"] == sum(_regular(w[k])[2] for k in ("follower", "contrarian"))


def test_the_toggle_adds_the_blocked_and_unqualified_workers(answered, reports):
    _, w = answered
    default, everyone = reports
    extra = sum(_regular(w[k])[2] - _regular(w[k])[1] for k in ("blocked", "unqualified"))
    assert int(everyone.agreement.table.n.sum()) == int(default.agreement.table.n.sum()) + extra
    assert everyone.meta["include_excluded"] and not default.meta["include_excluded"]
    assert everyone.meta["counts"]["participants_analysed"] == 5


def test_exclusions_say_who_was_left_out_and_why(answered, reports):
    report, everyone = reports
    reasons = {row["panel_id"]: row["reason"] for row in report.exclusions}
    assert set(reasons) == {"BLOCKED", "FLIP", "LATE"}
    assert reasons["BLOCKED"].startswith("blocked: 3 sentinel mistakes")
    assert reasons["FLIP"].startswith("unqualified: reproduced 0% of 4 duplicates (minimum 70%)")
    assert reasons["LATE"].startswith("did not start the trials")
    assert {row["panel_id"] for row in everyone.exclusions} == set()


def test_per_method_summary_gives_mean_and_std_across_categories(reports):
    report, _ = reports
    cells = report.agreement.by_category
    for row in report.agreement.by_method:
        rates = [c["rate"] for c in cells if c["method"] == row["method"] and c["rate"] is not None]
        assert row["category_mean"] == pytest.approx(np.mean(rates))
        assert row["category_std"] == pytest.approx(np.std(rates))
        assert row["wilson_lo"] <= row["rate"] <= row["wilson_hi"]


def test_bootstrap_and_wilson_intervals_surround_every_cell(reports):
    report, _ = reports
    for cell in report.agreement.cells:
        if cell["n"]:
            assert cell["wilson_lo"] <= cell["rate"] <= cell["wilson_hi"]
            assert cell["boot_lo"] <= cell["rate"] + 1e-12 and cell["rate"] - 1e-12 <= cell["boot_hi"]


def test_worker_qa_shows_the_screening_that_was_applied(answered, reports):
    report, _ = reports
    rows = {row["panel_id"]: row for row in report.worker_qa}
    assert rows["BLOCKED"]["status"] == "blocked" and rows["BLOCKED"]["sentinel_mistakes"] == 3
    assert rows["FLIP"]["status"] == "unqualified" and rows["FLIP"]["duplicate_consistency"] == 0
    assert rows["FOLLOW"]["status"] == rows["CONTRA"]["status"] == "ok"
    assert rows["FOLLOW"]["median_rt_ms"] > 900  # the browser's time (900 + position) is preferred
    assert all(row["recomputed_status"] == row["status"] for row in rows.values())
    assert "LATE" not in rows


def test_one_raw_row_per_stored_answer_each_with_its_reason(answered, reports):
    study, _ = answered
    report, _ = reports
    rows = list(report.answer_rows())
    assert len(rows) == Answer.objects.filter(trial__participant__study=study).count()
    analysed = [r for r in rows if r["analysed"]]
    assert analysed and all(
        r["trial_kind"] == "regular" and r["participant"] in ("FOLLOW", "CONTRA") for r in analysed
    )
    assert {r["excluded_reason"] for r in rows if r["trial_kind"] == "practice"} == {"practice"}
    blocked = [r for r in rows if r["participant"] == "BLOCKED" and r["trial_kind"] == "regular"]
    assert blocked and all(r["excluded_reason"].startswith("blocked") for r in blocked)
    follower = [r for r in analysed if r["participant"] == "FOLLOW" and r["agrees_with_q"] is not None]
    assert all(r["agrees_with_q"] for r in follower)


def test_rankings_cover_each_category_and_report_the_comparison_graph(reports):
    report, _ = reports
    assert [r.category.name for r in report.rankings] == ["face", "pig"]
    for ranking in report.rankings:
        assert ranking.fit["n_comparisons"] > 0 and ranking.fit["solver"].startswith("choix")
        assert ranking.fit["n_components"] >= 1 and ranking.fit["warning"]  # sparse: reported, still fitted
        compared = [i for i in ranking.items if i["wins"] + i["losses"] + i["ties"]]
        assert ranking.items[: len(compared)] == compared  # never-compared sketches come last, unranked
        assert all(i["bt_rank"] is None and i["bt_lo"] is None for i in ranking.items[len(compared) :])
        assert ranking.fit["n_components"] == max(i["component"] for i in compared)
        for component in range(1, ranking.fit["n_components"] + 1):
            members = [i for i in compared if i["component"] == component]
            scored = [i for i in members if i["evidence"] == "ok"]
            # ranks and scores are given within a component, only where the evidence allows
            assert [i["bt_score"] for i in scored] == sorted((i["bt_score"] for i in scored), reverse=True)
            assert all(1 <= i["bt_rank"] <= len(members) for i in scored)
            for i in scored:
                assert (
                    i["bt_lo"] <= i["bt_score"] <= i["bt_hi"] and i["rank_lo"] <= i["bt_rank"] <= i["rank_hi"]
                )
        flagged = [i for i in compared if i["evidence"] != "ok"]
        assert all(i["bt_score"] is None and i["bt_rank"] is None for i in flagged)
        assert ranking.fit["n_little_evidence"] == len(flagged)


def test_the_meta_records_the_scorer_hashes_and_the_configuration(answered, reports):
    study, _ = answered
    report, _ = reports
    assert {s["checkpoint_sha256"] for s in report.meta["scorers"]} == {"5e" * 32}
    assert report.meta["study"]["seed"] == study.seed and report.meta["study"]["slug"] == study.slug
    assert report.meta["levels"][0].startswith("[0")


def test_no_difference_answers_are_counted_apart_and_become_bt_ties():
    study = make_running_study("undecided-study", allow_no_difference=True)
    answer_all(study, "UNSURE", undecided)
    report = build_report(study, agreement_boot=0, bt_boot=10, correlation_boot=10)
    regular = Answer.objects.filter(trial__kind="regular", trial__participant__study=study).count()
    assert int(report.agreement.table.n.sum()) == 0
    assert int(report.agreement.n_no_difference.sum()) == regular
    assert sum(r.fit["n_ties"] for r in report.rankings) == regular
    assert all(r.fit["solver"].startswith("fit_fast") for r in report.rankings)


def test_a_study_without_answers_still_gives_a_complete_report():
    study = make_running_study("empty-study")
    report = build_report(study)
    assert report.meta["counts"]["answers"] == 0
    assert report.agreement.cells == [] and report.worker_qa == []
    assert all(r.fit["warning"] for r in report.rankings)
    assert report.figure_names() == ["agreement"]
    assert report.figure("agreement", "svg").lstrip().startswith(b"<?xml")
    assert results.level_names(study) == report.meta["levels"]


def test_the_report_fits_agreement_curves_and_compares_methods_with_intervals(reports):
    report, _ = reports
    tables = report.tables()
    curves = tables["agreement_curves"]
    assert {c["method"] for c in curves} == {s.name for s in report.frame.scorers if c_has(report, s)}
    for c in curves:
        if c["g75"] is not None:
            assert c["g75_lo"] <= c["g75"] <= c["g75_hi"]
    overall = [d for d in tables["method_differences"] if d["level"] == "all levels"]
    assert overall and all(d["lo"] <= d["difference"] <= d["hi"] for d in overall if d["lo"] is not None)
    assert "psychometric" in report.figure_names()
    assert report.figure("psychometric", "svg").lstrip().startswith(b"<?xml")


def test_empty_and_thin_levels_are_flagged_with_their_count_in_every_table(reports):
    report, _ = reports
    tables = report.tables()
    for name in ("agreement_by_level", "agreement_curve_levels", "method_differences"):
        rows = [r for r in tables[name] if r.get("level") != "all levels"]
        assert rows and all("flag" in r for r in rows)
        for r in rows:
            n = r["n"] if "n" in r else min(r["n_method"], r["n_versus"])
            expected = (
                "empty (n=0)" if n == 0 else (f"thin (n={n})" if n < results.THIN_LEVEL_ANSWERS else "")
            )
            assert r["flag"] == expected, (name, r)
    flagged = [r for r in tables["agreement_by_level"] if r["flag"]]
    assert flagged  # this small study has thin levels: the figure marks them too
    assert any(f for flags in report.agreement.level_flags.values() for f in flags)
    assert b"thin (n=" in report.figure("agreement", "svg") or b"empty (n=0)" in report.figure(
        "agreement", "svg"
    )


def c_has(report, scorer) -> bool:
    return any(r["method"] == scorer.name and r["n"] for r in report.tables()["agreement_by_method"])
