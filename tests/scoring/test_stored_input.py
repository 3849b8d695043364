"""Stored encoder input: encoded once, read back as the same arrays, re-encoded when stale."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import stored_input
from scoring.encoding import encode_stored
from scoring.models import EncoderInput
from tests.factories import make_sketches

pytestmark = pytest.mark.django_db


def test_stored_arrays_equal_a_fresh_encoding_and_are_read_without_encoding_again(django_assert_num_queries):
    sketches = make_sketches("pig", 30) + make_sketches("cactus", 10)
    ids = [s.pk for s in reversed(sketches)]  # any order comes back in that order
    expected_X, expected_len = encode_stored([s.strokes for s in reversed(sketches)], max_len=100)
    X, lengths = stored_input.do_encode_or_read(ids, 100)
    np.testing.assert_array_equal(lengths, expected_len)
    np.testing.assert_array_equal(X, expected_X)
    assert EncoderInput.objects.count() == 40
    row = EncoderInput.objects.get(sketch_id=ids[0])
    assert row.version == stored_input.ENCODING_VERSION and len(bytes(row.data)) == row.length * 7 * 4
    with django_assert_num_queries(1):  # second use: one read of bytes, no strokes, no writes
        X2, len2 = stored_input.do_encode_or_read(ids, 100)
    np.testing.assert_array_equal(X2, expected_X)
    np.testing.assert_array_equal(len2, expected_len)


def test_rows_of_another_version_or_length_cap_are_re_encoded_never_used():
    sketches = make_sketches("face", 5)
    ids = [s.pk for s in sketches]
    stored_input.do_encode_or_read(ids, 100)
    EncoderInput.objects.update(version=stored_input.ENCODING_VERSION + 99, data=b"\x00" * 28, length=1)
    X, lengths = stored_input.do_encode_or_read(ids, 100)
    np.testing.assert_array_equal(X, encode_stored([s.strokes for s in sketches], max_len=100)[0])
    assert set(EncoderInput.objects.values_list("version", flat=True)) == {stored_input.ENCODING_VERSION}
    X40, len40 = stored_input.do_encode_or_read(ids, 40)
    assert len40.max() <= 40 and X40.shape == (5, 40, 7)


def test_an_unknown_sketch_id_is_named():
    with pytest.raises(ValueError, match="no sketch with id 987654"):
        stored_input.do_encode_or_read([987654], 100)


def test_rows_unpack_into_their_positions_whatever_order_they_come_in():
    X, lengths = stored_input.empty(4, 5)
    rows = [np.full((n, 7), float(n), dtype=np.float32) for n in (2, 5, 1)]
    stored_input.unpack_rows(
        X, lengths, [(3, 1, rows[2].tobytes()), (0, 2, rows[0].tobytes()), (2, 5, rows[1].tobytes())]
    )
    np.testing.assert_array_equal(lengths, [2, 0, 5, 1])
    np.testing.assert_array_equal(X[0, :2], rows[0])
    np.testing.assert_array_equal(X[2], rows[1])
    np.testing.assert_array_equal(X[3, :1], rows[2])
    padding = np.zeros(7, dtype=np.float32)
    padding[4] = 1.0
    for i, n in ((0, 2), (1, 0), (3, 1)):  # untouched rows stay "end of sketch" padding
        np.testing.assert_array_equal(X[i, n:], np.broadcast_to(padding, (5 - n, 7)))
