"""Each sketch's encoder input, encoded once and stored as float32 bytes (``EncoderInput``).

A scoring task or a training run asks for the arrays of some sketch ids; rows stored
with the current :data:`ENCODING_VERSION` and ``max_len`` are read as bytes, the rest are
encoded from their JSON strokes (:func:`scoring.encoding.encode_stored`) and stored for
next time. Bump :data:`ENCODING_VERSION` whenever the encoding changes: old rows are then
re-encoded on their next use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import numpy as np
from django.db import connection

from scoring.dataset import N_FEATURES
from scoring.encoding import encode_stored
from scoring.models import EncoderInput
from sketches.models import Sketch

#: The encoding of :func:`scoring.encoding.encode_stored` (stroke-5 + absolute xy, float32).
ENCODING_VERSION = 1


def pack(row: np.ndarray, length: int) -> bytes:
    """The first ``length`` rows of one sketch's ``(max_len, 7)`` array as float32 bytes."""
    return np.ascontiguousarray(row[:length], dtype=np.float32).tobytes()


def unpack_rows(X: np.ndarray, lengths: np.ndarray, rows: Sequence[tuple[int, int, bytes]]) -> None:
    """Fill ``X`` and ``lengths`` (zero where no row comes) in place from ``(position, length,
    bytes)`` rows, in one copy: their bytes joined in position order are the real points of ``X``."""
    if not rows:
        return
    ordered = sorted(rows, key=lambda row: row[0])
    positions = np.fromiter((row[0] for row in ordered), dtype=np.int64, count=len(ordered))
    lengths[positions] = np.fromiter((row[1] for row in ordered), dtype=np.int64, count=len(ordered))
    points = np.arange(X.shape[1])[None, :] < lengths[:, None]
    X[points] = np.frombuffer(b"".join(row[2] for row in ordered), dtype=np.float32).reshape(-1, N_FEATURES)


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
    unpack_rows(X, lengths, [(position[pk], length, data) for pk, length, data in _read_stored(ids, max_len)])
    missing = [pk for pk in ids if lengths[position[pk]] == 0]
    if missing:
        X_new, len_new = do_encode_and_store(missing, max_len)
        for j, pk in enumerate(missing):
            X[position[pk]], lengths[position[pk]] = X_new[j], len_new[j]
    return X, lengths


def _read_stored(ids: list[int], max_len: int) -> list[tuple[int, int, bytes]]:
    """``(sketch id, length, bytes)`` of the stored rows of the current version and cap.

    On PostgreSQL the bytes come back in binary form: in Django's default text form every
    ``bytea`` travels as hex text, twice its size, encoded by the server and decoded here
    (2,048 rows: 12 ms against 28–31 ms in a probe, see ``bench/RESULTS.md``)."""
    if connection.vendor != "postgresql":
        rows = EncoderInput.objects.filter(sketch_id__in=ids, version=ENCODING_VERSION, max_len=max_len)
        return list(rows.values_list("sketch_id", "length", "data"))
    sql = (
        f"SELECT sketch_id, length, data FROM {EncoderInput._meta.db_table} "
        "WHERE sketch_id = ANY(%s::bigint[]) AND version = %s AND max_len = %s"
    )
    with _binary_result_cursor() as cursor:
        cursor.execute(sql, [ids, ENCODING_VERSION, max_len])
        return cursor.fetchall()


@cache
def _binary_result_cursor_class():
    import psycopg

    class BinaryResultCursor(psycopg.Cursor):
        """Server-side binding, every result column in PostgreSQL's binary form."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=prepare, binary=True)

    return BinaryResultCursor


@contextmanager
def _binary_result_cursor() -> Iterator:
    """A Django cursor (logged and counted as usual) on the request's connection and transaction,
    whose results come back in binary form (PostgreSQL only)."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(_binary_result_cursor_class()(connection.connection))
    with cursor:
        yield cursor


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
