"""A simulated crowd answers a real study through the participant pages; the analysis must see through it.

One crowd (fixed seed, real sample sketches) is simulated once for this module: 12 good
workers, 8 spammers, a left-biased and an inconsistent worker, each going through consent,
practice, breaks and trials over HTTP (Django's test client). Small enough to run in about a
minute; the large-scale numbers are in bench/bench_crowd.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from django.core.management import CommandError, call_command
from django.db import transaction

from analysis import results
from analysis.crowd import latent_table, simulate_crowd
from analysis.reports import build_report
from annotation.models import Participant, ParticipantStatus
from scoring.models import Scorer
from sketches.models import Sketch
from studies import seeds
from studies.actions import do_launch_study
from tests.factories import make_scored_study, make_scorer, make_scores

pytestmark = pytest.mark.django_db  # one group for pytest-django's ordering: the crowd is simulated once

SEED = 11
CROWD = {"good": 12, "spammer": 8, "left_biased": 1, "inconsistent": 1}
CONFIG = {
    "sampling_mode": "balanced", "n_levels": 4, "pairs_per_cell": 40, "trials_per_participant": 48,
    "practice_trials": 2, "sentinels_per_participant": 8, "max_sentinel_mistakes": 2,
    "duplicates_per_participant": 12, "min_duplicate_distance": 8, "min_duplicate_agreement": 0.7,
    "break_every": 24, "target_participants": 40, "auto_gold_pairs": 0, "degradation_gold_pairs": 12,
    "too_fast_ms": 350,
}  # fmt: skip


ORACLE = "test-oracle"


def make_oracle(study):
    """A scorer the study does NOT compare (feature-based q, see tests.factories.feature_q),
    so the simulated truth favours neither compared method by construction."""
    categories = list(study.categories.all())
    oracle = make_scorer(ORACLE, categories)
    make_scores(oracle, Sketch.objects.originals().filter(category__in=categories), stroke_weight=1.5)
    return oracle


@pytest.fixture(scope="module")
def crowd(django_db_setup, django_db_blocker):
    """The study after the crowd; everything is rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        study = do_launch_study(make_scored_study("crowd-study", n=24, **CONFIG))
        oracle = make_oracle(study)
        result = simulate_crowd(study, CROWD, seed=SEED, oracle_name=oracle.name)
        report = build_report(study, agreement_boot=200, bt_boot=50, correlation_boot=100)
        yield study, result, report
        transaction.set_rollback(True)


def _final(result, profile):
    return [o.final_step for o in result.outcomes if o.profile == profile]


def test_every_simulated_worker_reaches_a_final_page_and_recognises_every_stimulus(crowd):
    _, result, _ = crowd
    assert len(result.outcomes) == sum(CROWD.values())
    assert all(o.final_step in ("complete", "blocked") for o in result.outcomes), result.by_final_step
    assert result.unrecognised_stimuli == 0


def test_screening_drops_the_spammers_and_keeps_the_good_workers(crowd):
    study, result, _ = crowd
    by_panel = {p.panel_id: p for p in Participant.objects.filter(study=study)}
    analysable = set(Participant.objects.filter(study=study).analysable().values_list("panel_id", flat=True))
    spammers = [o.panel_id for o in result.outcomes if o.profile == "spammer"]
    good = [o.panel_id for o in result.outcomes if o.profile == "good"]
    dropped_spammers = sum(p not in analysable for p in spammers)
    dropped_good = sum(p not in analysable for p in good)
    assert dropped_spammers / len(spammers) >= 0.95
    # A good worker reproduces each duplicate with high but not certain probability (close pairs are
    # nearly coin flips), so with 12 duplicates and the 70% rule about one in twelve lands at 8/12 and
    # is dropped (seeds 11-15: 2, 0, 1, 1, 0 of 12). Never for sentinels, and far fewer than the spammers.
    assert dropped_good / len(good) <= 0.2
    assert all(by_panel[p].sentinel_mistakes == 0 for p in good)
    assert all(by_panel[p].status == ParticipantStatus.COMPLETED for p in good)


def test_the_left_biased_worker_is_caught_and_shows_a_high_left_rate(crowd):
    _, result, report = crowd
    panel = next(o.panel_id for o in result.outcomes if o.profile == "left_biased")
    row = next(r for r in report.worker_qa if r["panel_id"] == panel)
    assert row["status"] in ("blocked", "unqualified") and not row["analysed"]
    assert row["left_rate"] > 0.8


def test_recomputed_screening_matches_what_the_live_screening_decided(crowd):
    _, _, report = crowd
    for row in report.worker_qa:
        assert row["recomputed_status"] == row["status"], row


