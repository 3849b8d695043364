"""Scoring pipeline throughput (the Celery task path) against the raw model forward pass.

The pipeline is what a worker does, run in-process (Celery eager): a scoring run
over real sketches, one ``score_batch`` task per batch = read strokes from the
database → preprocess (stroke-5) → infer → upsert ``SketchScore`` → recount the
run. Baselines measured in the same run on the same sketches and batch size:

  * raw forward: ``model(x, lengths)`` under ``torch.inference_mode()`` on tensors
    encoded beforehand (the ceiling: nothing but the network);
  * handler: preprocess + infer + postprocess from stored strokes, no database.

    .venv/bin/python bench/bench_scoring_pipeline.py [--per-category 1000] [--batch 512] [--threads 2]

Weights are random (throughput does not depend on them). Database: a temp SQLite
file, or BENCH_DATABASE_URL (e.g. a PostgreSQL database you may drop).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="sketchq-bench-media-"))

from bench.django_setup import setup_django  # noqa: E402

setup_django()

import torch  # noqa: E402
from django.db import connection  # noqa: E402

from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402
from scoring import checkpoints  # noqa: E402
from scoring.encoding import encode_stored  # noqa: E402
from scoring.models import JobStatus, Scorer, SketchScore  # noqa: E402
from scoring.runs import do_refresh_run_progress, do_start_scoring_run, preprocess  # noqa: E402
from scoring.training import TrainConfig, TrainResult, build_model, save_checkpoint  # noqa: E402
from sketches.actions import do_import_path  # noqa: E402
from sketches.models import Category, Sketch  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "quickdraw"
CATEGORIES = ["face", "pig"]


def make_scorer(class_names: list[str]) -> Scorer:
    config = TrainConfig(class_names=class_names)
    model = build_model(config, len(class_names)).eval()
    data = save_checkpoint(TrainResult(model, config, class_names, None, None, [], 0.0, "cpu"))
    scorer = Scorer(name="bench-random-weights", encoder=config.encoder, status=JobStatus.DONE, device="cpu")
    checkpoints.do_store_checkpoint(scorer, data)
    scorer.save()
    scorer.categories.set(Category.objects.filter(slug__in=class_names))
    return scorer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-category", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=512, help="sketches per task and per forward pass")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    for name in CATEGORIES:
        do_import_path(args.data / f"{name}.ndjson", limit=args.per_category)
    scorer = make_scorer(CATEGORIES)
    rows = list(Sketch.objects.order_by("pk").values_list("pk", "category__slug", "strokes"))
    n = len(rows)
    handler = checkpoints.load_handler(scorer, "cpu")
    labels = [handler.class_names.index(slug) for _, slug, _ in rows]
    strokes = [s for _, _, s in rows]

    # Raw forward pass on tensors prepared beforehand, same batch size.
    batches = [preprocess(handler, strokes[i : i + args.batch]) for i in range(0, n, args.batch)]

    def forward() -> None:
        with torch.inference_mode():
            for batch in batches:
                handler.model(batch.x, batch.lengths)

    forward()
    forward_rate = n / best_of(forward, args.repeat)

    def handler_path() -> None:
        for i in range(0, n, args.batch):
            batch = preprocess(handler, strokes[i : i + args.batch])
            handler.postprocess(handler.infer(batch), labels[i : i + args.batch])

    handler_rate = n / best_of(handler_path, args.repeat)

    def encode_only() -> None:
        for i in range(0, n, args.batch):
            encode_stored(strokes[i : i + args.batch])

    encode_rate = n / best_of(encode_only, args.repeat)

    timings = []
    for _attempt in range(args.repeat + 1):  # the first run inserts, later runs update the same rows
        started = time.perf_counter()
        run = do_start_scoring_run(scorer, task_batch_size=args.batch)
        seconds = time.perf_counter() - started
        run = do_refresh_run_progress(run.pk)
        assert run.status == JobStatus.DONE and run.done == n, (run.status, run.done, n)
        timings.append(seconds)
    assert SketchScore.objects.filter(scorer=scorer).count() == n
    insert_rate, pipeline_rate = n / timings[0], n / min(timings[1:])

    engine = connection.vendor
    print_header(
        f"bench_scoring_pipeline: {n:,} real sketches, batch {args.batch}, {args.threads} threads, {engine}"
    )
    print_row("raw forward pass (baseline)", f"{forward_rate:,.0f} sketches/s")
    print_row("encode only (stored strokes -> stroke-5)", f"{encode_rate:,.0f} sketches/s")
    print_row("handler: preprocess + infer + postprocess", f"{handler_rate:,.0f} sketches/s")
    print_row("task pipeline, first run (insert)", f"{insert_rate:,.0f} sketches/s")
    print_row("task pipeline, re-run (upsert update)", f"{pipeline_rate:,.0f} sketches/s")
    print_ratio("pipeline / raw forward", pipeline_rate, forward_rate, goal=">= 0.85")
    print_ratio("pipeline / handler (cost of DB read + upsert + Celery)", pipeline_rate, handler_rate)
    print_ratio("handler / raw forward (cost of preprocessing)", handler_rate, forward_rate)


if __name__ == "__main__":
    main()
