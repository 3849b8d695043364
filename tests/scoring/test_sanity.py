"""The sanity report's maths on arrays: Wilson intervals, Spearman(q, severity), the pass rule."""

import numpy as np
import pytest

from scoring import sanity
from sketches.degradations import FAMILIES, MODERATE, SEVERITIES


def _sketch(rng, n_strokes=4, points=8):
    return [np.cumsum(rng.normal(size=(points, 2)), axis=0) for _ in range(n_strokes)]


def _sketches(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return [_sketch(rng) for _ in range(n)]


def test_wilson_interval_contains_its_estimate_and_covers_the_truth_in_simulation():
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(2000):
        n, p = 40, 0.8
        k = int(rng.binomial(n, p))
        low, high = sanity.wilson(k, n)
        assert low <= k / n <= high
        covered += low <= p <= high
    assert 0.93 <= covered / 2000 <= 0.975


def test_wilson_interval_of_nothing_is_undefined_and_of_all_is_below_one():
    assert all(np.isnan(sanity.wilson(0, 0)))
    low, high = sanity.wilson(10, 10)
    assert 0.6 < low < 1.0 and high == pytest.approx(1.0)


def test_spearman_severity_is_minus_one_when_q_falls_with_every_step_and_ignores_sketch_spread():
    base = np.array([[5.0], [50.0], [500.0]])
    falling = base - np.arange(4)[None, :] * np.array([[1.0], [2.0], [3.0]])
    assert sanity.spearman_severity(falling) == pytest.approx(-0.9, abs=0.11)
    assert sanity.spearman_severity(base + np.arange(4)[None, :]) > 0.8
    assert np.isnan(sanity.spearman_severity(np.ones((5, 4))))


def _point_count_q(strokes_list):
    """A stand-in scorer that likes ink: q = number of points (truncation lowers it, scribbles raise it)."""
    return np.array([sum(len(s) for s in strokes) for strokes in strokes_list], dtype=float)


def test_report_has_every_family_severity_and_category_and_judges_a_scorer_by_its_behaviour():
    sketches = _sketches(30)
    labels = ["pig"] * 15 + ["face"] * 15
    report = sanity.sanity_report(sketches, labels, _point_count_q, seed=3, min_share=0.7)
    cells = {(r["category"], r["family"], r["severity"]) for r in report["rows"]}
    assert cells == {(c, f, s) for c in ("face", "pig", sanity.ALL) for f in FAMILIES for s in SEVERITIES}
    summary = report["summary"]
    assert summary["truncate"]["share"] == 1.0  # fewer points every time
    assert summary["truncate"]["spearman"] < -0.8
    assert summary["scribble"]["share"] == 0.0  # more points every time
    assert summary["scribble"]["spearman"] > 0.8
    assert report["passed"] is False and "scribble" in report["failing_families"]
    for row in report["rows"]:
        assert row["low"] <= row["share"] <= row["high"]
        assert row["n"] == (30 if row["category"] == sanity.ALL else 15)
    assert "scribble" in sanity.verdict(report)


def test_report_is_seeded_and_a_scorer_that_always_falls_passes():
    sketches = _sketches(12)
    labels = ["pig"] * 12
    calls = []

    def shrinking(strokes_list):
        calls.append(len(strokes_list))
        q = _point_count_q(strokes_list)
        return q if len(calls) == 1 else q * 0 - 1.0  # originals first, every degraded copy scores lower

    report = sanity.sanity_report(sketches, labels, shrinking, seed=0, min_share=0.7)
    assert report["passed"] and sanity.verdict(report) is None
    assert report["summary"]["jitter"]["severity"] == MODERATE
    a = sanity.sanity_report(sketches, labels, _point_count_q, seed=5)
    b = sanity.sanity_report(sketches, labels, _point_count_q, seed=5)
    assert a == b


def test_degraded_copies_are_renormalised_to_the_unit_box_and_leave_originals_alone():
    sketches = _sketches(5)
    before = [[s.copy() for s in sk] for sk in sketches]
    for family in FAMILIES:
        copies = sanity.degraded_copies(sketches, sanity.Degradation(family, 3), seed=0)
        for strokes in copies:
            points = np.concatenate(strokes)
            assert points.min() >= -1e-9 and points.max() <= 1 + 1e-9
            assert np.isclose(np.ptp(points, axis=0).max(), 1.0)
    for sk, orig in zip(sketches, before, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(sk, orig, strict=True))


def test_missing_report_and_bad_input_are_explained():
    assert "no sanity report" in sanity.verdict(None)
    with pytest.raises(ValueError, match="at least one"):
        sanity.sanity_report([], [], _point_count_q)
    with pytest.raises(ValueError, match="one label per sketch"):
        sanity.sanity_report(_sketches(2), ["pig"], _point_count_q)
