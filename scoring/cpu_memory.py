"""Reuse of freed memory by processes that run torch on the CPU (glibc's ``mallopt``).

torch allocates each layer's output with ``malloc``. glibc serves requests above its mmap
threshold (128 KiB at start, raised dynamically up to 32 MiB) with fresh ``mmap`` pages and
gives heap memory above its trim threshold back to the system, so a forward pass whose
activations are a few MiB each keeps asking the kernel for zeroed pages and faulting them in.
Measured on the default scorer in fresh processes, back to back (bench/RESULTS.md, issue 10,
sixth session): 7,400–8,900 sketches/s with 2.8–3.2 s of system time for the probe, and
10,600–13,500 /s with 0.3–0.6 s once freed memory was kept; a test counts 180–470 page faults
for three passes over 300 sketches against 22,800–24,600. The PyTorch performance tuning guide
makes the same point when it recommends jemalloc or TCMalloc for CPU inference. Training steps
(batch 64) were not faster: their blocks stay under the default thresholds.

:func:`keep_freed_memory` fixes both thresholds once per process: blocks up to 32 MiB (glibc's
maximum mmap threshold on 64-bit) come from the heap, and the heap is trimmed only above 1 GiB
free. The cost is that a process keeps its peak heap (one forward slice's or training step's
activations, tens of MiB for the default scorer) instead of returning it between batches.
Other C libraries (musl, macOS) are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

#: ``mallopt`` parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process (once); ``False`` where there is no
    glibc ``mallopt`` or it refuses a value."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
    if not applied:
        log.info("mallopt refused the thresholds; freed memory is returned as usual")
    return applied
