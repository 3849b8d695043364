"""The bot flags on a larger mixed crowd than the tests: careful people, agents answering like
the scorer, fast clickers, all through the real participant pages (``analysis.bot_crowd``).

Run from the repo root:  .venv/bin/python bench/bench_bots.py
Env: BENCH_BOTS (default "60,15,15": careful, scorer_bot, fast_clicker), BENCH_TRIALS (default 60),
BENCH_SEEDS (default "1,2": one crowd per seed), BENCH_DATABASE_URL (default: temporary SQLite).

Prints, per kind, the share flagged and by which flag. Goal (issue #16): ≥ 95% of agents and fast
clickers flagged, < 5% of careful people. A detection figure, not a timing: no speed ratio here.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.django_setup import setup_django  # noqa: E402

CAREFUL, BOTS, FAST = (int(x) for x in os.environ.get("BENCH_BOTS", "60,15,15").split(","))
TRIALS = int(os.environ.get("BENCH_TRIALS", "60"))
SEEDS = [int(s) for s in os.environ.get("BENCH_SEEDS", "1,2").split(",")]


def main() -> None:
    setup_django()
    from analysis.bot_crowd import KINDS, run_mix
    from bench.common import print_header, print_row
    from studies.actions import do_launch_study
    from tests.factories import make_scored_study

    totals = {kind: [0, 0] for kind in KINDS}
    codes: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
    started = time.perf_counter()
    for seed in SEEDS:
        study = make_scored_study(
            f"bench-bots-{seed}", n=60, sampling_mode="balanced", n_levels=10, pairs_per_cell=60,
            trials_per_participant=TRIALS, practice_trials=2, sentinels_per_participant=TRIALS // 10,
            max_sentinel_mistakes=max(2, TRIALS // 20), duplicates_per_participant=TRIALS // 10,
            min_duplicate_distance=8, min_duplicate_agreement=0.5, break_every=0, target_participants=10_000,
            auto_gold_pairs=0, degradation_gold_pairs=12, too_fast_ms=0, screening_rule="paper",
            sequential_screening=False, seed=seed, exclude_flagged=True,
        )  # fmt: skip
        study = do_launch_study(study)
        result = run_mix(study, {"careful": CAREFUL, "scorer_bot": BOTS, "fast_clicker": FAST}, seed=seed)
        for kind in KINDS:
            flagged, n = result.flagged_share(kind)
            totals[kind][0] += flagged
            totals[kind][1] += n
            for code, count in result.codes(kind).items():
                codes[kind][code] = codes[kind].get(code, 0) + count
    elapsed = time.perf_counter() - started
    print_header(
        f"bot flags: {CAREFUL} careful, {BOTS} agents, {FAST} fast clickers × {len(SEEDS)} crowds, {TRIALS} trials"
    )
    for kind in KINDS:
        flagged, n = totals[kind]
        detail = ", ".join(f"{code} {count}" for code, count in sorted(codes[kind].items())) or "none"
        print_row(f"{kind}: flagged", f"{flagged}/{n} = {100 * flagged / max(n, 1):.1f}%  ({detail})")
    caught = totals["scorer_bot"][0] + totals["fast_clicker"][0]
    bots = totals["scorer_bot"][1] + totals["fast_clicker"][1]
    print_row("agents and fast clickers flagged (goal ≥ 95%)", f"{100 * caught / max(bots, 1):.1f}%")
    careful_rate = totals["careful"][0] / max(totals["careful"][1], 1)
    print_row("careful people flagged (goal < 5%)", f"{100 * careful_rate:.1f}%")
    print_row("wall time", f"{elapsed:.0f} s")


if __name__ == "__main__":
    main()
