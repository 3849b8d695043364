"""A simulated crowd at a larger scale than the tests: screening, agreement curve, BT recovery, and speed.

Run from the repo root:  .venv/bin/python bench/bench_crowd.py
Env: BENCH_CROWD (default "24,12,2,2": good, spammers, left-biased, inconsistent),
BENCH_TRIALS (default 120 per participant), BENCH_DATABASE_URL (default: temporary SQLite).

The crowd goes through the real participant pages with Django's test client (consent,
practice, breaks, trials; stimuli recognised by their SVG). Baseline, measured in the same
run: one stimulus GET (the cheapest participant request). Ratio: wall time per simulated
trial (answer POST + two stimulus GETs + the simulator's own work) ÷ one stimulus GET.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.django_setup import setup_django  # noqa: E402

GOOD, SPAMMERS, LEFT, INCONSISTENT = (int(x) for x in os.environ.get("BENCH_CROWD", "24,12,2,2").split(","))
TRIALS = int(os.environ.get("BENCH_TRIALS", "120"))
SEED = 3


def main() -> None:
    setup_django()
    import numpy as np
    import scipy.stats

    from analysis.crowd import (
        DjangoClientTransport,
        latent_table,
        simulate_crowd,
    )
    from analysis.reports import build_report
    from annotation.models import Participant
    from bench.common import print_header, print_ratio, print_row
    from studies import seeds
    from studies.actions import do_launch_study
    from tests.factories import make_scored_study

    study = make_scored_study(
        "bench-crowd", n=60, sampling_mode="balanced", n_levels=5, pairs_per_cell=100, trials_per_participant=TRIALS,
        practice_trials=2, sentinels_per_participant=TRIALS // 6, max_sentinel_mistakes=TRIALS // 24,
        duplicates_per_participant=TRIALS // 6, min_duplicate_distance=TRIALS // 6, break_every=TRIALS // 2,
        target_participants=10_000, auto_gold_pairs=0, degradation_gold_pairs=TRIALS // 6,
    )  # fmt: skip
    study = do_launch_study(study)
    counts = {"good": GOOD, "spammer": SPAMMERS, "left_biased": LEFT, "inconsistent": INCONSISTENT}
    started = time.perf_counter()
    result = simulate_crowd(study, counts, seed=SEED)
    elapsed = time.perf_counter() - started
    answered = sum(o.answered for o in result.outcomes)

    # baseline: a stimulus GET by an admitted participant
    transport = DjangoClientTransport()
    transport.get(f"/p/{study.slug}/?pid=bench-baseline")
    transport.post(f"/p/{study.slug}/consent/", {"decision": "accept"}, htmx=True)
    trial = Participant.objects.get(panel_id="bench-baseline").trials.first()
    url = f"/p/{study.slug}/s/{trial.token}/left.svg"
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        transport.get(url)
        timings.append(time.perf_counter() - start)
    stimulus = statistics.median(timings)

    print_header(f"simulated crowd: {counts}, {TRIALS} trials each")
    print_row("answers sent (practice included)", f"{answered:,}")
    print_row("baseline: one stimulus GET (median)", f"{1000 * stimulus:.1f} ms")
    print_ratio("time per simulated trial ÷ stimulus GET", elapsed / answered, stimulus)
    analysable = set(Participant.objects.filter(study=study).analysable().values_list("panel_id", flat=True))
    for kind in counts:
        ids = [o.panel_id for o in result.outcomes if o.profile == kind]
        if ids:
            dropped = sum(p not in analysable for p in ids) / len(ids)
            print_row(f"screened out: {kind}", f"{100 * dropped:.0f}% of {len(ids)}")
    report = build_report(study, agreement_boot=200, bt_boot=50, correlation_boot=100)
    table = report.agreement.table
    rates = table.agree.sum(axis=(0, 1)) / np.maximum(table.n.sum(axis=(0, 1)), 1)
    print_row("agreement by level (pooled)", " ".join(f"{100 * r:.0f}%" for r in rates))
    latent = latent_table(study, seeds.rng(study.seed_scheme, "crowd_latent", SEED))
    for ranking in report.rankings:
        compared = [i for i in ranking.items if i["bt_rank"] is not None]
        tau = scipy.stats.kendalltau(
            [i["bt_score"] for i in compared], [latent[i["sketch_id"]] for i in compared]
        )
        print_row(
            f"BT vs latent, Kendall τ ({ranking.category.name}, {len(compared)} sketches)",
            f"{tau.statistic:.3f}",
        )
    print_row("Krippendorff α (all categories)", f"{report.reliability[0]['krippendorff_alpha']:.3f}")


if __name__ == "__main__":
    main()
