"""Worker quality and reliability for best-of-K and single answers, on arrays."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.choice_quality import answer_values, majority_agreement


def test_answer_values_are_the_chosen_sketch_or_yes_no():
    assert answer_values("best_of_k", ["1", "none", "3"], [17, -1, 42]).tolist() == [17.0, -1.0, 42.0]
    assert answer_values("single", ["yes", "no", "yes"], [5, -1, 6]).tolist() == [1.0, 0.0, 1.0]


def test_majority_agreement_leaves_the_worker_out_and_skips_ties_and_lone_answers():
    # unit 1: workers 0, 1, 2 chose 7, 7, 9; unit 2: workers 0, 1 chose 3, 4; unit 3: worker 0 alone
    worker = [0, 1, 2, 0, 1, 0]
    unit = [1, 1, 1, 2, 2, 3]
    value = [7, 7, 9, 3, 4, 5]
    agree = majority_agreement(worker, unit, value)
    # worker 0 on unit 1: others 7, 9 tie → NaN; worker 1: others 7, 9 tie → NaN; worker 2: others 7, 7 → disagrees
    assert np.isnan(agree[0]) and np.isnan(agree[1]) and agree[2] == 0.0
    # unit 2: one other answer each, a majority of one that disagrees
    assert agree[3] == 0.0 and agree[4] == 0.0
    assert np.isnan(agree[5])  # no one else answered unit 3


def test_a_workers_repeated_answers_to_a_unit_are_all_left_out():
    worker = [0, 0, 1, 2]
    unit = [1, 1, 1, 1]
    value = [5, 5, 5, 6]  # worker 0 twice: must not vote for themself
    agree = majority_agreement(worker, unit, value)
    assert np.isnan(agree[0]) and np.isnan(agree[1])  # others: 5 (worker 1) vs 6 (worker 2): tie
    assert agree[2] == 1.0  # others: 5, 5, 6 → 5
    assert agree[3] == 0.0


@pytest.mark.parametrize("k", [2, 3, 4])
def test_random_answers_agree_with_the_majority_about_one_in_k(k):
    rng = np.random.default_rng(k)
    n_units, n_workers = 400, 5
    worker = np.tile(np.arange(n_workers), n_units)
    unit = np.repeat(np.arange(n_units), n_workers)
    value = rng.integers(0, k, worker.size)
    agree = majority_agreement(worker, unit, value)
    assert np.nanmean(agree) == pytest.approx(1 / k, abs=0.05)
    truth = np.zeros(worker.size)  # everyone gives the same answer: always with the majority
    assert np.all(majority_agreement(worker, unit, truth) == 1.0)
