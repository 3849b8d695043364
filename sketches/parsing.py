"""Parse and validate sketch files. Pure Python and numpy: no ORM here.

Formats:
- Quick, Draw! simplified ndjson: ``drawing = [[[x...], [y...]], ...]``;
- Quick, Draw! raw ndjson: each stroke carries a third timing array ``[x, y, t]``;
- sketch-rnn ``.npz``: object arrays of stroke-3 rows under ``train``/``valid``/``test``.

Every problem is reported as ``"<file>:<line N | split[i]>: <reason>"``.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from sketches import geometry

MAX_POINTS = 20_000
MAX_ABS_COORDINATE = 1e6
NPZ_SPLITS = ("train", "valid", "test")
NDJSON_SUFFIXES = {".ndjson", ".jsonl"}


class ParseError(ValueError):
    """A problem with one record, with the location it was found at."""

    def __init__(self, location: str, reason: str):
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason


class FileRefused(ValueError):
    """The whole file cannot be read (wrong type, corrupt, truncated archive)."""


@dataclass(frozen=True)
class ParsedSketch:
    source: str
    key_id: str
    word: str
    strokes: list[np.ndarray]
    countrycode: str = ""
    recognized: bool | None = None
    drawn_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParseOutcome:
    """What a file yielded: the valid sketches and the reasons for every refusal."""

    sketches: list[ParsedSketch] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    n_read: int = 0


def same_category(a: str, b: str) -> bool:
    """``alarm_clock``, ``alarm clock`` and ``Alarm-Clock`` name the same category."""

    def norm(s: str) -> str:
        return " ".join(s.replace("_", " ").replace("-", " ").lower().split())

    return norm(a) == norm(b)


def detect_format(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if suffix == ".npz":
        if not head.startswith(b"PK"):
            raise FileRefused(f"{name}: not a .npz archive (it does not start with a zip header)")
        return "npz"
    if suffix in NDJSON_SUFFIXES:
        if head.startswith(b"PK") or b"\x00" in head:
            raise FileRefused(f"{name}: binary content in an ndjson file")
        return "ndjson"
    raise FileRefused(
        f"{name}: unsupported file type {suffix or '(none)'!r}; expected .ndjson, .jsonl or .npz"
    )


def parse_file(
    stream: BinaryIO, name: str, *, category: str | None = None, limit: int | None = None
) -> ParseOutcome:
    """Read a whole file, keeping valid sketches and collecting every error."""
    head = stream.read(8)
    stream.seek(0)
    fmt = detect_format(name, head)
    if fmt == "npz":
        return _collect(_iter_npz(stream, name, category), limit)
    return _collect(_iter_ndjson(stream, name, category), limit)


def _collect(items: Iterator[ParsedSketch | ParseError], limit: int | None) -> ParseOutcome:
    outcome = ParseOutcome()
    for item in items:
        if limit is not None and outcome.n_read >= limit:
            break
        outcome.n_read += 1
        if isinstance(item, ParseError):
            outcome.errors.append(str(item))
        else:
            outcome.sketches.append(item)
    return outcome


# --- ndjson -----------------------------------------------------------------


def _iter_ndjson(stream: BinaryIO, name: str, category: str | None) -> Iterator[ParsedSketch | ParseError]:
    seen: set[str] = set()
    for number, raw in enumerate(stream, start=1):
        location = f"{name}:line {number}"
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield ParseError(location, "not UTF-8 text")
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            truncated = not raw.endswith(b"\n")
            reason = "truncated record at end of file" if truncated else f"not valid JSON ({exc.msg})"
            yield ParseError(location, reason)
            continue
        try:
            sketch = _sketch_from_record(record, category, location)
        except ParseError as exc:
            yield exc
            continue
        if sketch.key_id in seen:
            yield ParseError(location, f"key_id {sketch.key_id!r} appears twice in this file")
            continue
        seen.add(sketch.key_id)
        yield sketch


def _sketch_from_record(record: Any, category: str | None, location: str) -> ParsedSketch:
    if not isinstance(record, dict):
        raise ParseError(location, "expected a JSON object")
    for key in ("word", "key_id", "drawing"):
        if key not in record:
            raise ParseError(location, f"missing field {key!r}")
    word, key_id = record["word"], record["key_id"]
    if not isinstance(word, str) or not word.strip():
        raise ParseError(location, "'word' must be a non-empty string")
    if isinstance(key_id, bool) or not isinstance(key_id, str | int):
        raise ParseError(location, "'key_id' must be a string or an integer")
    key_id = str(key_id)
    if not key_id or len(key_id) > 64:
        raise ParseError(location, "'key_id' must have 1 to 64 characters")
    if category is not None and not same_category(word, category):
        raise ParseError(location, f"word {word!r} does not match the category {category!r}")
    strokes = _strokes_from_drawing(record["drawing"], location)
    countrycode = record.get("countrycode") or ""
    if not isinstance(countrycode, str) or len(countrycode) > 8:
        raise ParseError(location, "'countrycode' must be a short string or null")
    recognized = record.get("recognized")
    if recognized is not None and not isinstance(recognized, bool):
        raise ParseError(location, "'recognized' must be true, false or null")
    return ParsedSketch(
        source="quickdraw",
        key_id=key_id,
        word=word.strip(),
        strokes=strokes,
        countrycode=countrycode,
        recognized=recognized,
        drawn_at=_parse_timestamp(record.get("timestamp"), location),
    )


def _parse_timestamp(value: Any, location: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(location, "'timestamp' must be a string or null")
    try:
        parsed = datetime.fromisoformat(value.replace(" UTC", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(location, f"'timestamp' {value!r} is not a date") from None
    return parsed


def _strokes_from_drawing(drawing: Any, location: str) -> list[np.ndarray]:
    if not isinstance(drawing, list) or not drawing:
        raise ParseError(location, "empty drawing")
    strokes, total = [], 0
    for index, stroke in enumerate(drawing):
        where = f"stroke {index}"
        if not isinstance(stroke, list) or len(stroke) not in (2, 3):
            raise ParseError(location, f"{where}: expected [x, y] or [x, y, t] arrays")
        arrays = [_numbers(values, location, f"{where}, {axis}") for values, axis in zip(stroke, "xyt")]
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            shape = "/".join(str(len(a)) for a in arrays)
            raise ParseError(location, f"{where}: x/y arrays of unequal length ({shape})")
        if 0 in lengths:
            raise ParseError(location, f"{where}: empty stroke")
        total += len(arrays[0])
        if total > MAX_POINTS:
            raise ParseError(location, f"more than {MAX_POINTS:,} points")
        strokes.append(np.column_stack([arrays[0], arrays[1]]))
    return strokes


def _numbers(values: Any, location: str, where: str) -> np.ndarray:
    if not isinstance(values, list):
        raise ParseError(location, f"{where}: expected an array of numbers")
    if not set(map(type, values)) <= {int, float}:  # bool is a subclass of int: refuse it too
        bad = next(v for v in values if type(v) not in (int, float))
        raise ParseError(location, f"{where}: {bad!r} is not a number")
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ParseError(location, f"{where}: NaN or infinite value")
    if array.size and np.abs(array).max() > MAX_ABS_COORDINATE:
        raise ParseError(location, f"{where}: absurd magnitude (|value| > {MAX_ABS_COORDINATE:g})")
    return array


# --- sketch-rnn npz ---------------------------------------------------------


def _iter_npz(stream: BinaryIO, name: str, category: str | None) -> Iterator[ParsedSketch | ParseError]:
    word = category or Path(name).stem.replace("_", " ")
    data = _load_npz(stream, name)
    for split in NPZ_SPLITS:
        for index, stroke3 in enumerate(data[split]):
            location = f"{name}:{split}[{index}]"
            try:
                strokes = _strokes_from_stroke3(stroke3, location)
            except ParseError as exc:
                yield exc
                continue
            yield ParsedSketch(
                source="sketchrnn",
                key_id=f"sketchrnn_{split}-{index}",
                word=word,
                strokes=strokes,
                extra={"npz_split": split},
            )


def _load_npz(stream: BinaryIO, name: str) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(stream) as archive:
            members = {Path(m).stem: m for m in archive.namelist() if m.endswith(".npy")}
            missing = [key for key in NPZ_SPLITS if key not in members]
            if missing:
                raise FileRefused(
                    f"{name}: missing array(s) {', '.join(missing)}; expected train, valid, test"
                )
            return {key: _read_npy(archive.open(members[key]), name, key) for key in NPZ_SPLITS}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
        if isinstance(exc, FileRefused):
            raise
        raise FileRefused(f"{name}: corrupt or truncated .npz archive ({exc})") from None


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """sketch-rnn stores object arrays, which need pickle; allow numpy's classes only,
    so an uploaded file cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        return super().find_class(module, name)


