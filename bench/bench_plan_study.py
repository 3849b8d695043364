"""Freezing a 200,000-pair plan through the database, and drawing 1,000-trial lists.

Setup: 8 categories of the shared Quick, Draw! corpus (the in-repo sample if it is
missing), all sketches in the test split, and 5 scorer rows whose q is a deterministic
function of real sketch features (point and stroke counts): NOT model scores, only
realistic skewed and tied values, so no training runs here.

Ratios, each against a baseline measured in the same run:
* do_freeze_plan (score loading, 40 × plan_pairs, 200,000 INSERTs, gold pairs) against
  the pure numpy sampling of the same 40 cells alone: the cost of the DB path;
* do_draw_trial_list for a 1,000-trial list (hand-out with its conditional updates or
  row locks) against reading 1,000 planned pairs with one SELECT.

``BENCH_DATABASE_URL=postgres://.../throwaway`` measures PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402
from bench.django_setup import setup_django  # noqa: E402

setup_django()

import time  # noqa: E402

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from scoring.models import JobStatus, Scorer, SketchScore  # noqa: E402
from sketches.actions import do_import_path  # noqa: E402
from sketches.models import Category, Sketch  # noqa: E402
from studies import checks, sampling  # noqa: E402
from studies.actions import do_draw_trial_list, do_freeze_plan  # noqa: E402
from studies.models import PlannedPair, Study  # noqa: E402

CATEGORIES = ["pig", "face", "airplane", "radio", "apple", "cactus", "ambulance", "butterfly"]
N_SCORERS = 5
PAIRS_PER_CELL = int(os.environ.get("BENCH_PLAN_PAIRS", "5000"))  # 8 × 5 × 5,000 = 200,000 pairs


def load_corpus() -> list[Category]:
    folder = Path(settings.SKETCHQ_DATA_DIR)
    paths = [folder / f"{name}.ndjson" for name in CATEGORIES if (folder / f"{name}.ndjson").exists()]
    if not paths:
        paths = sorted((Path(settings.BASE_DIR) / "sketches/fixtures/quickdraw_sample").glob("*.ndjson"))
    for path in paths:
        do_import_path(path)
    Sketch.objects.update(split="test")
    return list(Category.objects.all())


def make_scorers(categories: list[Category]) -> list[Scorer]:
    sketches = list(Sketch.objects.values_list("pk", "point_count", "stroke_count"))
    scorers = []
    for k in range(N_SCORERS):
        scorer = Scorer.objects.create(
            name=f"bench-{k}", encoder="bench", status=JobStatus.DONE, checkpoint_sha256=f"{k:064x}"
        )
        scorer.categories.set(categories)
        SketchScore.objects.bulk_create(
            [
                SketchScore(
                    sketch_id=pk, scorer=scorer, q=points + k * strokes, cos_theta_y=0.5, correct=True
                )
                for pk, points, strokes in sketches
            ],
            batch_size=5000,
        )
        scorers.append(scorer)
    return scorers


def pure_sampling(study: Study) -> None:
    edges, _ = checks.study_edges(study)
    for category in study.categories.all():
        ids = list(Sketch.objects.filter(category=category).order_by("pk").values_list("pk", flat=True))
        for scorer in study.scorers.all():
            q = dict(
                SketchScore.objects.filter(scorer=scorer, sketch__category=category).values_list(
                    "sketch_id", "q"
                )
            )
            sampling.plan_pairs(
                np.array([q[i] for i in ids]),
                study.pairs_per_cell,
                edges,
                study.sampling_mode,
                study.rng("plan_cell", category.pk, scorer.pk),
            )


def main() -> None:
    categories = load_corpus()
    scorers = make_scorers(categories)
    n_sketches = Sketch.objects.count()
    per_category = n_sketches // len(categories)
    study = Study.objects.create(
        name="bench",
        slug="bench",
        pairs_per_cell=PAIRS_PER_CELL,
        sampling_mode="natural",
        trials_per_participant=1000,
        completion_code="BENCH",
        # The pairs are what is timed; every sketch here is in the test split, so no degradation
        # gold (it needs held-out sketches), and so no gold-fed sentinels or practice either.
        degradation_gold_pairs=0,
        sentinels_per_participant=0,
        practice_trials=0,
    )
    study.categories.set(categories)
    study.scorers.set(scorers)
    total = PAIRS_PER_CELL * len(categories) * len(scorers)
    print_header(
        f"do_freeze_plan: {total:,} pairs, {len(categories)} categories × {len(scorers)} scorers, "
        f"~{per_category} sketches each ({connection.vendor})"
    )
    baseline = best_of(lambda: pure_sampling(study), repeat=1)
    start = time.perf_counter()
    do_freeze_plan(study)
    frozen = time.perf_counter() - start
    assert PlannedPair.objects.filter(study=study).count() == total
    print_row("pure sampling of the same cells: seconds", f"{baseline:.3f}")
    print_row("do_freeze_plan: seconds", f"{frozen:.3f}")
    print_row("do_freeze_plan: pairs/s", f"{total / frozen:,.0f}")
    print_ratio("freeze / pure sampling", frozen, baseline)

    print_header("do_draw_trial_list: 1,000 trials (920 regular, 40 sentinels, 40 duplicates)")
    read = best_of(lambda: list(PlannedPair.objects.filter(study=study).order_by("order")[:1000]), repeat=3)
    timings = []
    for index in range(5):
        start = time.perf_counter()
        with transaction.atomic():
            do_draw_trial_list(study, index)
        timings.append(time.perf_counter() - start)
    drawn = float(np.median(timings))
    print_row("baseline, SELECT 1,000 planned pairs: seconds", f"{read:.4f}")
    print_row("do_draw_trial_list, median of 5: seconds", f"{drawn:.4f}")
    print_ratio("do_draw_trial_list / one SELECT", drawn, read)


if __name__ == "__main__":
    main()
