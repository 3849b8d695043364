"""The faster scoring path of the default (``hybrid``) scorer, each number a ratio against a
baseline measured in the same run, in interleaved rounds (medians), so load that drifts over
the run hits every variant alike.

1. forward: the handler's path today (``ScoringHandler.infer``: both branches with BatchNorm
   folded, 2×2 max pools as strided-view maxima, forward in slices of ``FORWARD_BATCH_SIZE``,
   CPU threads measured: 1 or all cores, whichever is faster now) against **today's** = the default encoder's forward as on
   main at 32403a4 (1-D branch fused, raster branch BN-folded with ``nn.MaxPool2d``, batch 512,
   torch's default thread count), on the same real sketches: goal >= 1.3x, and >= 2,000
   sketches/s on 2 cores under load. Each lever is also timed alone, and the slice size swept.
2. pipeline: scoring runs through a REAL Celery worker (a separate ``celery worker -Q gpu``
   process, Redis broker; PostgreSQL with BENCH_DATABASE_URL) = stored encoder input read from
   the database -> handler -> set-based upsert -> recount, ``DEFAULT_TASK_BATCH_SIZE`` sketches
   per task, against the raw forward pass of the same handler on the same sketches (tensors
   prepared beforehand, same batches): goal >= 0.85. The first run encodes and stores the
   encoder input (first use) and loads the checkpoint in the worker; it is not timed.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sketchq_bench \\
    BENCH_BROKER_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/bench_scoring_fast.py [--per-category 1000] [--rounds 7]

Without BENCH_BROKER_URL the pipeline part runs in-process (Celery eager) and says so.
Weights are random, BatchNorm statistics those of a few training-mode passes over the sketches
(throughput does not depend on the weights).
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="sketchq-bench-media-"))

from bench.django_setup import setup_django  # noqa: E402

setup_django()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.common import print_header, print_ratio, print_row  # noqa: E402
from config.celery import app  # noqa: E402
from scoring import checkpoints, stored_input  # noqa: E402
from scoring.actions import do_start_scoring_run  # noqa: E402
from scoring.fused import FusedConvEncoder, fast_raster_encoder, fuse_raster_encoder  # noqa: E402
from scoring.gacl import ScorerModel  # noqa: E402
from scoring.inference import FORWARD_BATCH_SIZE, ScoringHandler  # noqa: E402
from scoring.model_io import TrainConfig, build_model, checkpoint_bytes, load_checkpoint  # noqa: E402
from scoring.models import JobStatus, Scorer, ScoringRun  # noqa: E402
from scoring.runs import DEFAULT_TASK_BATCH_SIZE  # noqa: E402
from sketches.actions import do_import_path  # noqa: E402
from sketches.models import Category, Sketch  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "quickdraw"
CATEGORIES = ["face", "pig"]
SLICES = (32, 64, 128, 256, 512)
CORES = len(os.sched_getaffinity(0))


def trained_looking_model(config: TrainConfig, X: np.ndarray, lengths: np.ndarray) -> ScorerModel:
    """Random weights; BatchNorm statistics from a few training-mode passes over real sketches."""
    torch.manual_seed(0)
    model = build_model(config, len(config.class_names)).train()
    with torch.no_grad():
        for start in range(0, min(len(X), 1024), 128):
            model(torch.from_numpy(X[start : start + 128]), torch.from_numpy(lengths[start : start + 128]))
    return model.eval()


def todays_model(model: ScorerModel) -> ScorerModel:
    """The default encoder as main at 32403a4 scored it: 1-D branch fused, raster branch BN-folded
    (``fuse_raster_encoder``, still ``nn.MaxPool2d``)."""
    encoder = copy.deepcopy(model.encoder).eval()
    encoder.sequence = FusedConvEncoder(model.encoder.sequence)
    encoder.raster = fuse_raster_encoder(model.encoder.raster)
    return ScorerModel(encoder, model.head).eval()


def with_fast_pools(model: ScorerModel) -> ScorerModel:
    """Today's model with only the strided-view max pools added (one lever alone)."""
    fast = todays_model(model)
    fast.encoder.raster = fast_raster_encoder(model.encoder.raster)
    return fast


