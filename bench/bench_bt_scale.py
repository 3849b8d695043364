"""Bradley–Terry at scale: 10⁶ comparisons over 10⁴ sketches, fit + 100 bootstrap replicates.

Run from the repo root:  .venv/bin/python bench/bench_bt_scale.py
Goal (issue 12): aggregate the comparisons into win counts per pair, fit, and refit 100
Poisson-bootstrap replicates of the counts in ≤ 10 s on 2 cores, measured against
``choix.ilsr_pairwise`` in the same run.

Two designs, both with 10⁶ comparisons over 10⁴ sketches:

- *study*: what the platform produces — 50,000 planned pairs, each answered by 20 workers
  (so the counts per pair are the sufficient statistics: 50,000 rows instead of 10⁶);
- *distinct*: the worst case for aggregation — every comparison is a random pair (~10⁶ pairs).

choix's I-LSR builds a dense n × n Markov chain and LU-factorises it at every iteration,
so at 10⁴ items a full fit takes many minutes; the baseline is the time of **one** I-LSR
iteration (``max_iter=1``), a lower bound of one choix fit (and of 1/100 of a choix bootstrap).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import choix  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import expit  # noqa: E402

from analysis.bt_inference import infer_counts  # noqa: E402
from analysis.bt_resample import PairCounts  # noqa: E402
from bench.common import print_header, print_ratio, print_row  # noqa: E402

N_ITEMS = 10_000
N_COMP = 1_000_000
N_BOOT = 100
WORKERS = 2
SEED = 12


def design(rng: np.random.Generator, name: str):
    theta = rng.normal(size=N_ITEMS)
    if name == "study":
        pairs = 50_000
        i = rng.integers(0, N_ITEMS, pairs)
        j = (i + rng.integers(1, N_ITEMS, pairs)) % N_ITEMS
        i, j = np.repeat(i, N_COMP // pairs), np.repeat(j, N_COMP // pairs)
    else:
        i = rng.integers(0, N_ITEMS, N_COMP)
        j = (i + rng.integers(1, N_ITEMS, N_COMP)) % N_ITEMS
    i_wins = rng.random(i.size) < expit(theta[i] - theta[j])
    return theta, np.where(i_wins, i, j), np.where(i_wins, j, i)


def run(name: str, rng: np.random.Generator) -> tuple[float, tuple]:
    theta, w, l_ = design(rng, name)
    alpha = 0.1 / N_ITEMS
    cpu = time.process_time()
    start = time.perf_counter()
    pc = PairCounts.from_comparisons(N_ITEMS, w, l_)
    t_agg = time.perf_counter() - start
    start = time.perf_counter()
    res = infer_counts(pc, alpha, n_boot=N_BOOT, rng=rng, workers=WORKERS)
    t_all = time.perf_counter() - start
    cpu = time.process_time() - cpu
    truth = theta - theta.mean()
    ok = res.reported
    cover = float(np.mean(((res.lo <= truth) & (truth <= res.hi))[ok]))
    print_header(f"{name}: {N_COMP:,} comparisons, {N_ITEMS:,} sketches, {pc.a.size:,} distinct pairs")
    print_row("aggregate into counts per pair, seconds", f"{t_agg:.2f}")
    print_row(f"fit + {N_BOOT} bootstrap refits + intervals, seconds", f"{t_all:.2f}")
    print_row("total seconds", f"{t_agg + t_all:.2f}   (goal: ≤ 10)")
    print_row("CPU seconds of this process (all threads)", f"{cpu:.2f}")
    print_row("load average (1 min) after", f"{os.getloadavg()[0]:.2f}")
    print_row("Newton steps (max) / Newton fallbacks", f"{res.boot_info['max_newton_steps']} / "
              f"{res.boot_info['n_newton_fallback']}")  # fmt: skip
    print_row("sketches with a point score", f"{int(ok.sum()):,} of {N_ITEMS:,}")
    print_row("coverage of the planted θ by the 95% intervals", f"{cover:.3f}")
    return t_agg + t_all, (w, l_, alpha)


def main() -> None:
    rng = np.random.default_rng(SEED)
    print(f"threads for the bootstrap: {WORKERS}; CPUs visible: {os.cpu_count()}")
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}")
    t_study, (w, l_, alpha) = run("study", rng)
    t_distinct, _ = run("distinct", rng)

    print_header("baseline: choix.ilsr_pairwise, one I-LSR iteration on the study design")
    data = np.column_stack([w, l_]).tolist()
    start = time.perf_counter()
    with contextlib.suppress(RuntimeError):  # "did not converge after 1 iterations": expected
        choix.ilsr_pairwise(N_ITEMS, data, alpha=alpha, max_iter=1)
    t_choix = time.perf_counter() - start
    print_row("load average (1 min) after choix", f"{os.getloadavg()[0]:.2f}")
    print_row("one choix I-LSR iteration, seconds (lower bound of one fit)", f"{t_choix:.2f}")
    print_ratio("study: (fit + 100 bootstraps) / one choix iteration", t_study, t_choix, goal="< 1")
    print_ratio("distinct: (fit + 100 bootstraps) / one choix iteration", t_distinct, t_choix, goal="< 1")
    print_row(
        "choix for fit + 100 bootstrap fits would take ≥", f"{101 * t_choix:.0f} s (101 × one iteration)"
    )

    print_header("Goals")
    print_row("study design ≤ 10 s", "MET" if t_study <= 10 else "NOT MET")
    print_row("distinct-pairs design ≤ 10 s", "MET" if t_distinct <= 10 else "NOT MET")


if __name__ == "__main__":
    main()
