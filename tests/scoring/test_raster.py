"""The rasteriser draws stroke-5 rows where the strokes are, inside the frame; the raster encoder
depends on real points only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scoring.encoders import RasterEncoder, build_encoder
from scoring.encoding import encode_stored
from scoring.raster import rasterise
from sketches.degradations import Degradation, degrade
from sketches.geometry import normalise

SIZE, MARGIN = 48, 2
SPAN = SIZE - 1 - 2 * MARGIN  # the unit box maps onto pixels [MARGIN, SIZE - 1 - MARGIN]


def _encode(sketches, max_len=100):
    """Normalised strokes ((n, 2) arrays) → stroke-5 tensors, as the scorer encodes them."""
    X, lengths = encode_stored([[s.T for s in strokes] for strokes in sketches], max_len=max_len)
    return torch.from_numpy(X), torch.from_numpy(lengths)


def _random_sketches(seed, n=16):
    rng = np.random.default_rng(seed)
    sketches = []
    for _ in range(n):
        strokes = [np.cumsum(rng.normal(size=(int(rng.integers(1, 15)), 2)), axis=0) for _ in range(3)]
        sketches.append(normalise(strokes))
    return sketches


def _pixel(u):
    """The pixel index a unit-box coordinate lands on (exactly, for the values used below)."""
    return round(MARGIN + u * SPAN)


def test_a_horizontal_line_is_drawn_on_its_row_between_its_ends_and_nowhere_else():
    # The unit box maps onto pixels 2..45: y = (row - 2) / 43 lies on a pixel row's centre.
    row = 20
    y = (row - MARGIN) / SPAN
    x0, x1 = (10 - MARGIN) / SPAN, (35 - MARGIN) / SPAN
    strokes = [np.array([[x0, y], [x1, y]])]
    X, lengths = _encode([strokes])
    image = rasterise(X, lengths, SIZE, MARGIN)[0, 0].numpy()
    np.testing.assert_allclose(image[row, 11:35], 1.0, atol=1e-5)  # solid between the ends
    assert image[row, 10] > 0.5 and image[row, 35] > 0.5  # the ends themselves are inked
    assert image[row, 9] < 0.01 and image[row, 36] < 0.01  # and nothing beyond them
    off_line = np.delete(image, row, axis=0)
    assert off_line.max() < 1e-5  # on a pixel row: no ink leaks to the rows above or below


def test_pen_up_leaves_the_gap_between_strokes_empty_and_a_one_point_stroke_is_a_dot():
    y = (20 - MARGIN) / SPAN
    left = np.array([[0.0, y], [0.3, y]])
    right = np.array([[0.7, y], [1.0, y]])
    dot = np.array([[(30 - MARGIN) / SPAN, (40 - MARGIN) / SPAN]])
    X, lengths = _encode([[left, right, dot]])
    image = rasterise(X, lengths, SIZE, MARGIN)[0, 0].numpy()
    gap = slice(_pixel(0.3) + 2, _pixel(0.7) - 1)
    assert image[20, gap].max() < 1e-5
    assert image[20, _pixel(0.0) + 1 : _pixel(0.3) - 1].min() > 0.99
    assert image[20, _pixel(0.7) + 1 : _pixel(1.0) - 1].min() > 0.99
    assert image[40, 30] > 0.4  # the dot
    assert image[38:43, 27:34].sum() == pytest.approx(image[40, 30], abs=1e-5)


def test_images_stay_in_frame_in_range_and_follow_the_strokes_for_random_sketches():
    sketches = _random_sketches(seed=0)
    X, lengths = _encode(sketches)
    images = rasterise(X, lengths, SIZE, MARGIN)[:, 0].numpy()
    assert images.shape == (len(sketches), SIZE, SIZE)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert images[:, :MARGIN].max() == 0 and images[:, SIZE - MARGIN :].max() == 0
    assert images[:, :, :MARGIN].max() == 0 and images[:, :, SIZE - MARGIN :].max() == 0
    for image, x, n in zip(images, X.numpy(), lengths.numpy(), strict=True):
        # Every point of the sketch has ink within one pixel of where it lands.
        for px, py in x[:n, 5:7] * SPAN + MARGIN:
            r, c = int(round(py)), int(round(px))
            assert image[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2].max() > 0.2
        # And ink lies only near the polyline: every inked pixel is within 1.5 px of a segment.
        inked = np.argwhere(image > 0)
        assert len(inked) and _max_distance_to_polyline(inked, x[:n]) < 1.5


def _max_distance_to_polyline(pixels, rows):
    points = rows[:, 5:7] * SPAN + MARGIN
    segments = [(points[t], points[t + 1]) for t in range(len(rows) - 1) if rows[t, 2] > 0.5]
    segments += [(p, p) for p in points]
    worst = 0.0
    for r, c in pixels:
        p = np.array([c, r], dtype=np.float64)
        best = np.inf
        for a, b in segments:
            d = b - a
            t = 0.0 if not d.any() else np.clip(np.dot(p - a, d) / np.dot(d, d), 0.0, 1.0)
            best = min(best, float(np.linalg.norm(p - (a + t * d))))
        worst = max(worst, best)
    return worst


def test_rasterising_is_deterministic_and_independent_of_padding_and_batch():
    sketches = _random_sketches(seed=1)
    X, lengths = _encode(sketches)
    batch = rasterise(X, lengths)
    assert torch.equal(batch, rasterise(X.clone(), lengths.clone()))
    padded, _ = _encode(sketches, max_len=160)
    assert torch.equal(rasterise(padded, lengths), batch)
    assert torch.equal(rasterise(X[3:4], lengths[3:4])[0], batch[3])


def test_added_scribbles_add_ink_and_truncation_removes_it():
    sketches = _random_sketches(seed=2, n=8)
    X, lengths = _encode(sketches)
    ink = rasterise(X, lengths).sum(dim=(1, 2, 3))
    rng = np.random.default_rng(0)
    scribbled = [degrade(s, Degradation("scribble", 3), rng) for s in sketches]
    Xs, ls = _encode(scribbled)
    assert bool((rasterise(Xs, ls).sum(dim=(1, 2, 3)) > ink).all())
    first_stroke = [s[:1] for s in sketches]  # not re-normalised: the same frame, less ink
    Xt, lt = _encode(first_stroke)
    assert bool((rasterise(Xt, lt).sum(dim=(1, 2, 3)) < ink).all())


def test_bad_arguments_are_refused_with_a_reason():
    X, lengths = _encode(_random_sketches(seed=3, n=2))
    with pytest.raises(ValueError, match="no room"):
        rasterise(X, lengths, size=4, margin=2)
    with pytest.raises(ValueError, match="step"):
        rasterise(X, lengths, step=0)
    with pytest.raises(ValueError, match=r"\(B, T, 7\)"):
        rasterise(X[:, :, :5], lengths)
    with pytest.raises(ValueError, match="too small"):
        RasterEncoder(size=8, channels=(4, 4, 4, 4, 4))


def test_the_raster_encoder_gives_each_sketch_the_same_features_alone_or_in_a_padded_batch():
    torch.manual_seed(0)
    encoder = build_encoder("raster", feat_dim=32, size=32, channels=(4, 8)).eval()
    X, lengths = _encode(_random_sketches(seed=4))
    with torch.inference_mode():
        batch = encoder(X, lengths)
        alone = encoder(X[5:6, : int(lengths[5])], lengths[5:6])
    assert batch.shape == (len(X), 32)
    torch.testing.assert_close(alone[0], batch[5], rtol=1e-5, atol=1e-5)