def batches_of(X: np.ndarray, lengths: np.ndarray, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [
        (torch.from_numpy(np.ascontiguousarray(X[i : i + size, : int(lengths[i : i + size].max())])),
         torch.from_numpy(lengths[i : i + size]))
        for i in range(0, len(X), size)
    ]  # fmt: skip


def plain_forward(model: ScorerModel, parts, threads: int) -> Callable[[], None]:
    def run() -> None:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            for x, lb in parts:
                model(x, lb)

    return run


def handler_forward(handler: ScoringHandler, parts) -> Callable[[], None]:
    """``ScoringHandler.infer`` as a worker calls it (slices, thread choice) on prepared batches."""
    batches = [handler.batch_of(x.numpy(), lb.numpy()) for x, lb in parts]

    def run() -> None:
        for batch in batches:
            handler.infer(batch)

    return run


def interleaved(
    variants: dict[str, Callable[[], None]], rounds: int
) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds per variant per round (the order rotates every round) and the load average per round.
    A variant that returns a number times itself (seconds)."""
    names = list(variants)
    for run in variants.values():  # warm-up
        run()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    loads = []
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            own = variants[name]()
            seconds[name].append(time.perf_counter() - started if own is None else own)
        loads.append(os.getloadavg()[0])
    return seconds, loads


def median_ratio(slow: list[float], fast: list[float]) -> float:
    """Median over rounds of slow time / fast time (both timed in the same round)."""
    return float(np.median(np.asarray(slow) / np.asarray(fast)))


def wait_for(run_id: int, timeout: float) -> ScoringRun:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        run = ScoringRun.objects.get(pk=run_id)
        if run.status in (JobStatus.DONE, JobStatus.FAILED):
            return run
        time.sleep(0.05)  # polling must not steal the worker's CPU on a 2-core machine
    raise SystemExit(f"run {run_id} did not finish in {timeout} s")


def start_worker(broker: str, queue: str, settings_module: str) -> subprocess.Popen:
    env = {**os.environ, "CELERY_BROKER_URL": broker, "DATABASE_URL": os.environ["DATABASE_URL"],
           "SKETCHQ_SCORING_DEVICE": "cpu", "DJANGO_SETTINGS_MODULE": settings_module}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-P", "solo", "-c", "1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-category", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-forward", action="store_true")
    parser.add_argument("--task-batch-size", type=int, default=DEFAULT_TASK_BATCH_SIZE)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    for name in CATEGORIES:
        do_import_path(args.data / f"{name}.ndjson", limit=args.per_category)
    config = TrainConfig(class_names=CATEGORIES)
    ids = list(
        Sketch.objects.filter(category__slug__in=CATEGORIES).order_by("pk").values_list("pk", flat=True)
    )
    X, lengths = stored_input.do_encode_or_read(ids, config.max_len)
    n = len(ids)
    model = trained_looking_model(config, X, lengths)
    data = checkpoint_bytes(model, config, CATEGORIES)
    handler = ScoringHandler.from_bytes(data, "cpu", threads="auto")
    plain = ScoringHandler(
        *load_checkpoint(data, "cpu"), torch.device("cpu"), fused=False, forward_batch_size=n
    )
    today = todays_model(plain.model)
    pools = with_fast_pools(plain.model)
    b512 = batches_of(X, lengths, 512)
    if not args.skip_forward:
        forward_part(args, n, config, data, X, lengths, handler, plain, today, pools, b512)
    if not args.skip_pipeline:
        pipeline_part(args, n, config, data, X, lengths, handler)


def forward_part(args, n, config, data, X, lengths, handler, plain, today, pools, b512) -> None:

    # Same outputs: the new path against the unfused model (the trained encoder as it is).
    new_out, ref_out = handler.infer(handler.batch_of(X, lengths)), plain.infer(plain.batch_of(X, lengths))
    q_error = float(((new_out.q - ref_out.q).abs() / ref_out.q).max())
    same_predictions = bool(torch.equal(new_out.predicted, ref_out.predicted))

    variants: dict[str, Callable[[], None]] = {
        f"today's (main 32403a4): batch 512, {CORES} threads": plain_forward(today, b512, CORES),
        "today's at 1 thread": plain_forward(today, b512, 1),
        f"+ strided-view max pools, batch 512, {CORES} threads": plain_forward(pools, b512, CORES),
        "+ strided-view max pools, batch 512, 1 thread": plain_forward(pools, b512, 1),
        f"today's at 1 thread, batches of {FORWARD_BATCH_SIZE}": plain_forward(
            today, batches_of(X, lengths, FORWARD_BATCH_SIZE), 1
        ),
    }
    for size in SLICES:
        sliced = ScoringHandler.from_bytes(data, "cpu", threads="auto")
        sliced.forward_batch_size = size
        label = "new: the handler (auto threads)" if size == FORWARD_BATCH_SIZE else "handler, auto threads"
        variants[f"{label}, slices of {size}"] = handler_forward(sliced, b512)
    pinned = ScoringHandler.from_bytes(data, "cpu", threads=CORES)
    variants[f"handler, slices of {FORWARD_BATCH_SIZE}, {CORES} threads pinned"] = handler_forward(
        pinned, b512
    )
    b128 = batches_of(X, lengths, FORWARD_BATCH_SIZE)
    raster = handler.model.encoder.raster

    def draw_only() -> None:  # what a stored raster would save: drawing the 32×32 images
        torch.set_num_threads(1)
        with torch.inference_mode():
            for x, lb in b128:
                raster.image(x, lb)

    variants["(drawing the images only, 1 thread, batches of 128)"] = draw_only
    seconds, loads = interleaved(variants, args.rounds)
    today_name = next(iter(variants))
    new_name = f"new: the handler (auto threads), slices of {FORWARD_BATCH_SIZE}"

    print_header(
        f"bench_scoring_fast: forward pass, {n:,} real sketches ({', '.join(CATEGORIES)}), default encoder "
        f"{config.encoder!r}, {CORES} cores; median of {args.rounds} interleaved rounds; load average "
        f"{min(loads):.1f}–{max(loads):.1f} over the rounds"
    )
    for name, times in seconds.items():
        rate = n / float(np.median(times))
        print_row(name, f"{rate:,.0f} sketches/s   ({median_ratio(seconds[today_name], times):.2f}x today's)")
    chooser = handler.thread_chooser
    if chooser is not None:
        costs = ", ".join(f"{t} thread(s) {1e6 * c:.0f} µs" for t, c in chooser.cost.items() if c is not None)
        print_row("handler's thread choice, last cost per sketch", f"{costs}; now {chooser.best}")
    print_row(
        "new path vs unfused model: max relative q error",
        f"{q_error:.1e}; same predictions: {same_predictions}",
    )
    print_ratio(
        "new / today's forward (median of per-round ratios)",
        median_ratio(seconds[today_name], seconds[new_name]),
        1.0,
        goal=">= 1.3",
    )
    print_row(
        "new forward, median rate",
        f"{n / float(np.median(seconds[new_name])):,.0f} sketches/s (goal: >= 2,000 on {CORES} cores under load)",
    )


def route_to(queue: str | None) -> None:
    """Send scoring tasks to ``queue`` from now on (None: keep ``task_routes``); checked."""
    if queue is not None:
        app.conf.task_routes = {"scoring.tasks.*": {"queue": queue}}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # the cached Router holds the old table
    if queue is not None:
        chosen = app.amqp.router.route({}, "scoring.tasks.score_batch")["queue"].name
        assert chosen == queue, (chosen, queue)


def pipeline_part(args, n, config, data, X, lengths, handler) -> None:
    scorer = Scorer.objects.filter(name="bench-fast").first()
    if scorer is not None:
        scorer.delete()
    scorer = Scorer(name="bench-fast", encoder=config.encoder, status=JobStatus.DONE, device="cpu")
    checkpoints.do_store_checkpoint(scorer, data)
    scorer.save()
    scorer.categories.set(Category.objects.filter(slug__in=CATEGORIES))
    broker = os.environ.get("BENCH_BROKER_URL")
    workers = []
    if broker:
        app.conf.broker_url = broker
        app.conf.task_always_eager = False
        app.control.purge()
        # Two idle workers: the default path on "gpu", the serial one (no overlap) on "gpu-serial";
        # the bench picks one per run by routing the run's tasks (routing happens where they are sent).
        workers = [
            start_worker(broker, "gpu", "config.settings"),
            start_worker(broker, "gpu-serial", "bench.settings_serial_scoring"),
        ]
    routes = app.conf.task_routes
    try:
        raw = handler_forward(handler, batches_of(X, lengths, args.task_batch_size))

        def pipeline(queue: str) -> Callable[[], float]:
            def run_once() -> float:
                """From the request to the run's ``finished_at`` (written by the worker's last task),
                so the bench's polling interval is not counted."""
                route_to(queue)
                started = timezone.now()
                run = do_start_scoring_run(scorer, task_batch_size=args.task_batch_size)
                run = wait_for(run.pk, 600)
                assert run.status == JobStatus.DONE and run.done == n, (run.status, run.done, run.errors)
                return (run.finished_at - started).total_seconds()

            return run_once

        variants: dict[str, Callable[[], float | None]] = {"pipeline": pipeline("gpu"), "raw": raw}
        if broker:
            variants["serial"] = pipeline("gpu-serial")
            variants["serial"]()  # first use in that worker: it loads the checkpoint
        variants["pipeline"]()  # first use: the worker loads the checkpoint; rows are inserted
        times, loads = interleaved(variants, args.rounds)
    finally:
        app.conf.task_routes = routes
        route_to(None)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    where = "a real Celery worker (separate process, Redis)" if broker else "Celery eager (in-process)"
    per_round = np.asarray(times["raw"]) / np.asarray(times["pipeline"])
    print_header(
        f"pipeline: {n:,} sketches, {args.task_batch_size} per task, {connection.vendor}, {where}; "
        f"median of {args.rounds} interleaved rounds; load average {min(loads):.1f}–{max(loads):.1f}"
    )
    print_row(
        "pipeline (stored input -> handler -> upsert)",
        f"{n / float(np.median(times['pipeline'])):,.0f} sketches/s",
    )
    print_row(
        f"raw forward, same handler, batches of {args.task_batch_size}",
        f"{n / float(np.median(times['raw'])):,.0f} sketches/s",
    )
    print_ratio(
        "pipeline / raw forward (median of per-round ratios)",
        median_ratio(times["raw"], times["pipeline"]),
        1.0,
        goal=">= 0.85",
    )
    print_row("  per round", " ".join(f"{r:.2f}" for r in per_round))
    if "serial" in times:
        print_row(
            "serial pipeline (no overlap), same worker setup",
            f"{n / float(np.median(times['serial'])):,.0f} sketches/s",
        )
        print_ratio("serial pipeline / raw forward", median_ratio(times["raw"], times["serial"]), 1.0)
        print_ratio("overlapped / serial pipeline", median_ratio(times["serial"], times["pipeline"]), 1.0)


if __name__ == "__main__":
    main()
