"""Train the default scorer on the shared Quick, Draw! data: GACL-cos vs its ablations.

Every category with >= 500 sketches (21 of them), the first 800 sketches of each
file, a stratified 80/20 split (seeded). Three runs with the same encoder,
epochs, batch size and optimiser:

  * GACL-cos with soft binning (the default scorer),
  * GACL-cos without soft binning (the paper's "w/o sbin" ablation),
  * softmax (biased linear classifier, q = feature norm): the baseline.

Reported per run: held-out top-1, Spearman(q, cosθ_y) pooled and mean per class,
training seconds, the load average before and after, the CPU threads each epoch ran on and the
projection from the fastest epoch (epochs × fastest epoch: what the run would take if every epoch
ran as fast as its quickest, the nearest this shared machine gets to an idle one); then ratios
against softmax measured in the same run.

    .venv/bin/python bench/bench_training.py [--epochs 12] [--encoder cnn] [--runs cos_sbin,cos,softmax]
        [--threads auto|N]

``--threads auto`` (the default) leaves ``TrainConfig.num_threads`` unset, so training measures
1 thread against all cores per step and uses the faster (``scoring.model_io.ThreadChooser``);
a number pins it (the path before issue 10's part 4 ran on torch's default, every core).

Encoded stroke-5 arrays are cached under the system temp dir (never in the repo).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import print_header, print_ratio, print_row  # noqa: E402
from scoring.dataset import categories_with_at_least, encode_strokes, load_ndjson_dir, stratified_split  # noqa: E402
from scoring.encoders import DEFAULT_ENCODER  # noqa: E402
from scoring.model_io import DEFAULT_EPOCHS  # noqa: E402
from scoring.training import TrainConfig, TrainingCollapsed, train  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "quickdraw"
RUNS = {
    "cos_sbin": dict(variant="cos", soft_binning=True),
    "cos": dict(variant="cos", soft_binning=False),
    "softmax": dict(variant="softmax"),
}


def load_arrays(data: Path, per_category: int, minimum: int, max_len: int):
    categories = categories_with_at_least(data, minimum)
    manifest = (data / "manifest.json").read_bytes()
    key = hashlib.sha256(manifest + json.dumps([categories, per_category, max_len]).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"sketchq-stroke5-{key}.npz"
    if cache.exists():
        cached = np.load(cache)
        return cached["X"], cached["lengths"], cached["y"], categories
    started = time.perf_counter()
    sketches = load_ndjson_dir(data, categories, per_category)
    X, lengths = encode_strokes(sketches.strokes, max_len=max_len)
    np.savez(cache, X=X, lengths=lengths, y=sketches.labels)
    print_row("preprocessing (ndjson -> stroke-5, cached)", f"{time.perf_counter() - started:.1f} s")
    return X, lengths, sketches.labels, categories


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-category", type=int, default=800)
    parser.add_argument("--min-count", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--encoder-kwargs", default="{}", help="JSON object")
    parser.add_argument("--runs", default="cos_sbin,cos,softmax")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="auto", help="'auto' or a number of CPU threads to pin")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    pinned = None if args.threads == "auto" else int(args.threads)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]

    X, lengths, y, categories = load_arrays(args.data, args.per_category, args.min_count, 100)
    train_idx, test_idx = stratified_split(y, 0.2, seed=args.seed)
    print_header(
        f"bench_training: {len(categories)} categories, {len(train_idx)} train / {len(test_idx)} held out, "
        f"encoder={args.encoder}, epochs={args.epochs}, batch={args.batch_size}, threads {args.threads}"
    )
    results: dict[str, dict[str, float | str]] = {}
    for name in args.runs.split(","):
        config = TrainConfig(
            encoder=args.encoder,
            encoder_kwargs=json.loads(args.encoder_kwargs),
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            num_threads=pinned,
            class_names=categories,
            **RUNS[name],  # type: ignore[arg-type]
        )
        load_before = os.getloadavg()[0]
        try:
            result = train(
                config,
                X[train_idx], lengths[train_idx], y[train_idx],
                X[test_idx], lengths[test_idx], y[test_idx],
                progress=lambda h, name=name: print(
                    f"    {name} epoch {int(h['epoch'])}: loss {h['loss']:.3f}, train top-1 "
                    f"{h['train_accuracy']:.3f}, cut points {int(h['cut_points'])}, {h['seconds']:.0f} s, "
                    f"{h['threads']:.2f} threads (mean), load {os.getloadavg()[0]:.1f}",
                    file=sys.stderr, flush=True,
                ),
            )  # fmt: skip
        except TrainingCollapsed as exc:
            print_row(name, f"COLLAPSED: {exc}")
            results[name] = {"collapsed": str(exc)}
            continue
        m = result.metrics
        q = result.outputs.q
        ends = [h["seconds"] for h in result.history]
        epoch_seconds = np.diff([0.0, *ends])
        load_after = os.getloadavg()[0]
        results[name] = {
            "accuracy": m.accuracy,
            "spearman_q_cos": m.spearman_q_cos,
            "spearman_q_cos_per_class": m.spearman_q_cos_per_class,
            "seconds": result.seconds,
            "fraction_at_bounds": m.fraction_at_bounds,
            "q_p10": float(np.percentile(q, 10)),
            "q_median": float(np.median(q)),
            "q_p90": float(np.percentile(q, 90)),
            "fastest_epoch_s": float(epoch_seconds.min()),
            "projection_s": float(epoch_seconds.min() * len(epoch_seconds)),
            "threads": [h["threads"] for h in result.history],
            "load_before": load_before,
            "load_after": load_after,
        }
        print_row(
            name,
            f"top-1 {m.accuracy:.3f}  Spearman(q,cos) {m.spearman_q_cos:+.3f} "
            f"(per class {m.spearman_q_cos_per_class:+.3f})  {result.seconds:.0f} s  "
            f"q p10/median/p90 {np.percentile(q, 10):.1f}/{np.median(q):.1f}/{np.percentile(q, 90):.1f}",
        )
        print_row(
            f"{name}: epochs",
            f"fastest {epoch_seconds.min():.1f} s, median {np.median(epoch_seconds):.1f} s -> "
            f"{len(epoch_seconds)} × fastest = {epoch_seconds.min() * len(epoch_seconds):.0f} s; threads "
            f"(mean per epoch) {min(h['threads'] for h in result.history):.2f}–"
            f"{max(h['threads'] for h in result.history):.2f}; load {load_before:.1f} -> {load_after:.1f}",
        )

    base = results.get("softmax", {})
    if "accuracy" in base:
        print_header("ratios vs softmax (same encoder, epochs, batch; same run)")
        for name, r in results.items():
            if name == "softmax" or "accuracy" not in r:
                continue
            print_ratio(
                f"{name}: top-1 / softmax top-1", float(r["accuracy"]), float(base["accuracy"]), goal=">= 1"
            )
            print_ratio(
                f"{name}: train time / softmax train time", float(r["seconds"]), float(base["seconds"])
            )
            print_ratio(
                f"{name}: fastest epoch / softmax's fastest epoch",
                float(r["fastest_epoch_s"]),
                float(base["fastest_epoch_s"]),
            )
            print_row(
                f"{name}: Spearman(q,cos) minus softmax's",
                f"{float(r['spearman_q_cos']) - float(base['spearman_q_cos']):+.3f}   (goal: > 0, the L-shape)",
            )
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