def _read_npy(fp: IO[bytes], name: str, key: str) -> np.ndarray:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    if dtype.hasobject:
        array = _NumpyOnlyUnpickler(fp).load()
    else:
        count = int(np.prod(shape))
        array = np.frombuffer(fp.read(count * dtype.itemsize), dtype=dtype)
        if array.size != count:
            raise FileRefused(f"{name}: array {key!r} is truncated")
        array = array.reshape(shape)
    if array.ndim == 1 or (array.ndim == 3 and array.shape[-1] == 3):
        return array  # one stroke-3 sketch per element (object array, or equal lengths)
    raise FileRefused(f"{name}: array {key!r} has shape {array.shape}; expected one sketch per row")


def _strokes_from_stroke3(stroke3: Any, location: str) -> list[np.ndarray]:
    try:
        array = np.asarray(stroke3, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParseError(location, "not a numeric stroke-3 array") from None
    if array.ndim != 2 or array.shape[1] != 3:
        raise ParseError(location, f"expected stroke-3 rows (n, 3), got shape {array.shape}")
    if len(array) == 0:
        raise ParseError(location, "empty drawing")
    if len(array) > MAX_POINTS:
        raise ParseError(location, f"more than {MAX_POINTS:,} points")
    if not np.all(np.isfinite(array)):
        raise ParseError(location, "NaN or infinite value")
    strokes = geometry.stroke3_to_strokes(array)
    if np.abs(np.concatenate(strokes)).max() > MAX_ABS_COORDINATE:
        raise ParseError(location, f"absurd magnitude (|value| > {MAX_ABS_COORDINATE:g})")
    return strokes
