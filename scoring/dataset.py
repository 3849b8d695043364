"""Pure data helpers for the scorer: strokes -> padded stroke-5 arrays.

No Django here. The Django side passes lists of normalised strokes (as stored);
experiments and benchmarks may read Quick, Draw! ndjson directly with
:func:`load_ndjson_dir`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sketches.geometry import normalise, to_stroke5

#: Columns of one stroke-5 row as produced by :func:`sketches.geometry.to_stroke5`.
N_FEATURES = 7
DEFAULT_MAX_LEN = 100


def encode_strokes(
    strokes_list: Sequence[Sequence[np.ndarray]], max_len: int = DEFAULT_MAX_LEN
) -> tuple[np.ndarray, np.ndarray]:
    """Turn normalised sketches into ``(X, lengths)``.

    ``X`` is float32 ``(n, max_len, 7)`` (stroke-5 + absolute xy, zero-padded
    with the end-of-sketch flag set), ``lengths`` is int64 ``(n,)``, each >= 1.
    Raises ``ValueError`` naming the index of an empty sketch.
    """
    n = len(strokes_list)
    X = np.zeros((n, max_len, N_FEATURES), dtype=np.float32)
    lengths = np.zeros(n, dtype=np.int64)
    for i, strokes in enumerate(strokes_list):
        strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
        strokes = [s for s in strokes if len(s)]
        if not strokes:
            raise ValueError(f"sketch {i} has no points")
        X[i], lengths[i] = to_stroke5(strokes, max_len=max_len)
    return X, lengths


def drawing_to_strokes(drawing: Iterable[Sequence[Sequence[float]]]) -> list[np.ndarray]:
    """Quick, Draw! ``[[x...], [y...]]`` per stroke -> list of ``(n, 2)`` arrays."""
    return [np.asarray(stroke[:2], dtype=np.float64).T.reshape(-1, 2) for stroke in drawing]


@dataclass(frozen=True)
class SketchSet:
    """Sketches read from ndjson, normalised to their bounding box."""

    strokes: list[list[np.ndarray]]
    labels: np.ndarray  # int64 class index into ``class_names``
    class_names: list[str]
    key_ids: list[str]


def categories_with_at_least(path: str | Path, minimum: int) -> list[str]:
    """File stems in ``path`` (sorted) whose ``manifest.json`` count is >= ``minimum``."""
    manifest = json.loads((Path(path) / "manifest.json").read_text())
    return sorted(name for name, entry in manifest.items() if entry["count"] >= minimum)


def load_ndjson_dir(path: str | Path, categories: Sequence[str], per_category: int) -> SketchSet:
    """Read the first ``per_category`` drawings of each ``<category>.ndjson``.

    Every sketch is normalised to its own bounding box (sources use different
    coordinate frames, see PROVENANCE.md). Class index = position in ``categories``.
    """
    strokes: list[list[np.ndarray]] = []
    labels: list[int] = []
    key_ids: list[str] = []
    for index, category in enumerate(categories):
        file = Path(path) / f"{category}.ndjson"
        with file.open() as handle:
            for count, line in enumerate(handle):
                if count >= per_category:
                    break
                record = json.loads(line)
                strokes.append(normalise(drawing_to_strokes(record["drawing"])))
                labels.append(index)
                key_ids.append(str(record.get("key_id")))
    return SketchSet(strokes, np.asarray(labels, dtype=np.int64), list(categories), key_ids)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` with ``test_fraction`` of every class held out."""
    rng = np.random.default_rng(seed)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(len(members) * test_fraction))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
