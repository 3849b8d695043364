"""Bradley–Terry: choix.ilsr_pairwise vs analysis.bradley_terry.fit_fast, and the bootstrap.

Run from the repo root:  .venv/bin/python bench/bench_bradley_terry.py
Goals: fit_fast ≥ 30× faster than choix.ilsr_pairwise on 200k comparisons over 4k items,
max |diff| ≤ 1e-4 after centring (same alpha, same objective); 200 bootstrap resamples
of 160k comparisons in ≤ 120 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from analysis import bradley_terry as bt  # noqa: E402
from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402

N_ITEMS = 4_000
N_COMP = 200_000
N_BOOT_COMP = 160_000
N_BOOT = 200
ALPHA = 1e-4  # pseudo-rate alpha·(n−1) ≈ 0.4 per item vs ≈ 50 from data: weak
SEED = 20240


def simulate(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    theta = rng.normal(size=N_ITEMS)
    i = rng.integers(0, N_ITEMS, N_COMP)
    j = (i + rng.integers(1, N_ITEMS, N_COMP)) % N_ITEMS
    i_wins = rng.random(N_COMP) < 1.0 / (1.0 + np.exp(-(theta[i] - theta[j])))
    return theta, np.where(i_wins, i, j), np.where(i_wins, j, i)


def main() -> None:
    rng = np.random.default_rng(SEED)
    theta, w, l_ = simulate(rng)

    print_header(f"Bradley–Terry fit: {N_COMP:,} comparisons over {N_ITEMS:,} items, alpha={ALPHA}")
    start = time.perf_counter()
    ref = bt.fit_choix(N_ITEMS, w, l_, ALPHA)  # choix defaults: tol=1e-8, max_iter=100
    t_choix = time.perf_counter() - start
    fast = bt.fit_fast(N_ITEMS, w, l_, ALPHA)
    t_fast = best_of(lambda: bt.fit_fast(N_ITEMS, w, l_, ALPHA), repeat=3)
    diff = float(np.abs((ref - ref.mean()) - (fast - fast.mean())).max())
    f_ref = bt.neg_objective(N_ITEMS, w, l_, ALPHA, ref)
    f_fast = bt.neg_objective(N_ITEMS, w, l_, ALPHA, fast)
    print_row("choix.ilsr_pairwise (baseline) seconds", f"{t_choix:.2f}")
    print_row("fit_fast seconds (best of 3)", f"{t_fast:.3f}")
    print_ratio("speed-up: choix time / fit_fast time", t_choix, t_fast, goal="≥ 30")
    print_row("max |choix − fit_fast| after centring", f"{diff:.2e}   (goal: ≤ 1e-4)")
    print_row("−F(choix) − (−F(fit_fast))  (≥ 0: fast is at the optimum)", f"{f_ref - f_fast:.3e}")
    speed_ok = t_choix / t_fast >= 30
    diff_ok = diff <= 1e-4

    print_header(f"Bootstrap: {N_BOOT} resamples of {N_BOOT_COMP:,} comparisons")
    wb, lb = w[:N_BOOT_COMP], l_[:N_BOOT_COMP]
    t_one = best_of(lambda: bt.fit_fast(N_ITEMS, wb, lb, ALPHA), repeat=3)
    start = time.perf_counter()
    lo, hi = bt.bootstrap(N_ITEMS, wb, lb, ALPHA, N_BOOT, np.random.default_rng(SEED + 1))
    t_boot = time.perf_counter() - start
    centred = theta - theta.mean()
    print_row("one full fit_fast seconds (baseline)", f"{t_one:.3f}")
    print_row("bootstrap seconds", f"{t_boot:.1f}   (goal: ≤ 120)")
    print_ratio("bootstrap time / one full fit", t_boot, t_one, goal=f"< {N_BOOT} thanks to warm starts")
    print_row(
        "coverage of the planted θ by the 95% intervals", f"{np.mean((lo <= centred) & (centred <= hi)):.3f}"
    )
    boot_ok = t_boot <= 120

    print_header("Goals")
    print_row("fit_fast ≥ 30× faster than choix", "MET" if speed_ok else "NOT MET")
    print_row("max |diff| ≤ 1e-4", "MET" if diff_ok else "NOT MET")
    print_row("200 bootstrap resamples ≤ 2 min", "MET" if boot_ok else "NOT MET")


if __name__ == "__main__":
    main()
