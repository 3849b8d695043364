"""Read stored sketches for training and scoring, as stroke-5 arrays.

The Django side of :mod:`scoring.dataset`: sketches come from the database (the
``split`` set at import), are read as stored encoder input (:mod:`scoring.stored_input`: encoded once by
:func:`scoring.encoding.encode_stored`, bit-identical to ``dataset.encode_strokes``) and labelled by the
position of their category in the scorer's class list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring import stored_input
from sketches.models import Category, Sketch

#: Sketches read from the database per query while encoding.
READ_CHUNK = 2000


@dataclass(frozen=True)
class EncodedSet:
    sketch_ids: np.ndarray  # int64 (n,)
    X: np.ndarray  # float32 (n, max_len, 7)
    lengths: np.ndarray  # int64 (n,)
    labels: np.ndarray  # int64 (n,): index into the class list


def split_ids(
    categories: Sequence[Category], split: str, per_category: int | None = None
) -> tuple[list[int], list[int]]:
    """``(sketch ids, labels)`` of one split: per category in order, lowest ids first."""
    ids: list[int] = []
    labels: list[int] = []
    for index, category in enumerate(categories):
        qs = Sketch.objects.filter(category=category, split=split).order_by("pk").values_list("pk", flat=True)
        chosen = list(qs[:per_category] if per_category else qs)
        ids += chosen
        labels += [index] * len(chosen)
    return ids, labels


def encode_ids(sketch_ids: Sequence[int], labels: Sequence[int], max_len: int, progress=None) -> EncodedSet:
    """Load and encode ``sketch_ids`` (in that order)."""
    X = np.zeros((len(sketch_ids), max_len, 7), dtype=np.float32)
    lengths = np.zeros(len(sketch_ids), dtype=np.int64)
    for start in range(0, len(sketch_ids), READ_CHUNK):
        chunk = list(sketch_ids[start : start + READ_CHUNK])
        X[start : start + len(chunk)], lengths[start : start + len(chunk)] = stored_input.do_encode_or_read(
            chunk, max_len
        )
        if progress is not None:
            progress(start + len(chunk), len(sketch_ids))
    return EncodedSet(np.asarray(sketch_ids, np.int64), X, lengths, np.asarray(labels, np.int64))
