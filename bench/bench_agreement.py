"""Agreement table over 200k answers: vectorised analysis.agreement vs a naive Python loop.

Run from the repo root:  .venv/bin/python bench/bench_agreement.py
Goal: the full table (counts, rates, Wilson intervals) for 200k answers in ≤ 1 s.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from analysis.agreement import agreement_table  # noqa: E402
from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402

N = 200_000
N_METHODS, N_CATEGORIES, N_LEVELS, N_WORKERS = 5, 8, 10, 40
SEED = 7


def simulate(rng: np.random.Generator) -> dict[str, np.ndarray]:
    q_left = rng.random(N).round(3)  # rounding makes some exact q ties
    q_right = rng.random(N).round(3)
    level = np.minimum((np.abs(q_left - q_right) * N_LEVELS).astype(int), N_LEVELS - 1)
    p_higher = 0.5 + 0.5 * np.tanh(4 * np.abs(q_left - q_right))
    picks_higher = rng.random(N) < p_higher
    chose_left = np.where(q_left > q_right, picks_higher, ~picks_higher)
    return {
        "q_left": q_left,
        "q_right": q_right,
        "chose_left": chose_left,
        "level": level,
        "category": rng.integers(0, N_CATEGORIES, N),
        "method": rng.integers(0, N_METHODS, N),
        "worker": rng.integers(0, N_WORKERS, N),
    }


def naive(data: dict[str, np.ndarray]) -> dict:
    n, agree, ties = defaultdict(int), defaultdict(int), defaultdict(int)
    rows = zip(
        *(data[k].tolist() for k in ("q_left", "q_right", "chose_left", "level", "category", "method"))
    )
    for ql, qr, left, lv, cat, met in rows:
        key = (met, cat, lv)
        if ql == qr:
            ties[key] += 1
            continue
        n[key] += 1
        agree[key] += (ql > qr) == left
    out = {}
    z = 1.96
    for key, nn in n.items():
        p = agree[key] / nn
        d = 1 + z * z / nn
        c = (p + z * z / (2 * nn)) / d
        h = z * math.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / d
        out[key] = (nn, agree[key], p, c - h, c + h)
    return out


def main() -> None:
    data = simulate(np.random.default_rng(SEED))
    args = {k: data[k] for k in ("q_left", "q_right", "chose_left", "level", "category", "method")}

    print_header(f"Agreement table: {N:,} answers, {N_METHODS}×{N_CATEGORIES}×{N_LEVELS} cells")
    t_naive = best_of(lambda: naive(data), repeat=1)
    t_fast = best_of(lambda: agreement_table(**args, n_levels=N_LEVELS), repeat=5)
    table = agreement_table(**args, n_levels=N_LEVELS)
    ref = naive(data)
    same = all(
        table.n[k] == v[0] and table.agree[k] == v[1] and abs(table.lo[k] - v[3]) < 1e-12
        for k, v in ref.items()
    )
    print_row("naive Python loop seconds (baseline)", f"{t_naive:.3f}")
    print_row("agreement_table seconds (best of 5)", f"{t_fast:.4f}   (goal: ≤ 1)")
    print_ratio("speed-up: naive time / vectorised time", t_naive, t_fast)
    print_row("identical counts and intervals", str(same))
    print_row("answers excluded as equal q", f"{int(table.n_q_ties.sum()):,}")

    start = time.perf_counter()
    agreement_table(
        **args, n_levels=N_LEVELS, worker=data["worker"], n_boot=1000, rng=np.random.default_rng(1)
    )
    t_boot = time.perf_counter() - start
    print_row("+ 1,000 bootstrap-over-workers resamples, seconds", f"{t_boot:.3f}")
    print_ratio("bootstrap table time / plain table time", t_boot, t_fast)

    print_header("Goals")
    print_row("200k answers in ≤ 1 s", "MET" if t_fast <= 1 and same else "NOT MET")


if __name__ == "__main__":
    main()
