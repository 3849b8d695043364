"""The adaptive allocation maths on arrays (studies.adaptive)."""

from __future__ import annotations

import numpy as np
import pytest

from studies import adaptive


def test_random_start_then_control_share_of_slots():
    rng = np.random.default_rng(0)
    assert adaptive.slot_allocations(10, 100, 0.2, 0.2, 5, rng) == ["random_start"] * 5
    kinds = adaptive.slot_allocations(20, 100, 0.2, 0.25, 4000, np.random.default_rng(1))
    assert set(kinds) == {"control", "adaptive"}
    assert kinds.count("control") / 4000 == pytest.approx(0.25, abs=0.03)
    again = adaptive.slot_allocations(20, 100, 0.2, 0.25, 4000, np.random.default_rng(1))
    assert kinds == again
    with pytest.raises(ValueError):
        adaptive.slot_allocations(0, 10, 1.5, 0.2, 3, rng)


def test_fit_recovers_order_and_variance_shrinks_with_answers():
    rng = np.random.default_rng(2)
    truth = np.linspace(-2, 2, 8)
    a = rng.integers(0, 8, 3000)
    b = (a + rng.integers(1, 8, 3000)) % 8
    wins = rng.random(3000) < 1 / (1 + np.exp(-(truth[a] - truth[b])))
    theta, var = adaptive.fit_strengths(8, np.where(wins, a, b), np.where(wins, b, a))
    assert list(np.argsort(theta)) == list(range(8))
    _, var_few = adaptive.fit_strengths(8, np.where(wins, a, b)[:100], np.where(wins, b, a)[:100])
    assert np.all(var < var_few)


def test_ranking_picks_prefer_close_uncertain_pairs_and_spread_over_sketches():
    theta = np.array([0.0, 0.1, 3.0, 0.0, 0.0])
    var = np.array([1.0, 1.0, 1.0, 0.01, 0.01])
    # candidates: close+uncertain (0,1), far (0,2), close but certain (3,4), close+uncertain (1,0 again)
    a, b = np.array([0, 0, 3, 1]), np.array([1, 2, 4, 2])
    group = np.zeros(4, dtype=int)
    picks = adaptive.greedy_ranking_picks(theta, var, a, b, group, 1)
    assert picks == [0]
    assert adaptive.greedy_ranking_picks(theta, var, a, b, group, 4)[-1] == 2  # certain pair last
    gains = adaptive.pair_gain(theta, var, a, b)
    assert gains[0] > gains[3] > gains[2]


def test_ranking_stops_a_category_at_its_target_width():
    theta = np.zeros(4)
    var = np.array([1.0, 1.0, 1e-4, 1e-4])  # category 1's sketches are pinned down
    a, b, group = np.array([0, 2]), np.array([1, 3]), np.array([0, 1])
    width_done = adaptive.ranking_width(var[2:])
    picks = adaptive.greedy_ranking_picks(theta, var, a, b, group, 2, target_width=width_done * 1.01)
    assert picks == [0]


def test_ties_go_to_plan_order():
    theta, var = np.zeros(6), np.ones(6)
    a, b = np.array([0, 2, 4]), np.array([1, 3, 5])
    assert adaptive.greedy_ranking_picks(theta, var, a, b, np.zeros(3, dtype=int), 3) == [0, 1, 2]


def test_cell_counts_go_where_width_shrinks_most_and_stop_at_target():
    n, k = np.array([100, 4, 0]), np.array([90, 2, 0])
    counts = adaptive.greedy_cell_counts(n, k, [1000, 1000, 1000], 10)
    assert counts[2] > 0 and counts[1] > 0 and counts[0] == 0 and counts.sum() == 10
    assert list(adaptive.greedy_cell_counts(n, k, [1000, 0, 2], 10))[1:] == [0, 2]  # capacity
    target = float(adaptive.agreement_width([100], [90])[0]) + 1e-9
    stopped = adaptive.greedy_cell_counts([100, 100], [90, 50], [50, 50], 20, target_width=target)
    assert stopped[0] == 0 and stopped[1] == 20
    widths = adaptive.agreement_width([0, 10, 1000], [0, 5, 500])
    assert widths[0] > widths[1] > widths[2]
