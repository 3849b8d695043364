"""Shared timing helpers for the benchmarks in bench/.

Absolute timings on shared machines are noise, so every benchmark measures a
baseline in the same run and reports a ratio against it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Run ``fn`` ``repeat`` times and return the fastest wall time in seconds."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return min(timings)


def median_of(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Run ``fn`` ``repeat`` times and return the median wall time in seconds."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def print_header(title: str) -> None:
    print()
    print(f"== {title} ==")


def print_row(label: str, value: str) -> None:
    print(f"  {label:<48} {value}")


def print_ratio(label: str, measured: float, baseline: float, *, goal: str = "") -> None:
    """Print ``measured / baseline``; what the ratio means is in ``label``."""
    ratio = measured / baseline if baseline else float("inf")
    suffix = f"   (goal: {goal})" if goal else ""
    print_row(label, f"{ratio:.3f}{suffix}")
