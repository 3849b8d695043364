"""The worker reliability model on arrays: it finds planted workers, its intervals mean something,
and it agrees with crowd-kit's NoisyBradleyTerry on who is reliable."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from analysis.worker_model import fit_worker_model, weighted_agreement


def simulate(rng, skills, biases, n_items=40, n_answers=300):
    truth = rng.normal(0, 1.5, n_items)
    rows = []
    for worker, (skill, bias) in enumerate(zip(skills, biases)):
        i = rng.integers(0, n_items, n_answers)
        j = (i + rng.integers(1, n_items, n_answers)) % n_items
        judging = rng.random(n_answers) < skill
        p_left = np.where(judging, 1 / (1 + np.exp(-(truth[i] - truth[j]))), bias)
        rows.append((np.full(n_answers, worker), i, j, rng.random(n_answers) < p_left))
    return truth, *(np.concatenate(c) for c in zip(*rows))


def test_it_tells_good_workers_from_spammers_and_always_left_and_measures_the_side_bias():
    rng = np.random.default_rng(0)
    skills = [0.95] * 8 + [0.0] * 3 + [0.0] * 2
    biases = [0.5] * 8 + [0.5] * 3 + [1.0] * 2
    truth, worker, left, right, chose_left = simulate(rng, skills, biases)
    model = fit_worker_model(worker, left, right, chose_left)
    assert model.converged
    assert model.skill[:8].min() > model.skill[8:].max() + 0.3
    assert model.bias[11:].min() > 0.9  # the always-left workers
    assert scipy.stats.spearmanr(model.scores, truth - truth.mean()).statistic > 0.85
    for name in ("skill", "bias"):
        estimate, lo, hi = (getattr(model, f"{name}{suffix}") for suffix in ("", "_lo", "_hi"))
        assert np.all((lo <= estimate) & (estimate <= hi))


def test_the_skill_intervals_cover_the_truth_about_as_often_as_they_claim():
    covered = total = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        skills = rng.uniform(0.3, 0.9, 6)
        _, worker, left, right, chose_left = simulate(rng, skills, [0.5] * 6, n_answers=400)
        model = fit_worker_model(worker, left, right, chose_left, prior=0.01)
        covered += int(np.sum((model.skill_lo <= skills) & (skills <= model.skill_hi)))
        total += skills.size
    assert covered / total >= 0.8  # nominal 95%, conditional on the items: a little optimistic


def test_weighting_by_skill_moves_agreement_towards_the_reliable_workers():
    rng = np.random.default_rng(3)
    _, worker, left, right, chose_left = simulate(rng, [0.95] * 4 + [0.0] * 4, [0.5] * 8)
    model = fit_worker_model(worker, left, right, chose_left)
    agree = np.where(worker < 4, rng.random(worker.size) < 0.9, rng.random(worker.size) < 0.5)
    assert weighted_agreement(agree, worker, model) > agree.mean()
    assert weighted_agreement([], [], model) is None


def test_its_item_scores_agree_with_crowd_kits_noisy_bradley_terry_and_its_skills_find_the_spammers():
    """Same model family, same data: the item scores agree closely. crowd-kit 1.4.2's skills stay
    near their random start on this data (0.5-0.7 for good workers and coins alike), so the
    skills are checked against the planted truth instead."""
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    skills = np.array([0.95] * 8 + [0.0] * 4)
    truth, worker, left, right, chose_left = simulate(rng, skills, [0.5] * 12)
    ours = fit_worker_model(worker, left, right, chose_left)
    data = pd.DataFrame(
        {"worker": worker, "left": left, "right": right, "label": np.where(chose_left, left, right)}
    )
    theirs = crowdkit.NoisyBradleyTerry(n_iter=300).fit(data)
    their_scores = theirs.scores_.reindex(ours.items).to_numpy()
    assert scipy.stats.spearmanr(ours.scores, their_scores).statistic > 0.95
    assert ours.skill[:8].min() > 0.7 and ours.skill[8:].max() < 0.2
