"""The simulated crowd answers best-of-K and single studies through their real pages.

Each test launches a small study over real sample sketches, runs a mixed crowd (careful
workers and spammers) through the participant pages, and checks what the stored answers
mean against the crowd's latent truth: good workers pick the latent-best of K far above
chance and say "yes" more often the better the drawing; spammers do neither.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from analysis import live, plackett_luce, reliability, selectors, yes_rate
from analysis.actions import do_refresh_worker_quality
from analysis.choice_quality import answer_values
from analysis.crowd import latent_table, simulate_crowd
from analysis.models import WorkerQuality
from analysis.reports import build_report
from annotation.models import Answer
from annotation.trial_types import option_sketch_ids
from studies import seeds
from studies.actions import do_launch_study
from tests.annotation.factories import SMALL
from tests.factories import make_scored_study

pytestmark = pytest.mark.django_db

SEED = 5
CROWD = {"good": 5, "spammer": 3}


def _regular_answers(study):
    return (
        Answer.objects.filter(
            trial__participant__study=study, trial__kind="regular", trial__is_practice=False
        )
        .select_related("trial", "trial__participant")
        .order_by("pk")
    )


def _run(trial_type: str, **extra):
    study = make_scored_study(
        f"crowd-{trial_type}", n=24, trial_type=trial_type, target_participants=20, **{**SMALL, **extra}
    )
    study = do_launch_study(study)
    result = simulate_crowd(study, CROWD, seed=SEED)
    latent = latent_table(study, seeds.rng(study.seed_scheme, "crowd_latent", SEED))
    assert result.unrecognised_stimuli == 0
    return study, result, latent


def test_best_of_k_answers_follow_the_latent_quality_for_good_workers_only():
    study, result, latent = _run("best_of_k", options_per_trial=3, pairs_per_cell=12)
    assert {o.final_step for o in result.outcomes if o.profile == "good"} == {"complete"}
    best_share: dict[str, list[bool]] = {"good": [], "spammer": []}
    sets, winners = [], []
    for answer in _regular_answers(study):
        options = option_sketch_ids(answer.trial)
        assert len(options) == 3
        best = max(options, key=lambda pk: latent[pk])
        kind = "good" if answer.trial.participant.panel_id in _panels(result, "good") else "spammer"
        best_share[kind].append(answer.chosen_sketch_id == best)
        if kind == "good":
            sets.append(options)
            winners.append(answer.chosen_sketch_id)
    assert np.mean(best_share["good"]) > 0.6  # chance is 1/3
    assert np.mean(best_share["spammer"]) < 0.5
    # a Plackett–Luce fit of the good workers' choices recovers the latent order
    items = sorted({pk for s in sets for pk in s})
    index = {pk: n for n, pk in enumerate(items)}
    choices = plackett_luce.as_choices([[index[pk] for pk in s] for s in sets], [index[w] for w in winners])
    theta = plackett_luce.fit(len(items), choices)
    tau = scipy.stats.kendalltau(theta, [latent[pk] for pk in items]).statistic
    assert tau > 0.5
    _check_quality_tables(study, result, chance=1 / 3, figure_title="best of 3, choices of the highest-q")


def test_single_answers_say_yes_more_for_better_drawings_for_good_workers_only():
    study, result, latent = _run("single", pairs_per_cell=12)
    # careful workers pass the sentinels: degradation gold shows only its ruined copy (a sure "no")
    assert {o.final_step for o in result.outcomes if o.profile == "good"} == {"complete"}
    by_kind: dict[str, tuple[list, list]] = {"good": ([], []), "spammer": ([], [])}
    for answer in _regular_answers(study):
        assert answer.choice in ("yes", "no")
        kind = "good" if answer.trial.participant.panel_id in _panels(result, "good") else "spammer"
        by_kind[kind][0].append(latent[answer.trial.left_sketch_id])
        by_kind[kind][1].append(float(answer.choice == "yes"))
    u, yes = (np.array(x) for x in by_kind["good"])
    good = yes_rate.fit_logistic(u, yes)
    assert good.slope_interval()[0] > 3  # the responders' slope is 12 on the latent scale
    assert np.mean(yes[u > 0.75]) > 0.85 and np.mean(yes[u < 0.25]) < 0.15
    u, yes = (np.array(x) for x in by_kind["spammer"])
    lo, hi = yes_rate.fit_logistic(u, yes).slope_interval()
    assert lo < 0 < hi and 0.3 < yes.mean() < 0.7
    _check_quality_tables(study, result, chance=0.5, figure_title="yes rate against q")


def _check_quality_tables(study, result, chance: float, figure_title: str) -> None:
    """The report's worker QA and reliability read these answers: good workers side with the
    majority far more often than spammers, who agree about as often as chance (means over workers:
    ~20 compared answers each, so single workers overlap); α on the good workers' answers is clearly
    positive and ≈ 0 on the spammers'; spammers pick option 1 / "yes" about at chance."""
    report = build_report(study, True, agreement_boot=10, bt_boot=10, correlation_boot=10, curve_boot=10)
    rows = {r["panel_id"]: r for r in report.worker_qa}
    assert set(rows) == {o.panel_id for o in result.outcomes}
    good = [rows[p]["majority_agreement"] for p in _panels(result, "good")]
    spam = [rows[p]["majority_agreement"] for p in _panels(result, "spammer")]
    assert np.mean(good) > np.mean(spam) + 0.15 and np.mean(spam) < chance + 0.2
    assert all(abs(rows[p]["left_rate"] - chance) < 0.25 for p in _panels(result, "spammer"))
    # the live snapshot (dashboard, admin) stores the same rows, not the pair model's
    assert do_refresh_worker_quality(study) == len(result.outcomes)
    stored = dict(WorkerQuality.objects.filter(study=study).values_list("panel_id", "majority_agreement"))
    assert stored == pytest.approx({p: rows[p]["majority_agreement"] for p in stored})
    # the live dashboard shows the trial type's own figure and the same QA rows
    board = live.dashboard(study, selectors.EVERYONE)
    assert figure_title in board["curve_svg"] and "sim-5-0" in str(board["qa"])
    overall = report.reliability[0]
    assert overall["category"] == "all categories" and overall["units"] > 0
    assert overall["krippendorff_alpha"] is not None
    # the same α on the good workers' answers alone is clearly positive; on the spammers' it is
    # noise around 0 (a few spammers share few units, so only its distance from the good is tested)
    answers = list(_regular_answers(study))
    alpha = {}
    for profile in ("good", "spammer"):
        mine = [a for a in answers if a.trial.participant.panel_id in _panels(result, profile)]
        values = answer_values(
            study.trial_type, [a.choice for a in mine], [a.chosen_sketch_id or -1 for a in mine]
        )
        matrix, _, _ = reliability.units_by_coders(
            [a.trial.planned_pair_id for a in mine], [a.trial.participant_id for a in mine], values
        )
        several = (~np.isnan(matrix)).sum(axis=1) >= 2
        alpha[profile] = reliability.krippendorff_alpha_nominal(matrix[several])
    assert alpha["good"] > 0.2 and alpha["spammer"] < min(0.35, alpha["good"] - 0.2), alpha


def _panels(result, profile: str) -> set[str]:
    return {o.panel_id for o in result.outcomes if o.profile == profile}
