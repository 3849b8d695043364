"""The planner's predicted interval widths against the widths of simulated studies."""

import numpy as np
import pytest

from analysis import agreement as agr
from analysis import psychometric as ps
from studies.power import expected_agreement, plan_power

EDGES = np.linspace(0, 1, 11)
PAIRS = [40, 40, 40, 40, 40, 30, 20, 20, 10, 10]  # planned pairs per level, in each cell
METHODS, CATEGORIES = ["gacl", "softmax"], ["cat", "pig"]


def _simulate(rng, participants, trials, curves):
    """Every participant answers ``trials`` pairs drawn uniformly from the whole plan."""
    pair_method, pair_cat, pair_level, pair_gap = [], [], [], []
    for m in range(len(METHODS)):
        for c in range(len(CATEGORIES)):
            for lv, k in enumerate(PAIRS):
                pair_method += [m] * k
                pair_cat += [c] * k
                pair_level += [lv] * k
                pair_gap += list(rng.uniform(EDGES[lv], EDGES[lv + 1], k))
    pm, pc, pl, pg = map(np.asarray, (pair_method, pair_cat, pair_level, pair_gap))
    pair = rng.integers(0, pm.size, participants * trials)
    worker = np.repeat(np.arange(participants), trials)
    scale = np.array([curves[m][0] for m in pm[pair]])
    shape = np.array([curves[m][1] for m in pm[pair]])
    agree = rng.random(pair.size) < 1 - 0.5 * np.exp(-((pg[pair] / scale) ** shape))
    return dict(gap=pg[pair], agree=agree, level=pl[pair], method=pm[pair], category=pc[pair], worker=worker,
                pair=pair)  # fmt: skip


def test_expected_agreement_is_the_curve_averaged_over_each_level():
    p = expected_agreement(EDGES, 0.3, 1.5)
    assert p.shape == (10,) and np.all(np.diff(p) > 0) and 0.5 < p[0] < 0.6 and p[-1] > 0.99


def test_predicted_widths_are_within_20_percent_of_simulated_studies():
    participants, trials = 20, 200
    curves = [(0.3, 1.5), (0.45, 1.5)]
    counts = {(m, c): PAIRS for m in METHODS for c in CATEGORIES}
    plan = plan_power(counts, EDGES, participants=participants, regular_trials=trials, scale=0.3, shape=1.5,
                      reference="gacl")  # fmt: skip
    rng = np.random.default_rng(5)
    cell_widths, diff_widths = [], []
    for _ in range(12):
        d = _simulate(rng, participants, trials, curves)
        table = agr.agreement_table(
            chosen_is_higher=d["agree"], level=d["level"], category=d["category"], method=d["method"],
            worker=d["worker"], n_levels=10, n_categories=2, n_methods=2, n_boot=300, rng=rng,
        )  # fmt: skip
        cell_widths.append((table.hi - table.lo)[0])  # the reference method's cells (Wilson, as reported)
        res = ps.analyse(gap=d["gap"], agree=d["agree"], level=d["level"], method=d["method"], worker=d["worker"],
                         pair=d["pair"], n_methods=2, n_levels=10, n_boot=300, rng=rng, reference=0)  # fmt: skip
        diff_widths.append(res.differences[0].hi - res.differences[0].lo)
    simulated = np.nanmean(np.stack(cell_widths), axis=0).mean(axis=0)  # per level, over categories
    predicted = np.array([lv["cell_width"] for lv in plan["levels"]])
    answers = np.array([lv["answers_per_cell"] for lv in plan["levels"]])
    assert answers.min() >= 30  # every level is analysable in this design
    assert np.all(np.abs(predicted / simulated - 1) <= 0.20), (predicted, simulated)
    predicted_diff = plan["differences"][0]["expected_width"]
    assert predicted_diff == pytest.approx(np.mean(diff_widths), rel=0.20)


def test_participants_for_a_target_width_reach_it_and_one_fewer_does_not():
    counts = {(m, c): PAIRS for m in METHODS for c in CATEGORIES}

    def plan(participants, target):
        return plan_power(counts, EDGES, participants=participants, regular_trials=200, target_width=target,
                          reference="gacl")  # fmt: skip

    first = plan(20, 0.05)["differences"][0]
    target = (first["expected_width"] + first["floor_from_pairs"]) / 2  # reachable with more people
    need = plan(20, target)["differences"][0]["participants_for_target"]
    assert need > 20
    assert plan(need, target)["differences"][0]["expected_width"] <= target
    assert plan(need - 1, target)["differences"][0]["expected_width"] > target
    assert plan(20, 0.05)["for_target"]["participants_every_cell"] >= 20
    hopeless = plan(20, first["floor_from_pairs"] / 2)["differences"][0]
    assert hopeless["participants_for_target"] is None  # the pairs' own spread alone is wider


def test_bad_assumptions_give_clear_problems_and_no_numbers():
    out = plan_power({}, EDGES, participants=0, regular_trials=10, icc=1.5)
    assert "levels" not in out and any("participant" in p for p in out["problems"])
    assert any("ICC" in p for p in out["problems"]) and any("no pairs" in p for p in out["problems"])
