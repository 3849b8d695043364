"""Crafted ``.npz`` bombs are refused with memory bounded; a normal archive still reads.

Each bomb is parsed in a child process under an address-space limit, and the child reports its
peak resident memory (``ru_maxrss``). Before the bounds, the 2-D bomb read its declared 600 MiB,
the 1-D bomb unpickled 600 MiB of arrays, the shape lie made numpy allocate (or crash on) a
billion-element object array, and the list bomb built 20 million Python lists.
"""

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sketches import parsing

ROOT = Path(__file__).resolve().parents[2]
PEAK_BOUND_MB = 200  # python + numpy is about 30 MB; any bomb read would be 600 MB or more
ADDRESS_LIMIT = 3 * 1024**3

CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from sketches import parsing
try:
    with open(sys.argv[1], "rb") as handle:
        outcome = parsing.parse_file(handle, sys.argv[1].rsplit("/", 1)[-1])
    result = {{"refused": None, "sketches": len(outcome.sketches), "errors": outcome.errors[:3]}}
except parsing.FileRefused as exc:
    result = {{"refused": str(exc)}}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
status = open("/proc/self/status").read()
result["peak_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps(result))
"""


def parse_in_child(path: Path) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(limit=ADDRESS_LIMIT), str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, f"the parser died (rc {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def npy_header(shape, descr) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def small_object_array() -> np.ndarray:
    holder = np.empty(1, dtype=object)
    holder[0] = np.array([[0, 0, 0], [5, 5, 0], [5, 0, 1]], dtype=np.int16)
    return holder


def write_archive(path: Path, train_writer) -> Path:
    """``train`` written by ``train_writer(stream)``; ``valid`` and ``test`` small and valid."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("train.npy", "w", force_zip64=True) as stream:
            train_writer(stream)
        for key in ("valid", "test"):
            buffer = io.BytesIO()
            np.save(buffer, small_object_array(), allow_pickle=True)
            archive.writestr(f"{key}.npy", buffer.getvalue())
    return path


def zeros_streamed(stream, n_bytes: int) -> None:
    block = bytes(1 << 20)
    for _ in range(n_bytes >> 20):
        stream.write(block)


def bomb_2d(path: Path) -> Path:
    """One numeric array (rows, 100, 3) of int16 zeros declaring 600 MiB."""
    rows = (600 << 20) // (100 * 3 * 2)

    def write(stream):
        header = npy_header((rows, 100, 3), "<i2")
        stream.write(header)
        n_bytes = rows * 100 * 3 * 2
        zeros_streamed(stream, n_bytes)
        stream.write(bytes(n_bytes - (n_bytes >> 20 << 20)))

    return write_archive(path, write)


def bomb_1d(path: Path) -> Path:
    """A 1-D object array whose three stroke-3 elements hold 200 MiB of zeros each."""
    rows = (200 << 20) // 6
    elements = []
    for _ in range(3):
        zeros = np.zeros((rows, 3), dtype=np.int16)  # untouched pages: costs no memory here
        zeros.flags.writeable = False
        elements.append(zeros)

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if type(obj) is not np.ndarray:
                return NotImplemented
            raw = list(obj) if obj.dtype == object else pickle.PickleBuffer(obj)
            state = (1, obj.shape, obj.dtype, False, raw)
            return (np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"), state)

    def write(stream):
        holder = np.empty(3, dtype=object)
        for i, element in enumerate(elements):
            holder[i] = element
        stream.write(npy_header((3,), "|O"))
        Pickler(stream, protocol=5).dump(holder)

    return write_archive(path, write)


def shape_lie(path: Path) -> Path:
    """Header (1,), but the pickled state names a billion-element object array holding one item."""

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if type(obj) is not np.ndarray:
                return NotImplemented
            state = (1, (10**9,), np.dtype(object), False, [None])
            return (np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"), state)

    def write(stream):
        stream.write(npy_header((1,), "|O"))
        Pickler(stream, protocol=3).dump(np.empty(1, dtype=object))

    return write_archive(path, write)


def list_bomb(path: Path, n_lists: int = 20_000_000) -> Path:
    """A 20 MB pickle of 20 million empty lists (1 byte each in the pickle, 64 in memory)."""
    marker = b"BOMBMARK"
    holder = np.empty(1, dtype=object)
    holder[0] = marker
    template = npy_header((1,), "|O") + pickle.dumps(holder, protocol=3)  # protocol 3: no frames
    pickled_marker = b"C" + bytes([len(marker)]) + marker  # SHORT_BINBYTES
    assert template.count(pickled_marker) == 1
    before, after = template.split(pickled_marker)

    def write(stream):
        stream.write(before + b"](")  # EMPTY_LIST, MARK
        block = b"]" * (1 << 20)
        for _ in range(n_lists >> 20):
            stream.write(block)
        stream.write(b"]" * (n_lists - (n_lists >> 20 << 20)) + b"e")  # ..., APPENDS
        stream.write(after)

    return write_archive(path, write)


@pytest.mark.parametrize(
    "craft, reason",
    [
        (bomb_2d, "declares"),
        (bomb_1d, "declares"),
        (shape_lie, "does not match its shape"),
        (list_bomb, "builds more objects"),
    ],
    ids=["2-D zeros", "1-D object zeros", "pickled shape lie", "pickled list bomb"],
)
def test_an_npz_bomb_is_refused_with_bounded_memory(tmp_path, craft, reason):
    path = craft(tmp_path / "pig.npz")
    assert path.stat().st_size < 25 << 20  # small upload, huge declared contents
    result = parse_in_child(path)
    assert result["refused"] and "pig.npz" in result["refused"] and reason in result["refused"], result
    assert result["peak_mb"] < PEAK_BOUND_MB, result


def test_the_declared_size_limit_names_the_setting(tmp_path):
    path = bomb_2d(tmp_path / "pig.npz")
    with open(path, "rb") as handle, pytest.raises(parsing.FileRefused, match="SKETCHQ_MAX_NPZ_BYTES"):
        parsing.parse_file(handle, "pig.npz")
    # The same archive is read when the operator raises the limit (and is then refused row by row:
    # a 3-D numeric array holds (rows, 100, 3), not stroke-3 sketches).


def test_a_normal_sketch_rnn_archive_still_reads_within_the_bound(tmp_path):
    rng = np.random.default_rng(7)

    def stroke3(n):
        rows = rng.integers(-20, 20, size=(n, 3)).astype(np.int16)
        rows[:, 2] = 0
        rows[-1, 2] = 1
        return rows

    arrays = {}
    for key, count in (("train", 3000), ("valid", 200), ("test", 200)):
        holder = np.empty(count, dtype=object)
        holder[:] = [stroke3(int(rng.integers(10, 120))) for _ in range(count)]
        arrays[key] = holder
    path = tmp_path / "pig.npz"
    np.savez_compressed(path, **arrays)
    result = parse_in_child(path)
    assert result["refused"] is None and result["sketches"] == 3400 and not result["errors"], result
    assert result["peak_mb"] < PEAK_BOUND_MB, result


def test_too_many_sketches_in_one_archive_are_refused(tmp_path):
    holder = np.empty(parsing.NPZ_MAX_SKETCHES + 1, dtype=object)
    holder[:] = [np.zeros((1, 3), dtype=np.int16)] * len(holder)
    path = tmp_path / "pig.npz"
    np.savez_compressed(path, train=holder, valid=holder[:1], test=holder[:1])
    with open(path, "rb") as handle, pytest.raises(parsing.FileRefused, match="sketches per file"):
        parsing.parse_file(handle, "pig.npz")
