"""Benchmark studies.sampling.plan_pairs against a naive pure-Python rejection sampler.

Run from the repo root: ``.venv/bin/python bench/bench_sampling.py``.
Goal: 200,000 binned pairs over 10 levels in at most 2 s.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402
from studies.sampling import level_edges, plan_pairs  # noqa: E402

N_SKETCHES = 5_000
N_PAIRS = 200_000
N_LEVELS = 10
BASELINE_PAIRS = 20_000
GOAL_SECONDS = 2.0


def naive_balanced(q: list[float], n_pairs: int, n_levels: int, seed: int) -> list[tuple[int, int]]:
    """Draw random pairs one by one, bin each, keep it while its level's quota is open."""
    rng = random.Random(seed)
    low, high = min(q), max(q)
    quota = [n_pairs // n_levels + (level < n_pairs % n_levels) for level in range(n_levels)]
    seen: set[tuple[int, int]] = set()
    kept: list[tuple[int, int]] = []
    while len(kept) < n_pairs:
        i, j = sorted(rng.sample(range(len(q)), 2))
        gap = abs(q[i] - q[j]) / (high - low)
        level = max(0, min(n_levels - 1, int(np.ceil(gap * n_levels)) - 1))
        if quota[level] and (i, j) not in seen:
            quota[level] -= 1
            seen.add((i, j))
            kept.append((i, j))
    return kept


def report(label: str, seconds: float, n_pairs: int) -> None:
    print_row(f"{label}: seconds", f"{seconds:.3f}")
    print_row(f"{label}: pairs/s", f"{n_pairs / seconds:,.0f}")


def main() -> None:
    q = np.random.default_rng(0).random(N_SKETCHES)
    edges = level_edges(N_LEVELS)

    print_header(f"Baseline: naive pure-Python rejection, {BASELINE_PAIRS:,} pairs, n={N_SKETCHES:,}")
    naive_small = best_of(lambda: naive_balanced(q.tolist(), BASELINE_PAIRS, N_LEVELS, seed=1), repeat=1)
    naive_full = naive_small * N_PAIRS / BASELINE_PAIRS
    report("naive, measured", naive_small, BASELINE_PAIRS)
    print_row(f"naive, linear extrapolation to {N_PAIRS:,}: seconds", f"{naive_full:.3f}")

    results = {}
    for mode in ("balanced", "natural"):
        print_header(f"plan_pairs {mode}: {N_PAIRS:,} pairs, {N_LEVELS} levels, n={N_SKETCHES:,}")
        seconds = best_of(lambda m=mode: plan_pairs(q, N_PAIRS, edges, m, np.random.default_rng(1)))
        results[mode] = seconds
        report(mode, seconds, N_PAIRS)
        print_ratio("speed-up vs naive (naive s / ours s)", naive_full, seconds, goal="> 1")

    print_header("plan_pairs balanced: 20 categories x 10,000 pairs, n=1,000 each")
    categories = [np.random.default_rng(c).random(1_000) for c in range(20)]
    per_category = best_of(
        lambda: [plan_pairs(c, 10_000, edges, "balanced", np.random.default_rng(1)) for c in categories]
    )
    report("20 categories", per_category, N_PAIRS)

    print_header("Goal")
    worst = max(*results.values(), per_category)
    verdict = "MET" if worst <= GOAL_SECONDS else "NOT MET"
    print_row(f"slowest 200,000-pair plan <= {GOAL_SECONDS:g} s", f"{worst:.3f} s  {verdict}")


if __name__ == "__main__":
    main()
