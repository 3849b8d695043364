"""Each sketch's encoder input, encoded once and stored as float32 bytes (``EncoderInput``).

A scoring task or a training run asks for the arrays of some sketch ids; rows stored
with the current :data:`ENCODING_VERSION` and ``max_len`` are read as bytes, the rest are
encoded from their JSON strokes (:func:`scoring.encoding.encode_stored`) and stored for
next time. Bump :data:`ENCODING_VERSION` whenever the encoding changes: old rows are then
re-encoded on their next use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.dataset import N_FEATURES
from scoring.encoding import encode_stored
from scoring.models import EncoderInput
from sketches.models import Sketch

#: The encoding of :func:`scoring.encoding.encode_stored` (stroke-5 + absolute xy, float32).
ENCODING_VERSION = 1


def pack(row: np.ndarray, length: int) -> bytes:
    """The first ``length`` rows of one sketch's ``(max_len, 7)`` array as float32 bytes."""
    return np.ascontiguousarray(row[:length], dtype=np.float32).tobytes()


def unpack_into(X: np.ndarray, i: int, data: bytes | memoryview, length: int) -> None:
    X[i, :length] = np.frombuffer(data, dtype=np.float32).reshape(length, N_FEATURES)


def empty(n: int, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.zeros((n, max_len, N_FEATURES), dtype=np.float32)
    X[:, :, 4] = 1.0  # padding rows are "end of sketch", as encode_stored writes them
    return X, np.zeros(n, dtype=np.int64)


def do_encode_or_read(sketch_ids: Sequence[int], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X, lengths)`` for ``sketch_ids`` in that order, equal to ``encode_stored`` of their strokes.

    Writes: sketches without stored input are encoded and stored here (``do_encode_and_store``).
    Raises ``ValueError`` naming a sketch id that does not exist or has no points."""
    ids = [int(i) for i in sketch_ids]
    X, lengths = empty(len(ids), max_len)
    position = {pk: i for i, pk in enumerate(ids)}
    rows = EncoderInput.objects.filter(sketch_id__in=ids, version=ENCODING_VERSION, max_len=max_len)
    for pk, length, data in rows.values_list("sketch_id", "length", "data"):
        i = position[pk]
        unpack_into(X, i, data, length)
        lengths[i] = length
    missing = [pk for pk in ids if lengths[position[pk]] == 0]
    if missing:
        X_new, len_new = do_encode_and_store(missing, max_len)
        for j, pk in enumerate(missing):
            X[position[pk]], lengths[position[pk]] = X_new[j], len_new[j]
    return X, lengths


def do_encode_and_store(sketch_ids: Sequence[int], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Encode the sketches from their stored strokes and store (or replace) their encoder input."""
    strokes = dict(Sketch.objects.filter(pk__in=sketch_ids).values_list("pk", "strokes"))
    absent = [pk for pk in sketch_ids if pk not in strokes]
    if absent:
        raise ValueError(f"no sketch with id {', '.join(map(str, absent[:10]))}")
    try:
        X, lengths = encode_stored([strokes[pk] for pk in sketch_ids], max_len=max_len)
    except ValueError as exc:  # names the position; say which sketch it is
        raise ValueError(f"{exc} (sketches {sketch_ids[0]}…{sketch_ids[-1]})") from exc
    EncoderInput.objects.bulk_create(
        [
            EncoderInput(
                sketch_id=pk,
                version=ENCODING_VERSION,
                max_len=max_len,
                length=int(lengths[j]),
                data=pack(X[j], int(lengths[j])),
            )
            for j, pk in enumerate(sketch_ids)
        ],
        update_conflicts=True,
        unique_fields=["sketch"],
        update_fields=["version", "max_len", "length", "data"],
    )
    return X, lengths