def test_spammers_answer_fast_and_good_workers_do_not(crowd):
    _, result, report = crowd
    profile = {o.panel_id: o.profile for o in result.outcomes}
    fast = {r["panel_id"]: r["fast_share"] for r in report.worker_qa}
    assert min(fast[p] for p in fast if profile[p] == "spammer") > 0.1
    assert max(fast[p] for p in fast if profile[p] == "good") < 0.05


def test_the_agreement_curve_rises_with_the_level(crowd):
    _, _, report = crowd
    table = report.agreement.table
    n, k = table.n.sum(axis=(0, 1)), table.agree.sum(axis=(0, 1))
    rate = k / n
    assert n.min() > 20
    assert rate[0] < rate[-1]
    assert scipy.stats.spearmanr(np.arange(rate.size), rate).statistic > 0.7
    assert rate[-1] > 0.9


def test_agreement_counts_only_the_regular_trials_of_analysed_workers(crowd):
    study, _, report = crowd
    analysed = Participant.objects.filter(study=study).analysable()
    regular = sum(p.trials.filter(kind="regular", answer__isnull=False).count() for p in analysed)
    table = report.agreement.table
    assert int(table.n.sum() + table.n_q_ties.sum()) == regular


def test_even_this_small_crowd_ranks_the_sketches_close_to_the_latent_order(crowd):
    """About 170 comparisons of 24 sketches per category: τ ≈ 0.65 here; τ ≥ 0.8 needs more
    answers (test_bradley_terry_recovers_the_latent_order_given_enough_answers)."""
    study, _, report = crowd
    latent = latent_table(
        study, seeds.rng(study.seed_scheme, "crowd_latent", SEED), oracle=Scorer.objects.get(name=ORACLE)
    )
    for ranking in report.rankings:
        # the order the ranking lists the largest component in (every compared sketch, scored or flagged)
        compared = [i for i in ranking.items if i["component"] == 1]
        bt = [-position for position in range(len(compared))]
        truth = [latent[i["sketch_id"]] for i in compared]
        tau = scipy.stats.kendalltau(bt, truth).statistic
        assert tau >= 0.5, (ranking.category.name, tau, ranking.fit)


def test_bt_scores_correlate_with_q_with_intervals(crowd):
    _, _, report = crowd
    for row in report.tables()["rank_correlations"]:
        assert row["tau_lo"] <= row["tau"] <= row["tau_hi"]
        assert row["tau"] > 0.5


def test_pairs_answered_by_several_workers_give_an_inter_annotator_agreement(crowd):
    _, _, report = crowd
    overall = report.reliability[0]
    assert overall["units"] > 20
    assert 0.3 < overall["krippendorff_alpha"] <= 1


def test_running_the_same_crowd_again_adds_no_participants(crowd):
    study, _, _ = crowd
    before = Participant.objects.filter(study=study).count()
    again = simulate_crowd(study, {"good": 2}, seed=SEED)
    assert {o.final_step for o in again.outcomes} <= {"complete", "blocked"}
    assert all(o.answered == 0 for o in again.outcomes)
    assert Participant.objects.filter(study=study).count() == before


def test_the_command_refuses_an_unknown_study_or_a_draft(db, capsys):
    with pytest.raises(CommandError, match="no study"):
        call_command("simulate_crowd", "--study", "nope", "--participants", "1")
    make_scored_study("draft-study", n=12)
    with pytest.raises(CommandError, match="launch it"):
        call_command("simulate_crowd", "--study", "draft-study", "--participants", "1")


def test_results_rules_say_how_duplicates_count():
    assert any("duplicate" in rule and "not a new observation" in rule for rule in results.RULES)


def test_the_worker_model_ranks_planted_workers_below_good_ones_and_the_qa_table_follows_it(crowd):
    _, result, report = crowd
    profile = {o.panel_id: o.profile for o in result.outcomes}
    rows = [r for r in report.worker_qa if r["model_skill"] is not None]
    assert [r["model_skill"] for r in rows] == sorted(r["model_skill"] for r in rows)  # least reliable first
    skill = {r["panel_id"]: r["model_skill"] for r in rows}
    good = [skill[p] for p in skill if profile[p] == "good"]
    spam = [skill[p] for p in skill if profile[p] == "spammer"]
    assert np.median(good) > np.median(spam) + 0.3
    assert all(r["model_skill_lo"] <= r["model_skill"] <= r["model_skill_hi"] for r in rows)
    left = [r["model_bias"] for r in rows if profile[r["panel_id"]] == "left_biased"]
    assert left and min(left) > 0.7
    weighted = report.tables()["agreement_weighted_by_skill"]
    assert weighted and all({"agreement", "agreement_weighted_by_skill"} <= set(row) for row in weighted)
