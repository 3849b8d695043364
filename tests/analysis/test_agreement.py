from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.agreement import (
    across_methods,
    agreement_table,
    agrees_from_q,
    bootstrap_by_worker,
    curve,
    level_labels,
    method_summary,
    wilson_interval,
)


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
    # Stat. Med. 17:857–872, Table I, method 3 (Wilson score, no continuity correction).
    cases = [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ]
    for k, n, lo_ref, hi_ref in cases:
        lo, hi = wilson_interval(k, n)
        assert lo == pytest.approx(lo_ref, abs=5e-5)
        assert hi == pytest.approx(hi_ref, abs=5e-5)


def test_wilson_interval_is_vectorised_and_nan_for_empty_cells():
    lo, hi = wilson_interval(np.array([0, 5, 10]), np.array([0, 10, 10]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert lo[1] < 0.5 < hi[1]
    assert hi[2] == 1.0


def test_level_labels_follow_the_paper_bins():
    assert level_labels(10)[:2] == ["[0,.1]", "(.1,.2]"]
    assert level_labels(10)[-1] == "(.9,1]"


def _tiny():
    # method, category, level, q_left, q_right, chose_left
    rows = [
        (0, 0, 0, 0.9, 0.1, True),  # agrees
        (0, 0, 0, 0.9, 0.1, False),  # disagrees
        (0, 0, 1, 0.2, 0.8, False),  # agrees (right is higher)
        (0, 0, 1, 0.5, 0.5, True),  # equal q: excluded, counted
        (0, 1, 0, 0.3, 0.4, True),  # disagrees
        (1, 0, 1, 0.7, 0.6, True),  # agrees
        (1, 0, 1, 0.6, 0.7, True),  # disagrees
        (1, 0, 1, 0.1, 0.2, False),  # agrees
    ]
    cols = list(zip(*rows))
    return {
        "method": np.array(cols[0]),
        "category": np.array(cols[1]),
        "level": np.array(cols[2]),
        "q_left": np.array(cols[3]),
        "q_right": np.array(cols[4]),
        "chose_left": np.array(cols[5]),
    }


def test_agreement_table_counts_a_tiny_hand_made_example():
    t = agreement_table(**_tiny(), n_levels=2)
    assert t.shape == (2, 2, 2)
    assert t.n[0, 0].tolist() == [2, 1]
    assert t.agree[0, 0].tolist() == [1, 1]
    assert t.n[0, 1].tolist() == [1, 0]
    assert t.agree[0, 1].tolist() == [0, 0]
    assert t.n[1, 0].tolist() == [0, 3]
    assert t.agree[1, 0].tolist() == [0, 2]
    assert t.rate[1, 0, 1] == pytest.approx(2 / 3)
    assert np.isnan(t.rate[1, 1, 0])
    assert t.n_q_ties.sum() == 1 and t.n_q_ties[0, 0, 1] == 1
    assert t.lo[0, 0, 0] < 0.5 < t.hi[0, 0, 0]


def test_equal_q_are_excluded_from_n_but_reported():
    agrees, valid = agrees_from_q([0.5, 0.2], [0.5, 0.1], [True, True])
    assert valid.tolist() == [False, True]
    assert agrees[1]
    recs = agreement_table(**_tiny(), n_levels=2).to_records()
    tie_cell = [r for r in recs if r["n_q_ties"]]
    assert tie_cell == [dict(tie_cell[0], method=0, category=0, level="(.5,1]", n=1, agree=1, n_q_ties=1)]


def test_method_summary_reports_pooled_rate_and_spread_across_categories():
    t = agreement_table(**_tiny(), n_levels=2)
    s = method_summary(t)
    assert set(s) == {0, 1}
    assert (s[0].n, s[0].agree) == (4, 2)
    assert s[0].rate == pytest.approx(0.5)
    # per-category rates of method 0: cat0 2/3, cat1 0/1
    assert s[0].category_mean == pytest.approx((2 / 3 + 0) / 2)
    assert s[0].category_std == pytest.approx(np.std([2 / 3, 0.0]))
    assert s[0].n_categories == 2
    mean, std = across_methods(t)
    assert mean == pytest.approx((0.5 + 2 / 3) / 2)
    assert std == pytest.approx(np.std([0.5, 2 / 3]))


def _simulate(n=40_000, n_workers=20, seed=0):
    rng = np.random.default_rng(seed)
    q_left = rng.random(n)
    q_right = rng.random(n)
    level = np.minimum((np.abs(q_left - q_right) * 10).astype(int), 9)
    p_agree = 0.5 + 0.5 * np.tanh(4 * np.abs(q_left - q_right))
    agree = rng.random(n) < p_agree
    return {
        "chosen_is_higher": agree,
        "level": level,
        "category": rng.integers(0, 3, n),
        "method": rng.integers(0, 2, n),
        "worker": rng.integers(0, n_workers, n),
    }


def test_the_agreement_curve_rises_with_level_on_simulated_data():
    t = agreement_table(**_simulate(), n_levels=10)
    levels, rates, lo, hi = curve(t, method=1, category=2)
    assert levels.tolist() == list(range(10))
    assert rates[0] < 0.65 and rates[-1] > 0.9
    assert np.all(np.diff(rates[:8]) > 0)  # top bins are small (few pairs have |Δq| > .8)
    assert np.all((lo <= rates) & (rates <= hi))


def test_bootstrap_over_workers_brackets_the_rate_and_is_reproducible():
    data = _simulate(n=8_000)
    t = agreement_table(**data, n_levels=10, n_boot=200, rng=np.random.default_rng(1))
    again = bootstrap_by_worker(
        data["chosen_is_higher"],
        level=data["level"],
        category=data["category"],
        method=data["method"],
        worker=data["worker"],
        n_boot=200,
        rng=np.random.default_rng(1),
        n_levels=10,
    )
    np.testing.assert_array_equal(t.boot_lo, again[0])
    has = t.n >= 50
    assert np.all(t.boot_lo[has] <= t.rate[has]) and np.all(t.rate[has] <= t.boot_hi[has])
    _, _, blo, bhi = curve(t, 0, 0, ci="bootstrap")
    assert np.all(blo <= bhi)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(0, 2), st.integers(0, 1)), max_size=60)
)
def test_vectorised_counts_equal_a_naive_loop(rows):
    n_cnt, a_cnt = defaultdict(int), defaultdict(int)
    for agree, lv, cat, met in rows:
        n_cnt[met, cat, lv] += 1
        a_cnt[met, cat, lv] += agree
    cols = list(zip(*rows)) if rows else [(), (), (), ()]
    t = agreement_table(
        np.array(cols[0], dtype=bool),
        level=np.array(cols[1], dtype=int),
        category=np.array(cols[2], dtype=int),
        method=np.array(cols[3], dtype=int),
        n_levels=4,
        n_categories=3,
        n_methods=2,
    )
    for idx in np.ndindex(t.shape):
        assert t.n[idx] == n_cnt.get(idx, 0)
        assert t.agree[idx] == a_cnt.get(idx, 0)


def test_bad_input_gets_a_clear_message():
    with pytest.raises(ValueError, match="one entry per answer"):
        agreement_table(np.array([True, False]), level=[0], category=[0, 0], method=[0, 0])
    with pytest.raises(ValueError, match="out of range"):
        agreement_table(np.array([True]), level=[12], category=[0], method=[0], n_levels=10)
    with pytest.raises(ValueError, match="either"):
        agreement_table(
            np.array([True]), level=[0], category=[0], method=[0], q_left=[1], q_right=[0], chose_left=[True]
        )
    with pytest.raises(ValueError, match="worker"):
        agreement_table(np.array([True]), level=[0], category=[0], method=[0], n_boot=10)
