"""The faster scoring path, each number a ratio against a baseline measured in the same run.

1. forward: the handler's fused CNN (BatchNorm folded, contiguous (B, C, T), masks built once)
   at a measured batch size, against today's forward (the trained ``ConvEncoder`` as it is,
   batch 512), on the same real sketches: goal >= 1.3x, and >= 2,000 sketches/s.
2. pipeline: a scoring run through a REAL Celery worker (a separate ``celery worker -Q gpu``
   process, Redis broker) = stored encoder input read from the database -> handler ->
   set-based upsert -> recount, against the raw forward pass of the same model on the same
   sketches (tensors prepared beforehand): goal >= 0.85. The first run encodes and stores
   the encoder input (first use); the timed run is a re-run (reads bytes, updates rows).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sketchq_bench \\
    BENCH_BROKER_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/bench_scoring_fast.py [--per-category 1000] [--threads 2]

Without BENCH_BROKER_URL the pipeline part runs in-process (Celery eager) and says so.
Weights are random (throughput does not depend on them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="sketchq-bench-media-"))

from bench.django_setup import setup_django  # noqa: E402

setup_django()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from django.db import connection  # noqa: E402

from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402
from config.celery import app  # noqa: E402
from scoring import checkpoints, stored_input  # noqa: E402
from scoring.actions import do_start_scoring_run  # noqa: E402
from scoring.inference import ScoringHandler  # noqa: E402
from scoring.model_io import TrainConfig, build_model, checkpoint_bytes, load_checkpoint  # noqa: E402
from scoring.models import JobStatus, Scorer, ScoringRun  # noqa: E402
from sketches.actions import do_import_path  # noqa: E402
from sketches.models import Category, Sketch  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "quickdraw"
CATEGORIES = ["face", "pig"]
BATCHES = (128, 256, 512, 1024)


def forward_rate(model, X, lengths, batch: int, repeat: int) -> float:
    n = len(X)
    chunks = [
        (torch.from_numpy(np.ascontiguousarray(X[i : i + batch, : int(lengths[i : i + batch].max())])),
         torch.from_numpy(lengths[i : i + batch]))
        for i in range(0, n, batch)
    ]  # fmt: skip

    def run() -> None:
        with torch.inference_mode():
            for x, lb in chunks:
                model(x, lb)

    run()
    return n / best_of(run, repeat)


def interleaved_ratio(fast, slow, X, lengths, fast_batch: int, slow_batch: int, rounds: int) -> float:
    """Median over rounds of (slow time / fast time), the two timed back to back in each round,
    so load that drifts over the run hits both alike."""

    def chunks(batch):
        return [
            (torch.from_numpy(np.ascontiguousarray(X[i : i + batch, : int(lengths[i : i + batch].max())])),
             torch.from_numpy(lengths[i : i + batch]))
            for i in range(0, len(X), batch)
        ]  # fmt: skip

    def timed(model, parts) -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            for x, lb in parts:
                model(x, lb)
        return time.perf_counter() - started

    fast_parts, slow_parts = chunks(fast_batch), chunks(slow_batch)
    ratios = []
    for r in range(rounds):
        if r % 2:
            a, b = timed(fast, fast_parts), timed(slow, slow_parts)
        else:
            b, a = timed(slow, slow_parts), timed(fast, fast_parts)
        ratios.append(b / a)
    return float(np.median(ratios))


def wait_for(run_id: int, timeout: float) -> ScoringRun:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        run = ScoringRun.objects.get(pk=run_id)
        if run.status in (JobStatus.DONE, JobStatus.FAILED):
            return run
        time.sleep(0.05)  # polling must not steal the worker's CPU on a 2-core machine
    raise SystemExit(f"run {run_id} did not finish in {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-category", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name in CATEGORIES:
        do_import_path(args.data / f"{name}.ndjson", limit=args.per_category)
    config = TrainConfig(class_names=CATEGORIES)
    model = build_model(config, len(CATEGORIES)).eval()
    with torch.no_grad():  # trained-looking BatchNorm statistics, so folding is not a no-op
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    data = checkpoint_bytes(model, config, CATEGORIES)
    scorer = Scorer(name="bench-fast", encoder=config.encoder, status=JobStatus.DONE, device="cpu")
    checkpoints.do_store_checkpoint(scorer, data)
    scorer.save()
    scorer.categories.set(Category.objects.filter(slug__in=CATEGORIES))

    ids = list(Sketch.objects.order_by("pk").values_list("pk", flat=True))
    X, lengths = stored_input.do_encode_or_read(ids, config.max_len)
    n = len(ids)
    today = ScoringHandler(*load_checkpoint(data, "cpu"), torch.device("cpu"), fused=False).model
    fused = ScoringHandler.from_bytes(data, "cpu").model
    today_rate = forward_rate(today, X, lengths, 512, args.repeat)
    by_batch = {b: forward_rate(fused, X, lengths, b, args.repeat) for b in BATCHES}
    best_batch = max(by_batch, key=by_batch.get)
    today_again = forward_rate(today, X, lengths, 512, args.repeat)  # load drifts: bracket the new one
    today_rate = max(today_rate, today_again)
    load = os.getloadavg()
    print_header(
        f"bench_scoring_fast: {n:,} real sketches, {args.threads} threads, {connection.vendor}, "
        f"load average {load[0]:.1f} / {load[1]:.1f} on {os.cpu_count()} cores"
    )
    print_row("today's forward (ConvEncoder, batch 512)", f"{today_rate:,.0f} sketches/s")
    for b, rate in by_batch.items():
        print_row(f"fused forward, batch {b}", f"{rate:,.0f} sketches/s")
    print_ratio(
        f"fused (batch {best_batch}) / today's forward", by_batch[best_batch], today_rate, goal=">= 1.3"
    )
    print_row(
        "fused forward at the measured batch", f"{by_batch[best_batch]:,.0f} sketches/s (goal: >= 2,000)"
    )
    rounds = 4 * args.repeat + 1
    print_row(
        f"interleaved, median of {rounds} rounds: fused {best_batch} vs today 512",
        f"{interleaved_ratio(fused, today, X, lengths, best_batch, 512, rounds):.3f}x   (goal: >= 1.3)",
    )
    print_row(
        f"interleaved, median of {rounds} rounds: fused 512 vs today 512",
        f"{interleaved_ratio(fused, today, X, lengths, 512, 512, rounds):.3f}x   (BN folding alone)",
    )

    broker = os.environ.get("BENCH_BROKER_URL")
    worker = None
    if broker:
        app.conf.broker_url = broker
        app.conf.task_always_eager = False
        env = {**os.environ, "CELERY_BROKER_URL": broker, "DATABASE_URL": os.environ["DATABASE_URL"],
               "SKETCHQ_SCORING_DEVICE": "cpu", "OMP_NUM_THREADS": str(args.threads)}  # fmt: skip
        app.control.purge()
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu", "-P", "solo", "-c", "1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
    try:
        timings = []
        for _attempt in range(args.repeat + 1):  # the first run loads the checkpoint in the worker
            started = time.perf_counter()
            run = do_start_scoring_run(scorer, task_batch_size=n)  # one task: the worker's whole batch
            run = wait_for(run.pk, 600)
            timings.append(time.perf_counter() - started)
            assert run.status == JobStatus.DONE and run.done == n, (run.status, run.done, run.errors)
        pipeline = n / min(timings[1:])
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
    # The baseline for the pipeline: the same model's raw forward at the task's forward batch size.
    from scoring.runs import INFER_BATCH_SIZE

    raw = forward_rate(fused, X, lengths, INFER_BATCH_SIZE, args.repeat)
    where = "a real Celery worker (separate process, Redis)" if broker else "Celery eager (in-process)"
    print_row(f"pipeline through {where}", f"{pipeline:,.0f} sketches/s")
    print_row(f"raw forward, same model, batch {INFER_BATCH_SIZE}", f"{raw:,.0f} sketches/s")
    print_ratio("pipeline / raw forward", pipeline, raw, goal=">= 0.85")


if __name__ == "__main__":
    main()
