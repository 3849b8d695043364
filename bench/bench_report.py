"""A study's report at scale: reading the answers, computing every table, writing every file.

Run from the repo root:  .venv/bin/python bench/bench_report.py
Env: BENCH_ANSWERS (default 40000; the paper analysed 160000), BENCH_DATABASE_URL (default: a
temporary SQLite file; point it at a PostgreSQL database you may drop to measure that).

Builds a launched study over the in-repo sample (5 categories × 60 sketches, 5 scorers with
feature-based stand-in q, natural plan), then bulk-inserts participants, regular trials and
answers (a Bradley–Terry responder on the point count) — bench data, not the participant
flow. Baseline, measured in the same run: fetching two columns of every answer
(``values_list("id", "choice")``). Ratios:

- ``study_answers`` (27 columns over 4 joins, one query) ÷ baseline
- ``build_report`` (agreement + 1000-replicate worker bootstrap, BT per category with 200
  bootstrap refits, τ/ρ with 200 replicates, QA, reliability) ÷ baseline
- writing every file (HTML, JSON, CSV, figures in SVG/PNG/PDF) ÷ baseline
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.django_setup import setup_django  # noqa: E402

ANSWERS = int(os.environ.get("BENCH_ANSWERS", "40000"))
PER_PARTICIPANT = 1000
CATEGORIES = ("pig", "face", "apple", "cactus", "ambulance")
SCORERS = (("gacl-cos", "cos", 0.0), ("gacl-add", "add", 1.0), ("gacl-mul", "mul", 2.0),
           ("gacl-sca", "sca", 3.0), ("softmax", "softmax", 6.0))  # fmt: skip


def build_study():
    import numpy as np

    from annotation.models import Answer, Participant, ParticipantStatus, Trial, TrialKind
    from sketches.models import Split
    from studies.actions import do_launch_study
    from studies.models import PlannedPair
    from tests.factories import make_scorer, make_scores, make_sketches, make_study

    categories, sketches = [], []
    for name in CATEGORIES:
        made = make_sketches(name, 60, split=Split.TEST)
        sketches += made
        categories.append(made[0].category)
    scorers = []
    for name, variant, weight in SCORERS:
        scorer = make_scorer(name, categories, variant=variant, soft_binning=variant != "softmax")
        make_scores(scorer, sketches, stroke_weight=weight)
        scorers.append(scorer)
    study = make_study(
        "bench-report", categories=categories, scorers=scorers, sampling_mode="natural", n_levels=10,
        pairs_per_cell=400, trials_per_participant=PER_PARTICIPANT, sentinels_per_participant=0,
        duplicates_per_participant=0, practice_trials=0, auto_gold_pairs=0, degradation_gold_pairs=0,
        target_participants=100_000,
    )  # fmt: skip
    study = do_launch_study(study)
    pairs = list(PlannedPair.objects.filter(study=study).values_list("pk", "sketch_a_id", "sketch_b_id"))
    points = {s.pk: s.point_count for s in sketches}
    rng = np.random.default_rng(1)
    n_participants = -(-ANSWERS // PER_PARTICIPANT)
    for index in range(n_participants):
        participant = Participant.objects.create(
            study=study, panel_id=f"bench-{index}", index=index, status=ParticipantStatus.COMPLETED,
            qualified=True, n_trials=PER_PARTICIPANT, current_position=PER_PARTICIPANT,
        )  # fmt: skip
        count = min(PER_PARTICIPANT, ANSWERS - index * PER_PARTICIPANT)
        chosen = rng.choice(len(pairs), count, replace=count > len(pairs))
        trials = []
        for position, k in enumerate(chosen):
            pk, a, b = pairs[k]
            left, right = (a, b) if rng.random() < 0.5 else (b, a)
            trials.append(Trial(participant=participant, position=position, kind=TrialKind.REGULAR,
                                token=secrets.token_urlsafe(12), left_sketch_id=left, right_sketch_id=right,
                                planned_pair_id=pk))  # fmt: skip
        trials = Trial.objects.bulk_create(trials, batch_size=2000)
        answers = []
        for trial in trials:
            gap = (points[trial.left_sketch_id] - points[trial.right_sketch_id]) / 100.0
            left_wins = rng.random() < 1 / (1 + np.exp(-gap))
            answers.append(Answer(trial=trial, choice="left" if left_wins else "right",
                                  chosen_sketch_id=trial.left_sketch_id if left_wins else trial.right_sketch_id,
                                  server_response_ms=int(rng.integers(200, 3000)),
                                  client_response_ms=int(rng.integers(200, 3000))))  # fmt: skip
        Answer.objects.bulk_create(answers, batch_size=2000)
    return study


def main() -> None:
    setup_django()
    import tempfile

    from analysis import selectors
    from analysis.exports import write_report
    from analysis.reports import build_report
    from annotation.models import Answer
    from bench.common import best_of, print_header, print_ratio, print_row

    started = time.perf_counter()
    study = build_study()
    print_header(f"report of a study with {ANSWERS:,} answers")
    print_row("setup (bulk insert, not timed below)", f"{time.perf_counter() - started:.1f} s")

    def baseline():
        return list(Answer.objects.filter(trial__participant__study=study).values_list("id", "choice"))

    base = best_of(baseline, repeat=3)
    read = best_of(lambda: selectors.study_answers(study), repeat=3)
    start = time.perf_counter()
    report = build_report(study)
    build = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_report(report, Path(folder) / "out")
        write = time.perf_counter() - start
    print_row("baseline: fetch (id, choice) of every answer", f"{base:.3f} s")
    print_ratio("study_answers ÷ baseline", read, base)
    print_ratio("build_report ÷ baseline", build, base)
    print_ratio("write every file ÷ baseline", write, base)
    print_row("build_report, absolute (for reference only)", f"{build:.1f} s")
    print_row("write every file, absolute (for reference only)", f"{write:.1f} s")
    print_row("analysed answers", f"{report.meta['counts']['analysed_answers']:,}")
    for row in report.agreement.by_method:
        print_row(f"agreement {row['method']}", f"{100 * row['rate']:.2f}%")
    taus = [c["tau"] for c in report.tables()["rank_correlations"] if c.get("tau") is not None]
    print_row("Kendall τ (BT vs q), median over category × method", f"{sorted(taus)[len(taus) // 2]:.3f}")


if __name__ == "__main__":
    main()
