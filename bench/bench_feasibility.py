"""What the data allow, on the study page: feasible_sizes and Fit to data against a plan dry run.

Setup: 4 categories of the shared Quick, Draw! corpus (the in-repo sample if it is missing), every
tenth sketch in the validation split (the source of degradation gold) and the rest in the test split, 2 scorer rows whose q is a deterministic function of real sketch
features (NOT model scores). The study asks for the defaults (5,000 pairs per cell, 1,000 trials).

Ratios, each against a baseline measured in the same run:
* ``feasible_sizes`` (the figures the study form shows) against ``planning.compute_plan`` with a
  feasible size, the dry run the plan preview already does;
* ``propose_fit`` + ``check_proposal`` ("Fit to data": the figures, the proposal and its dry run)
  against the same baseline.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median_of, print_header, print_ratio, print_row  # noqa: E402
from bench.django_setup import setup_django  # noqa: E402

setup_django()

from django.conf import settings  # noqa: E402

from scoring.models import JobStatus, Scorer, SketchScore  # noqa: E402
from sketches.actions import do_import_path  # noqa: E402
from sketches.models import Category, Sketch  # noqa: E402
from studies import planning  # noqa: E402
from studies.feasibility import check_proposal, feasible_sizes, propose_fit  # noqa: E402
from studies.models import Study  # noqa: E402

CATEGORIES = ["pig", "face", "apple", "cactus"]


def main() -> None:
    folder = Path(settings.SKETCHQ_DATA_DIR)
    paths = [folder / f"{name}.ndjson" for name in CATEGORIES if (folder / f"{name}.ndjson").exists()]
    if not paths:
        paths = sorted((Path(settings.BASE_DIR) / "sketches/fixtures/quickdraw_sample").glob("*.ndjson"))[:4]
    for path in paths:
        do_import_path(path)
    Sketch.objects.update(split="test")
    held_out = list(Sketch.objects.order_by("pk").values_list("pk", flat=True)[::10])
    Sketch.objects.filter(pk__in=held_out).update(split="val")
    categories = list(Category.objects.all())
    sketches = list(Sketch.objects.values_list("pk", "point_count", "stroke_count"))
    scorers = []
    for k in range(2):
        scorer = Scorer.objects.create(
            name=f"bench-{k}", encoder="bench", status=JobStatus.DONE, checkpoint_sha256=f"{k:064x}"
        )
        scorer.categories.set(categories)
        SketchScore.objects.bulk_create(
            [
                SketchScore(sketch_id=pk, scorer=scorer, q=p + 3 * k * s, cos_theta_y=0.5, correct=True)
                for pk, p, s in sketches
            ],
            batch_size=5000,
        )
        scorers.append(scorer)
    study = Study.objects.create(name="bench", slug="bench-feasibility", completion_code="BENCH")
    study.categories.set(categories)
    study.scorers.set(scorers)
    sizes = feasible_sizes(study)
    feasible = sizes["max_pairs_per_cell"]["balanced"]
    print_header(
        f"feasible sizes: {len(categories)} categories × {len(scorers)} methods, {len(sketches):,} sketches, "
        f"max {feasible} balanced pairs per cell (asked 5,000)"
    )
    dry = Study.objects.get(pk=study.pk)
    dry.pairs_per_cell = feasible
    baseline = median_of(lambda: planning.compute_plan(dry), repeat=3)
    figures = median_of(lambda: feasible_sizes(study), repeat=3)

    def fit():
        values, _ = propose_fit(study)
        problems = check_proposal(study, values)
        assert problems == [], problems

    fitting = median_of(fit, repeat=3)
    print_row("baseline, compute_plan (dry run): seconds", f"{baseline:.3f}")
    print_row("feasible_sizes: seconds", f"{figures:.3f}")
    print_row("propose_fit + check_proposal: seconds", f"{fitting:.3f}")
    print_ratio("feasible_sizes / dry run", figures, baseline)
    print_ratio("Fit to data / dry run", fitting, baseline)


if __name__ == "__main__":
    main()
