"""Read sketch-rnn ``.npz`` archives with memory bounded before anything is allocated.

Pure Python and numpy: no ORM here. A zip member of zeros compresses about 1000:1, so a small
upload can declare gigabytes. Everything is checked against what the archive declares before
reading, and every read is capped by those declarations:

1. Zip level: each member's declared uncompressed size, and their sum, must fit ``max_bytes``.
   Members are read through :class:`_Capped`, which never asks for more than the member's
   declared remaining size and reads in chunks, so a member that lies about its size cannot make
   the decompressor produce more (``zipfile`` also stops at the declared size and then fails the
   CRC check).
2. ``.npy`` header: the declared shape and dtype. A numeric array must take exactly the declared
   member bytes; an object array (sketch-rnn's format, one stroke-3 array per element) must be
   1-D with at most ``max_rows`` elements.
3. Object arrays need pickle. The unpickler admits numpy's array and dtype reconstruction only
   (so no code runs), counts its opcodes in a first pass (a pickle that builds many small objects
   is refused before any is built), and checks every array state before numpy allocates it
   (numpy would otherwise allocate the declared shape, or crash on a list of the wrong length).

Refusals raise :class:`NpzRefused` with a message naming the file and the limit.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from collections.abc import Iterable
from typing import IO, BinaryIO, cast

import numpy as np

CHUNK = 1 << 20
MAX_LINE = 1024
# A sketch-rnn element pickles to about 15 opcodes (measured on numpy 2.4: 4,006 BININT1,
# 4,001 BINGET, 6,025 MEMOIZE... for 1,000 stroke-3 arrays); allow generous slack per element.
OPCODES_PER_ROW = 64
OPCODES_FIXED = 256
NUMERIC_KINDS = "iuf"


class NpzRefused(ValueError):
    """The archive declares, or turns out to hold, more than the limits allow, or is malformed."""


class _Capped(io.RawIOBase):
    """A zip member that yields at most its declared size, in chunks of at most ``CHUNK``."""

    def __init__(self, member: IO[bytes], declared: int, label: str):
        self._member, self._left, self._label = member, declared, label
        self._declared = declared

    def readable(self) -> bool:
        return True

    def _take(self, n: int) -> bytes:
        if n < 0:
            n = self._left
        if n > self._left:
            raise NpzRefused(f"{self._label}: asks for {n:,} bytes past its declared size")
        parts, wanted = [], n
        while wanted > 0:
            chunk = self._member.read(min(wanted, CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            wanted -= len(chunk)
        data = b"".join(parts)
        self._left -= len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        return self._take(n)

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._take(min(len(view), self._left))
        view[: len(data)] = data
        return len(data)

    def readline(self, limit: int | None = -1) -> bytes:
        # Old pickles (Python 2's sketch-rnn files) name classes on text lines; keep lines short.
        line = bytearray()
        while len(line) < MAX_LINE and self._left > 0:
            byte = self._take(1)
            line += byte
            if byte == b"\n":
                return bytes(line)
        if len(line) >= MAX_LINE:
            raise NpzRefused(f"{self._label}: a pickle text line longer than {MAX_LINE} bytes")
        return bytes(line)

    def tell(self) -> int:
        return self._declared - self._left

    @property
    def position(self) -> int:
        return self.tell()


def load_arrays(
    stream: BinaryIO, name: str, keys: Iterable[str], *, max_bytes: int, max_rows: int
) -> dict[str, np.ndarray]:
    """The arrays named ``keys`` from an ``.npz``, within ``max_bytes`` and ``max_rows`` in all."""
    keys = list(keys)
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            missing = [key for key in keys if key not in infos]
            if missing:
                raise NpzRefused(f"{name}: missing array(s) {', '.join(missing)}; expected {', '.join(keys)}")
            declared = sum(infos[key].file_size for key in keys)
            if declared > max_bytes:
                raise NpzRefused(
                    f"{name}: the archive declares {declared:,} bytes uncompressed; the limit is "
                    f"{max_bytes:,} (SKETCHQ_MAX_NPZ_BYTES)"
                )
            rows_left = [max_rows]
            return {key: _read_member(archive, infos[key], name, key, rows_left) for key in keys}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise NpzRefused(f"{name}: corrupt or truncated .npz archive ({exc})") from None


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, key: str, rows_left: list[int]
) -> np.ndarray:
    label = f"{name}: array {key!r}"
    with archive.open(info) as member:
        fp = _Capped(member, info.file_size, label)
        shape, dtype, header_end = _read_header(fp, label)
        if dtype.hasobject:
            if dtype != np.dtype(object) or len(shape) != 1:
                raise NpzRefused(f"{label} has shape {shape} and dtype {dtype}; expected one sketch per row")
            _take_rows(shape[0], rows_left, label)
        else:
            if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
                raise NpzRefused(f"{label} has dtype {dtype}; expected numbers")
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if count * dtype.itemsize != info.file_size - header_end:
                raise NpzRefused(
                    f"{label} declares shape {shape} ({count * dtype.itemsize:,} bytes) but the archive "
                    f"holds {info.file_size - header_end:,}"
                )
            _take_rows(shape[0] if shape else 1, rows_left, label)
            data = fp.read(count * dtype.itemsize)
            if len(data) != count * dtype.itemsize:
                raise NpzRefused(f"{label} is truncated")
            return np.frombuffer(data, dtype=dtype).reshape(shape)
    # Object arrays: count the opcodes in one pass, then unpickle in a second.
    limit = OPCODES_FIXED + OPCODES_PER_ROW * shape[0]
    with archive.open(info) as member:
        fp = _Capped(member, info.file_size, label)
        fp.read(header_end)
        _count_opcodes(fp, limit, label)
    with archive.open(info) as member:
        fp = _Capped(member, info.file_size, label)
        fp.read(header_end)
        budget = [info.file_size]
        try:
            array = _BoundedUnpickler(fp, label, budget).load()
        except (pickle.UnpicklingError, TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
            if isinstance(exc, NpzRefused):
                raise
            raise NpzRefused(f"{label}: not a valid pickled array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != np.dtype(object):
        raise NpzRefused(f"{label}: the pickled array does not match its header {shape}")
    return np.asarray(array)


def _take_rows(rows: int, rows_left: list[int], label: str) -> None:
    rows_left[0] -= rows
    if rows_left[0] < 0:
        raise NpzRefused(f"{label}: the archive holds more than the limit of sketches per file")


def _read_header(fp: _Capped, label: str) -> tuple[tuple[int, ...], np.dtype, int]:
    try:
        version = np.lib.format.read_magic(fp)
        reader = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = reader(fp, max_header_size=10_000)
    except (ValueError, SyntaxError, TypeError) as exc:
        raise NpzRefused(f"{label}: not a .npy array ({exc})") from None
    return tuple(int(n) for n in shape), dtype, fp.position


def _count_opcodes(fp: _Capped, limit: int, label: str) -> None:
    try:
        for count, _ in enumerate(pickletools.genops(cast(IO[bytes], fp)), start=1):
            if count > limit:
                raise NpzRefused(f"{label}: the pickle builds more objects than its {limit:,} allowed")
    except (ValueError, EOFError) as exc:
        if isinstance(exc, NpzRefused):
            raise
        raise NpzRefused(f"{label}: not a valid pickled array ({exc})") from None


class _NdarrayToken:
    """Stands in for ``numpy.ndarray`` in a pickle: it may be passed to ``_reconstruct`` only,
    never called (calling it would allocate any shape the file names)."""


class _CheckedArray(np.ndarray):
    """An array whose pickled state is checked before numpy allocates it."""

    budget: list[int]
    label: str

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) != 5:
            raise NpzRefused(f"{self.label}: malformed array state in the pickle")
        _, shape, dtype, _, raw = state
        if (
            not isinstance(shape, tuple)
            or len(shape) > 3
            or not all(type(n) is int and n >= 0 for n in shape)
        ):
            raise NpzRefused(f"{self.label}: malformed array shape in the pickle")
        if not isinstance(dtype, np.dtype):
            raise NpzRefused(f"{self.label}: malformed dtype in the pickle")
        count = 1
        for n in shape:
            count *= n
        if dtype == np.dtype(object):
            if not isinstance(raw, list) or len(raw) != count:
                raise NpzRefused(f"{self.label}: the pickled list does not match its shape {shape}")
            cost = count * dtype.itemsize
        elif dtype.kind in NUMERIC_KINDS and dtype.fields is None and dtype.subdtype is None:
            if not isinstance(raw, bytes) or len(raw) != count * dtype.itemsize:
                raise NpzRefused(f"{self.label}: the pickled bytes do not match the shape {shape}")
            cost = len(raw)
        else:
            raise NpzRefused(f"{self.label}: dtype {dtype} is not accepted inside the array")
        self.budget[0] -= cost
        if self.budget[0] < 0:
            raise NpzRefused(f"{self.label}: the pickle expands past the archive's declared size")
        super().__setstate__(state)


class _BoundedUnpickler(pickle.Unpickler):
    """Admits numpy's array and dtype reconstruction only, so an uploaded file cannot run code."""

    def __init__(self, fp: _Capped, label: str, budget: list[int]):
        super().__init__(fp)
        self.label, self.budget = label, budget

    def find_class(self, module: str, name: str):
        if (module, name) in {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }:
            return self._reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayToken
        if (module, name) == ("numpy", "dtype"):
            return _dtype
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")

    def _reconstruct(self, subtype, shape, dtype):
        if subtype is not _NdarrayToken:
            raise NpzRefused(f"{self.label}: the pickle reconstructs something other than an array")
        array = np.ndarray.__new__(_CheckedArray, (0,), np.uint8)
        array.budget, array.label = self.budget, self.label
        return array


def _dtype(spec, align=False, copy=False):
    if not isinstance(spec, str) or len(spec) > 4:
        raise NpzRefused(f"dtype {spec!r} is not accepted in a sketch archive")
    return np.dtype(spec)
