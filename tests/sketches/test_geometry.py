import numpy as np
import pytest

from sketches import geometry
from tests.factories import sample_records


def real_strokes(n=5):
    return [
        [np.column_stack(s[:2]).astype(float) for s in record["drawing"]]
        for record in sample_records("pig", n)
    ]


def test_normalise_puts_the_longer_side_on_the_unit_interval_and_keeps_the_aspect_ratio():
    for strokes in real_strokes():
        min_x, min_y, max_x, max_y = geometry.bounding_box(strokes)
        out = geometry.normalise(strokes)
        nx0, ny0, nx1, ny1 = geometry.bounding_box(out)
        assert max(nx1 - nx0, ny1 - ny0) == pytest.approx(1.0)
        assert (nx1 - nx0) / (ny1 - ny0) == pytest.approx((max_x - min_x) / (max_y - min_y))
        assert 0 <= nx0 and nx1 <= 1 and 0 <= ny0 and ny1 <= 1


def test_normalise_centres_the_shorter_side():
    out = geometry.normalise([np.array([[0.0, 0.0], [10.0, 2.0]])])
    assert out[0][:, 1].min() == pytest.approx(0.4)
    assert out[0][:, 1].max() == pytest.approx(0.6)


def test_a_single_point_sketch_lands_in_the_centre():
    out = geometry.normalise([np.array([[7.0, 7.0]])])
    assert out[0].tolist() == [[0.5, 0.5]]


def test_rdp_keeps_endpoints_and_drops_collinear_points():
    line = np.column_stack([np.linspace(0, 1, 50), np.linspace(0, 1, 50)])
    assert geometry.rdp(line, 0.01).tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_rdp_keeps_a_corner_farther_than_epsilon():
    corner = np.array([[0, 0], [0.5, 0.5], [1, 0]], dtype=float)
    assert len(geometry.rdp(corner, 0.1)) == 3
    assert len(geometry.rdp(corner, 0.9)) == 2


def test_rdp_never_keeps_a_point_that_a_brute_force_would_drop():
    for strokes in real_strokes(3):
        for stroke in geometry.normalise(strokes):
            simplified = geometry.rdp(stroke, 0.01)
            assert len(simplified) <= len(stroke)
            assert (simplified[0] == stroke[0]).all() and (simplified[-1] == stroke[-1]).all()


def test_stroke5_marks_pen_lifts_and_pads_with_end_of_sketch():
    strokes = [np.array([[0, 0], [1, 0]], float), np.array([[0, 1], [1, 1], [0.5, 0.5]], float)]
    array, length = geometry.to_stroke5(strokes, max_len=8)
    assert length == 5
    assert array.shape == (8, 7)
    assert array[:5, 3].tolist() == [0, 1, 0, 0, 1]  # p2: end of each stroke
    assert array[:5, 2].tolist() == [1, 0, 1, 1, 0]  # p1: pen stays down
    assert (array[5:, 4] == 1).all() and (array[:5, 4] == 0).all()
    # Δ rows sum back to absolute positions
    assert np.allclose(np.cumsum(array[:5, 0:2], axis=0), array[:5, 5:7])


def test_stroke5_caps_the_length_of_long_real_sketches():
    for strokes in real_strokes():
        normalised = geometry.normalise(strokes)
        assert geometry.point_count(normalised) > 100  # SPG sketches are densely sampled
        array, length = geometry.to_stroke5(normalised, max_len=100)
        assert length <= 100
        assert array[length - 1, 3] == 1  # the last real point lifts the pen


def test_stroke3_becomes_absolute_strokes():
    stroke3 = np.array([[5, 5, 0], [1, 0, 1], [0, 2, 0], [1, 1, 1]])
    strokes = geometry.stroke3_to_strokes(stroke3)
    assert [s.tolist() for s in strokes] == [[[5, 5], [6, 5]], [[6, 7], [7, 8]]]


def test_json_round_trip_keeps_four_decimals():
    strokes = geometry.normalise(real_strokes(1)[0])
    back = geometry.strokes_from_json(geometry.strokes_to_json(strokes))
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(strokes, back))
