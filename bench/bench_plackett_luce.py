"""Plackett–Luce top-1: choix.opt_top1 (baseline) vs analysis.plackett_luce.fit, same data, same alpha.

Run from the repo root:  .venv/bin/python bench/bench_plackett_luce.py
A best-of-K category: 150 sketches, 4,000 choices among 3 (choix needs minutes beyond that). Reports the speed-up and the
largest difference of the centred scores (same objective: alpha·||θ||², choix's convention).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import choix  # noqa: E402
import numpy as np  # noqa: E402

from analysis import plackett_luce as pl  # noqa: E402
from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402

N_ITEMS, N_CHOICES, K, ALPHA, SEED = 150, 4_000, 3, 0.01, 20261128


def simulate(rng):
    theta = rng.normal(size=N_ITEMS)
    offered = np.argsort(rng.random((N_CHOICES, N_ITEMS)), axis=1)[:, :K]
    p = np.exp(theta[offered])
    p /= p.sum(axis=1, keepdims=True)
    cols = (rng.random(N_CHOICES)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return offered, offered[np.arange(N_CHOICES), cols]


def main() -> None:
    offered, winners = simulate(np.random.default_rng(SEED))
    data = [(int(w), tuple(int(x) for x in row if x != w)) for row, w in zip(offered, winners)]
    choices = pl.as_choices(offered, winners)
    print_header(f"Plackett–Luce top-1: {N_CHOICES:,} choices of {K} over {N_ITEMS} items, alpha={ALPHA}")
    start = time.perf_counter()
    ref = choix.opt_top1(N_ITEMS, data, alpha=ALPHA, tol=1e-8)
    t_choix = time.perf_counter() - start
    ours = pl.fit(N_ITEMS, choices, ALPHA)
    t_ours = best_of(lambda: pl.fit(N_ITEMS, choices, ALPHA), repeat=3)
    diff = float(np.abs((ref - ref.mean()) - ours).max())
    print_row("choix.opt_top1 (baseline) seconds", f"{t_choix:.2f}")
    print_row("plackett_luce.fit seconds (best of 3)", f"{t_ours:.3f}")
    print_ratio("speed-up: choix time / ours", t_choix, t_ours, goal="≥ 5")
    valid = offered >= 0
    f_ref = pl._objective(ref - ref.mean(), offered, valid, choices.chosen, np.ones(N_CHOICES), ALPHA)[0]
    f_ours = pl._objective(ours, offered, valid, choices.chosen, np.ones(N_CHOICES), ALPHA)[0]
    print_row("max |choix − ours| after centring", f"{diff:.2e}   (goal: ≤ 1e-3)")
    print_row(
        "objective(choix) − objective(ours)  (≥ 0: ours is at least as optimal)", f"{f_ref - f_ours:.3e}"
    )
    sys.exit(0 if diff <= 1e-3 or f_ref >= f_ours else 1)


if __name__ == "__main__":
    main()
