"""The paper configuration on a GPU: 2x1024 BiLSTM GACL-cos on the shared data, for a fixed budget.

On CUDA (``make bench-gpu``): loads the shared Quick, Draw! data (every category with at least
``--min-count`` sketches, ``--per-category`` each, stratified 80/20), times one probe epoch,
then trains the paper's encoder (2-layer BiLSTM, 1024 hidden units, stroke-5 input, Adam 1e-3
with cosine annealing, batch 256, soft binning) for as many epochs as fit in
``--budget-seconds`` (at most 20, the paper's count), and reports:

- training sketches/s, scoring sketches/s (forward on prepared tensors, and the handler end to
  end from strokes), held-out top-1 and Spearman(q, cosθ_y);
- the sanity report (``scoring.sanity``) on held-out sketches.

The defaults finish in under 10 minutes on one H100 (budget 300 s of training); no edits needed.
Without CUDA it runs the same code on the CPU; ``tests/scoring/test_bench_gpu.py`` runs it there
on a tiny budget so the script cannot rot.

    .venv/bin/python bench/bench_gpu.py [--device auto|cuda|cpu] [--budget-seconds 300]
        [--data DIR] [--categories a,b] [--per-category 800] [--hidden 1024] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from scoring.dataset import categories_with_at_least, load_ndjson_dir, stratified_split  # noqa: E402
from scoring.encoding import encode_stored  # noqa: E402
from scoring.inference import ScoringHandler  # noqa: E402
from scoring.model_io import pick_device  # noqa: E402
from scoring.sanity import sanity_report  # noqa: E402
from scoring.training import TrainConfig, TrainingCollapsed, train  # noqa: E402

PAPER_EPOCHS = 20


def default_data() -> Path:
    for candidate in (
        os.environ.get("SKETCHQ_DATA_DIR"),
        ROOT / "shared" / "data" / "quickdraw",
        ROOT.parent / "shared" / "data" / "quickdraw",
    ):
        if candidate and (Path(candidate) / "manifest.json").exists():
            return Path(candidate)
    raise SystemExit(
        "no shared data found: pass --data DIR (a folder of <category>.ndjson and manifest.json)"
    )


def _stored(strokes):
    return [np.asarray(s, dtype=np.float64).T for s in strokes]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda or cpu")
    parser.add_argument("--budget-seconds", type=float, default=300.0, help="training time budget")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--categories", default="", help="comma-separated (default: all with --min-count)")
    parser.add_argument("--min-count", type=int, default=500)
    parser.add_argument("--per-category", type=int, default=800)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--sanity-per-category", type=int, default=100)
    parser.add_argument("--score-batch", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--keep-collapsed",
        action="store_true",
        help="report a scorer even if training collapsed (for the CI smoke run on a tiny budget)",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    data = args.data or default_data()
    categories = (
        args.categories.split(",") if args.categories else categories_with_at_least(data, args.min_count)
    )
    sketches = load_ndjson_dir(data, categories, args.per_category)
    X, lengths = encode_stored([_stored(s) for s in sketches.strokes])
    y = sketches.labels
    tr, te = stratified_split(y, 0.2, seed=args.seed)
    prep_seconds = time.perf_counter() - started
    encoder_kwargs = {"hidden": args.hidden, "layers": args.layers}

    def config(epochs: int) -> TrainConfig:
        return TrainConfig(
            encoder="paper_bilstm",
            encoder_kwargs=dict(encoder_kwargs),
            variant="cos",
            soft_binning=True,
            epochs=epochs,
            batch_size=args.batch_size,
            lr=1e-3,
            seed=args.seed,
            device=str(device),
            class_names=list(categories),
            **({"collapse_fraction": 1.1, "min_accuracy_over_chance": 0.0} if args.keep_collapsed else {}),
        )

    def fit(epochs: int):
        return train(config(epochs), X[tr], lengths[tr], y[tr], X[te], lengths[te], y[te])

    print(f"bench_gpu: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'no GPU'}), "
          f"{len(categories)} categories, {len(tr)} train / {len(te)} held out, BiLSTM {args.layers}x{args.hidden}, "
          f"preprocessing {prep_seconds:.1f} s", flush=True)  # fmt: skip
    t0 = time.perf_counter()
    with contextlib.suppress(TrainingCollapsed):  # one epoch may not learn yet: only its time counts
        fit(1)
    probe_seconds = time.perf_counter() - t0  # wall time incl. evaluation: a conservative estimate
    epochs = max(1, min(PAPER_EPOCHS, math.floor(args.budget_seconds / max(probe_seconds, 1e-6))))
    print(
        f"  probe epoch {probe_seconds:.1f} s -> {epochs} epochs in a {args.budget_seconds:.0f} s budget",
        flush=True,
    )
    try:
        result = fit(epochs)
    except TrainingCollapsed as exc:
        report = {"device": str(device), "collapsed": str(exc), "epochs": epochs}
        print(f"  COLLAPSED: {exc}")
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
        return report
    train_rate = len(tr) * epochs / result.seconds
    handler = ScoringHandler(result.model, result.config, result.class_names, device)
    batch = handler.batch_of(X[te[: args.score_batch]], lengths[te[: args.score_batch]])
    handler.infer(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        handler.infer(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    forward_rate = reps * len(batch.lengths) / (time.perf_counter() - t0)
    held_strokes = [sketches.strokes[i] for i in te]
    t0 = time.perf_counter()
    handler.q_of(held_strokes, batch_size=args.score_batch)
    handler_rate = len(held_strokes) / (time.perf_counter() - t0)
    rng = np.random.default_rng(args.seed)
    sanity_idx = np.sort(
        np.concatenate(
            [rng.permutation(te[y[te] == c])[: args.sanity_per_category] for c in range(len(categories))]
        )
    )
    t0 = time.perf_counter()
    sanity = sanity_report(
        [sketches.strokes[i] for i in sanity_idx],
        [categories[y[i]] for i in sanity_idx],
        lambda s: handler.q_of(s, batch_size=args.score_batch),
        seed=args.seed,
    )
    sanity_seconds = time.perf_counter() - t0
    m = result.metrics
    report = {
        "device": str(device),
        "categories": len(categories),
        "n_train": int(len(tr)),
        "n_test": int(len(te)),
        "encoder": f"BiLSTM {args.layers}x{args.hidden}",
        "epochs": epochs,
        "probe_epoch_seconds": probe_seconds,
        "train_seconds": result.seconds,
        "train_sketches_per_s": train_rate,
        "forward_sketches_per_s": forward_rate,
        "handler_sketches_per_s": handler_rate,
        "accuracy": m.accuracy,
        "spearman_q_cos": m.spearman_q_cos,
        "sanity_seconds": sanity_seconds,
        "sanity_summary": {f: r["share"] for f, r in sanity["summary"].items()},
        "sanity_passed": sanity["passed"],
        "total_seconds": time.perf_counter() - started,
        "sanity": sanity,
    }
    print(f"  training  {train_rate:,.0f} sketches/s ({epochs} epochs, {result.seconds:.0f} s)")
    print(
        f"  scoring   forward {forward_rate:,.0f} sketches/s, handler from strokes {handler_rate:,.0f} sketches/s"
    )
    print(f"  held-out  top-1 {m.accuracy:.3f}, Spearman(q, cos theta_y) {m.spearman_q_cos:.3f}")
    moderate = ", ".join(f"{f} {s:.3f}" for f, s in report["sanity_summary"].items())
    print(
        f"  sanity    q falls at moderate severity: {moderate} ({'passed' if sanity['passed'] else 'failed'})"
    )
    print(f"  total     {report['total_seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
