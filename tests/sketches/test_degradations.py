"""The degradation families on arrays: seeded, same format, inside the frame, and they do what they say."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sketches import degradations as deg
from sketches.geometry import normalise

SAMPLE = Path(__file__).resolve().parents[2] / "sketches" / "fixtures" / "quickdraw_sample"


def _real_sketches(limit: int = 30) -> list[list[np.ndarray]]:
    sketches = []
    for path in sorted(SAMPLE.glob("*.ndjson")):
        for line in path.read_text().splitlines()[: limit // 5]:
            drawing = json.loads(line)["drawing"]
            sketches.append(normalise([np.array(stroke, dtype=np.float64).T for stroke in drawing]))
    return sketches


SKETCHES = _real_sketches()


def _box(strokes):
    points = np.concatenate(strokes)
    return points.min(axis=0), points.max(axis=0)


@pytest.mark.parametrize("degradation", deg.all_degradations(), ids=lambda d: d.label)
def test_every_degradation_is_seeded_and_keeps_the_stroke_format(degradation):
    for strokes in SKETCHES:
        first = deg.degrade(strokes, degradation, np.random.default_rng(5))
        again = deg.degrade(strokes, degradation, np.random.default_rng(5))
        assert len(first) == len(again)
        assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
        assert all(s.ndim == 2 and s.shape[1] == 2 and s.dtype == np.float64 and len(s) >= 1 for s in first)


@pytest.mark.parametrize("degradation", deg.all_degradations(), ids=lambda d: d.label)
def test_no_degradation_modifies_its_input(degradation):
    strokes = SKETCHES[0]
    before = [s.copy() for s in strokes]
    deg.degrade(strokes, degradation, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(strokes, before, strict=True))


@pytest.mark.parametrize("family", ["scribble", "jitter", "displace"])
def test_points_stay_inside_the_original_bounding_box(family):
    for strokes in SKETCHES:
        low, high = _box(strokes)
        for severity in deg.SEVERITIES:
            out = deg.degrade(strokes, deg.Degradation(family, severity), np.random.default_rng(severity))
            new_low, new_high = _box(out)
            assert np.all(new_low >= low - 1e-12) and np.all(new_high <= high + 1e-12)


def test_truncate_keeps_a_prefix_of_the_strokes_and_fewer_at_higher_severity():
    multi = [s for s in SKETCHES if len(s) >= 4]
    assert multi
    for strokes in multi:
        kept = [
            len(deg.degrade(strokes, deg.Degradation("truncate", k), np.random.default_rng(0)))
            for k in deg.SEVERITIES
        ]
        assert kept == sorted(kept, reverse=True) and kept[0] < len(strokes) and kept[-1] >= 1
        out = deg.degrade(strokes, deg.Degradation("truncate", 2), np.random.default_rng(0))
        assert all(np.array_equal(a, b) for a, b in zip(out, strokes[: len(out)], strict=True))


def test_truncate_of_a_single_stroke_keeps_its_first_points():
    stroke = np.linspace([0.0, 0.0], [1.0, 1.0], 20)
    out = deg.degrade([stroke], deg.Degradation("truncate", 3), np.random.default_rng(0))
    assert len(out) == 1 and 2 <= len(out[0]) < 20 and np.array_equal(out[0], stroke[: len(out[0])])


def test_scribble_adds_exactly_the_stated_number_of_strokes_and_keeps_the_original():
    strokes = SKETCHES[3]
    for severity, count in zip(deg.SEVERITIES, deg.PARAMETERS["scribble"], strict=True):
        out = deg.degrade(strokes, deg.Degradation("scribble", severity), np.random.default_rng(0))
        assert len(out) == len(strokes) + count
        assert all(np.array_equal(a, b) for a, b in zip(out, strokes, strict=False))
        assert all(len(s) == deg.SCRIBBLE_POINTS for s in out[len(strokes) :])


def test_jitter_moves_points_more_at_higher_severity_and_keeps_point_counts():
    strokes = SKETCHES[7]
    moved = []
    for severity in deg.SEVERITIES:
        out = deg.degrade(strokes, deg.Degradation("jitter", severity), np.random.default_rng(3))
        assert [len(s) for s in out] == [len(s) for s in strokes]
        moved.append(np.mean(np.abs(np.concatenate(out) - np.concatenate(strokes))))
    assert 0 < moved[0] < moved[1] < moved[2]


def test_displace_moves_whole_strokes_rigidly_when_nothing_is_clipped():
    square = [np.array([[0.4, 0.4], [0.45, 0.42], [0.5, 0.45]]), np.array([[0.0, 0.0], [1.0, 1.0]])]
    out = deg.degrade(square, deg.Degradation("displace", 1), np.random.default_rng(2))
    shift = out[0] - square[0]
    assert np.allclose(shift, shift[0]) and np.linalg.norm(shift[0]) > 0


def test_bad_family_severity_or_empty_sketch_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown degradation family"):
        deg.degrade(SKETCHES[0], deg.Degradation("smudge", 1), np.random.default_rng(0))
    with pytest.raises(ValueError, match="severity must be one of"):
        deg.degrade(SKETCHES[0], deg.Degradation("jitter", 9), np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty sketch"):
        deg.degrade([], deg.Degradation("jitter", 1), np.random.default_rng(0))
