"""Adaptive allocation against balanced random binned pairs: Kendall τ to the latent order vs answers.

Run from the repo root:  .venv/bin/python bench/bench_adaptive.py
Env: BENCH_ADAPTIVE_PARTICIPANTS (default 16 per study), BENCH_ADAPTIVE_TRIALS (default 100
per participant), BENCH_ADAPTIVE_SEEDS (default "3,4": crowds averaged),
BENCH_DATABASE_URL (default: temporary SQLite).

Two studies over the same sketches (two categories, two scorers), one ``balanced`` and one
``adaptive`` (target: the Bradley–Terry ranking; 20% random start, 20% control slice). The
same simulated crowd of careful workers (``analysis.crowd.simulate_crowd``, truth drawn
uniformly per sketch, independent of every scorer) goes through the real participant pages,
so pairs are handed out by the real ``do_draw_trial_list`` and answers recorded by the real
``do_submit_answer``. Participants arrive one after another; after each, the regular answers
so far are fitted (Bradley–Terry, ``analysis.bradley_terry.fit``) and ranked against the
latent truth. Baseline, measured in the same run: the balanced study's curve. Ratio: answers
the adaptive study needs to reach the balanced study's final τ ÷ the answers the balanced
study used (< 0.70 meets the issue's "≥ 30% fewer answers").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.django_setup import setup_django  # noqa: E402

PARTICIPANTS = int(os.environ.get("BENCH_ADAPTIVE_PARTICIPANTS", "16"))
TRIALS = int(os.environ.get("BENCH_ADAPTIVE_TRIALS", "100"))
SEEDS = [int(s) for s in os.environ.get("BENCH_ADAPTIVE_SEEDS", "3,4").split(",")]


def main() -> None:
    setup_django()
    import numpy as np
    import scipy.stats

    from analysis.bradley_terry import fit
    from analysis.crowd import latent_table, simulate_crowd
    from annotation.models import Answer
    from bench.common import print_header, print_row
    from studies import seeds
    from studies.actions import do_launch_study
    from tests.factories import make_scored_study

    def curve(study, latent):
        rows = list(
            Answer.objects.filter(
                trial__participant__study=study, trial__kind="regular", trial__is_practice=False
            )
            .exclude(choice="none")
            .order_by("trial__participant__index", "pk")
            .values_list(
                "trial__participant__index",
                "chosen_sketch_id",
                "trial__planned_pair__sketch_a_id",
                "trial__planned_pair__sketch_b_id",
            )
        )
        sketch_ids = sorted(study_sketches(study))
        index = {pk: i for i, pk in enumerate(sketch_ids)}
        truth = np.array([latent[pk] for pk in sketch_ids])
        groups = np.array(category_of(sketch_ids))
        points = []
        participants = sorted({r[0] for r in rows})
        for last in participants:
            upto = [r for r in rows if r[0] <= last]
            winners = [index[c] for _, c, a, b in upto]
            losers = [index[b if c == a else a] for _, c, a, b in upto]
            theta = fit(len(sketch_ids), winners, losers, alpha=0.01 / len(sketch_ids)).scores
            taus = [
                scipy.stats.kendalltau(theta[groups == g], truth[groups == g]).statistic for g in set(groups)
            ]
            points.append((len(upto), float(np.mean(taus))))
        return points

    def category_of(sketch_ids):
        from sketches.models import Sketch

        category = dict(Sketch.objects.filter(pk__in=sketch_ids).values_list("pk", "category_id"))
        return [category[pk] for pk in sketch_ids]

    def study_sketches(study):
        from sketches.models import Sketch

        return (
            Sketch.objects.originals()
            .filter(category__in=study.categories.all())
            .values_list("pk", flat=True)
        )

    config = dict(
        category_files=("pig", "face"), n=48, held_out=12, n_levels=2, level_edges=[0, 0.25, 1],
        pairs_per_cell=PARTICIPANTS * (TRIALS - 2 * (TRIALS // 10)) // 4 + 10,
        trials_per_participant=TRIALS, practice_trials=2, sentinels_per_participant=TRIALS // 10,
        max_sentinel_mistakes=TRIALS // 10, duplicates_per_participant=TRIALS // 10,
        min_duplicate_distance=TRIALS // 10, break_every=TRIALS, target_participants=10_000,
        auto_gold_pairs=0, degradation_gold_pairs=20,
    )  # fmt: skip
    curves: dict[str, list] = {"balanced": [], "adaptive": []}
    for seed in SEEDS:
        for mode in curves:
            extra = {"adaptive_refit_every": max(TRIALS // 2, 1)} if mode == "adaptive" else {}
            study = make_scored_study(
                f"bench-{mode}-{seed}", sampling_mode=mode, seed=seed, **config, **extra
            )
            study = do_launch_study(study)
            simulate_crowd(study, {"good": PARTICIPANTS}, seed=seed)
            latent = latent_table(study, seeds.rng(study.seed_scheme, "crowd_latent", seed))
            curves[mode].append(curve(study, latent))

    def mean_curve(runs):
        n = min(len(r) for r in runs)
        return [(np.mean([r[i][0] for r in runs]), np.mean([r[i][1] for r in runs])) for i in range(n)]

    balanced, adapted = mean_curve(curves["balanced"]), mean_curve(curves["adaptive"])
    print_header(
        f"adaptive vs balanced: Kendall τ to the latent order, {len(SEEDS)} crowds of {PARTICIPANTS}"
    )
    print_row("answers (balanced / adaptive)", "τ balanced | τ adaptive")
    for (na, ta), (nb, tb) in zip(balanced, adapted):
        print_row(f"{na:.0f} / {nb:.0f}", f"{ta:.3f} | {tb:.3f}")
    target_answers, target_tau = balanced[-1]
    reached = next((n for n, t in adapted if t >= target_tau), None)
    if reached is None:
        print_row(
            "adaptive reaches the balanced final τ", f"no (final {adapted[-1][1]:.3f} < {target_tau:.3f})"
        )
    else:
        print_row(
            f"answers to reach τ = {target_tau:.3f} (balanced: {target_answers:.0f})",
            f"adaptive: {reached:.0f}",
        )
        print_row("ratio adaptive ÷ balanced answers (goal ≤ 0.70)", f"{reached / target_answers:.2f}")
    # the same τ levels, interpolated on the balanced curve
    for goal in (0.6, 0.7, 0.8):
        nb = next((n for n, t in balanced if t >= goal), None)
        na = next((n for n, t in adapted if t >= goal), None)
        if nb and na:
            print_row(f"answers to τ ≥ {goal} (balanced → adaptive)", f"{nb:.0f} → {na:.0f} ({na / nb:.2f})")


if __name__ == "__main__":
    main()
