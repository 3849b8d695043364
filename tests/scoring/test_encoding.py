"""The fast batched encoder gives exactly the arrays of the reference per-sketch path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.dataset import drawing_to_strokes, encode_strokes
from scoring.encoding import EPSILONS, encode_stored
from sketches import geometry
from tests.factories import SAMPLE_DIR


@pytest.fixture(scope="module")
def stored_sample() -> list:
    """All 300 in-repo sample sketches, normalised and rounded exactly as the importer stores them."""
    sketches = []
    for path in sorted(SAMPLE_DIR.glob("*.ndjson")):
        for line in path.open():
            strokes = drawing_to_strokes(json.loads(line)["drawing"])
            sketches.append(geometry.strokes_to_json(geometry.normalise(strokes)))
    return sketches


@pytest.mark.parametrize("max_len", [100, 12])
def test_it_matches_encode_strokes_bit_for_bit_on_every_sample_sketch(stored_sample, max_len):
    reference = encode_strokes([geometry.strokes_from_json(s) for s in stored_sample], max_len=max_len)
    fast = encode_stored(stored_sample, max_len=max_len)
    assert np.array_equal(reference[1], fast[1])
    assert np.array_equal(reference[0], fast[0])


def test_the_short_limits_exercise_both_the_rdp_fit_and_the_truncation(stored_sample):
    points = np.array([sum(len(s[0]) for s in sketch) for sketch in stored_sample])
    assert (points > 100).mean() > 0.3  # many sketches need fitting at the default length
    _, lengths = encode_stored(stored_sample, max_len=12)
    assert lengths.max() == 12 and (lengths == 12).mean() > 0.5  # most are cut after the coarsest RDP


def test_the_epsilon_schedule_is_the_one_fit_to_length_uses():
    assert EPSILONS[0] == 0.002 and len(EPSILONS) == 10 and EPSILONS[-1] < 0.1 <= EPSILONS[-1] * 1.5


def test_a_sketch_without_points_is_refused_by_index():
    with pytest.raises(ValueError, match="sketch 1 has no points"):
        encode_stored([[[[0.1, 0.2], [0.3, 0.4]]], [[[], []]]])


def test_an_empty_batch_gives_empty_arrays():
    X, lengths = encode_stored([], max_len=100)
    assert X.shape == (0, 100, 7) and lengths.shape == (0,)
