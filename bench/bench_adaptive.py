"""Adaptive allocation against balanced random binned pairs: Kendall τ to the latent order vs answers.

Run from the repo root:  .venv/bin/python bench/bench_adaptive.py
Env: BENCH_ADAPTIVE_PARTICIPANTS (default 16 per study), BENCH_ADAPTIVE_TRIALS (default 100
per participant), BENCH_ADAPTIVE_SEEDS (default "1,...,10": one crowd and one study pair per
seed), BENCH_ADAPTIVE_PAIRS_PER_CELL (default 500: a plan of 2,000 pairs, 1.6× the 1,280
regular answers; 330 gives a plan the size of the answers), BENCH_ADAPTIVE_OUT (a JSON file
for the raw curves; BENCH_ADAPTIVE_FROM prints the report of such a file),
BENCH_ADAPTIVE_RANDOM_START (the study's ``adaptive_random_start``; default: the model's, 0.1),
BENCH_DATABASE_URL (default: temporary SQLite).

Per seed, two studies over the same sketches (two categories, two scorers, the same plan
settings), one ``balanced`` and one ``adaptive`` (target: the Bradley–Terry ranking; 10% random
start, 20% control slice: the defaults). The same simulated crowd of careful workers
(``analysis.crowd.simulate_crowd``, truth drawn uniformly per sketch, independent of every
scorer) goes through the real participant pages, so pairs are handed out by the real
``do_draw_trial_list`` and answers recorded by the real ``do_submit_answer``. Participants
arrive one after another; after each, the regular answers so far are fitted (Bradley–Terry,
``analysis.bradley_terry.fit``) and ranked against the latent truth of the sketches the plan
compares (mean Kendall τ over categories).

Baseline, measured in the same run: the balanced study's curve. For the balanced τ reached at
50%, 75% and 100% of the answers, the ratio is the answers the adaptive study needs to reach it
(linear interpolation between the participants around the crossing) ÷ the answers the balanced
study used (≤ 0.70 meets the issue's "≥ 30% fewer answers"); on the
curves averaged over seeds, and per seed (median, with a seed that does not reach it within the
budget counted as ∞, and in how many seeds it is ≤ 0.70).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.django_setup import setup_django  # noqa: E402

PARTICIPANTS = int(os.environ.get("BENCH_ADAPTIVE_PARTICIPANTS", "16"))
TRIALS = int(os.environ.get("BENCH_ADAPTIVE_TRIALS", "100"))
SEEDS = [int(s) for s in os.environ.get("BENCH_ADAPTIVE_SEEDS", "1,2,3,4,5,6,7,8,9,10").split(",")]
PAIRS_PER_CELL = int(os.environ.get("BENCH_ADAPTIVE_PAIRS_PER_CELL", "500"))
OUT = os.environ.get("BENCH_ADAPTIVE_OUT", "")  # a JSON file for the raw curves (optional)
RANDOM_START = os.environ.get("BENCH_ADAPTIVE_RANDOM_START", "")  # the study setting; empty: its default
FROM = os.environ.get("BENCH_ADAPTIVE_FROM", "")  # print the report of a saved JSON instead of running


def main() -> None:
    setup_django()
    import numpy as np
    import scipy.stats

    from analysis.bradley_terry import fit
    from analysis.crowd import latent_table, simulate_crowd
    from annotation.models import Answer
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
        """The sketches the plan compares (not the held-out sources of degradation gold)."""
        from studies.models import PlannedPair

        pairs = PlannedPair.objects.filter(study=study)
        return set(pairs.values_list("sketch_a_id", flat=True)) | set(
            pairs.values_list("sketch_b_id", flat=True)
        )

    if FROM:  # print the report of a saved run
        saved = json.loads(Path(FROM).read_text())
        SEEDS[:] = saved["seeds"]
        report(saved["curves"]["balanced"], saved["curves"]["adaptive"], np, saved["pairs_per_cell"])
        return
    config = dict(
        category_files=("pig", "face"), n=48, held_out=12, n_levels=2, level_edges=[0, 0.25, 1],
        pairs_per_cell=PAIRS_PER_CELL,
        trials_per_participant=TRIALS, practice_trials=2, sentinels_per_participant=TRIALS // 10,
        max_sentinel_mistakes=TRIALS // 10, duplicates_per_participant=TRIALS // 10,
        min_duplicate_distance=TRIALS // 10, break_every=TRIALS, target_participants=PARTICIPANTS,
        auto_gold_pairs=0, degradation_gold_pairs=20,
    )  # fmt: skip
    curves: dict[str, list] = {"balanced": [], "adaptive": []}
    for seed in SEEDS:
        for mode in curves:
            extra = {"adaptive_refit_every": max(TRIALS // 2, 1)} if mode == "adaptive" else {}
            if mode == "adaptive" and RANDOM_START:
                extra["adaptive_random_start"] = float(RANDOM_START)
            study = make_scored_study(
                f"bench-{mode}-{seed}", sampling_mode=mode, seed=seed, **config, **extra
            )
            study = do_launch_study(study)
            simulate_crowd(study, {"good": PARTICIPANTS}, seed=seed)
            latent = latent_table(study, seeds.rng(study.seed_scheme, "crowd_latent", seed))
            curves[mode].append(curve(study, latent))

    if OUT:
        Path(OUT).write_text(json.dumps({"seeds": SEEDS, "pairs_per_cell": PAIRS_PER_CELL, "curves": curves}))
    report(curves["balanced"], curves["adaptive"], np, PAIRS_PER_CELL)


def answers_to_reach(curve, goal):
    """The answers at which ``curve`` (points (answers, τ)) first reaches ``goal``, linearly
    interpolated between the two points around the crossing; None if it never does."""
    previous = None
    for n, t in curve:
        if t >= goal:
            if previous is None or previous[1] >= t:
                return float(n)
            n0, t0 = previous
            return n0 + (n - n0) * (goal - t0) / (t - t0)
        previous = (n, t)
    return None


def report(balanced_runs, adaptive_runs, np, pairs_per_cell: int) -> None:
    from bench.common import print_header, print_row

    n = min(len(r) for r in balanced_runs + adaptive_runs)
    answers = [balanced_runs[0][i][0] for i in range(n)]
    tau_b = np.array([[r[i][1] for i in range(n)] for r in balanced_runs])
    tau_a = np.array([[r[i][1] for i in range(n)] for r in adaptive_runs])
    print_header(
        f"adaptive vs balanced: Kendall τ to the latent order, {len(SEEDS)} seeds × {PARTICIPANTS} "
        f"participants, plan {pairs_per_cell} pairs per cell"
    )
    print_row("regular answers", "τ balanced mean ± sd | τ adaptive mean ± sd")
    for i, count in enumerate(answers):
        print_row(
            f"{count}",
            f"{tau_b[:, i].mean():.3f} ± {tau_b[:, i].std():.3f} | {tau_a[:, i].mean():.3f} ± {tau_a[:, i].std():.3f}",
        )
    mean_a = list(zip(answers, tau_a.mean(axis=0)))
    for share in (0.5, 0.75, 1.0):
        at = max(int(round(share * n)) - 1, 0)
        goal, used = tau_b[:, at].mean(), answers[at]
        reached = answers_to_reach(mean_a, goal)
        text = "not reached" if reached is None else f"{reached:.0f} ({reached / used:.2f})"
        per_seed = []
        for b_run, a_run in zip(tau_b, tau_a):
            got = answers_to_reach(list(zip(answers, a_run)), b_run[at])
            per_seed.append(np.inf if got is None else got / used)  # not within the budget: ∞
        per_seed = np.array(per_seed)
        seeds_text = (
            f"per seed median {np.median(per_seed):.2f}, ≤ 0.70 in {int(np.sum(per_seed <= 0.70))} of "
            f"{per_seed.size}, not within the budget in {int(np.sum(~np.isfinite(per_seed)))}"
        )
        print_row(
            f"balanced τ {goal:.3f} at {used} answers → adaptive answers (ratio)",
            f"{text}; {seeds_text}",
        )


if __name__ == "__main__":
    main()
