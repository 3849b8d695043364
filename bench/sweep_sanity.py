"""Sweep of training levers against the sanity report at moderate severity (issue 10).

Loads the shared data once, holds out 20 % per category (stratified, seed 0), degrades the
held-out sketches once per family at moderate severity exactly as :func:`scoring.sanity.sanity_report`
does (same seeds, re-normalised), then trains one scorer per configuration and prints, per
family, the share of held-out sketches whose q falls, plus held-out top-1 and
Spearman(q, cosθ_y). As a diagnostic it also prints the share whose cosθ_y (cosine to the true
class) falls: q can only follow visible quality as far as the encoder's geometry does.
The degraded copies never reach training.

    .venv/bin/python bench/sweep_sanity.py --categories apple,cactus,face,pig --per-category 400 \
        --config 'base={}' --config 's32={"s": 32}' [--json out.json]

Any ``TrainConfig`` field goes in a config, the encoder too (issue 10's input-representation sweep)::

    --config 'raster48={"encoder": "raster", "encoder_kwargs": {"size": 48}}' \
    --config 'cnn={"encoder": "cnn"}' --config 'hybrid-e20={"encoder": "hybrid", "epochs": 20}'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from scoring.dataset import load_ndjson_dir, stratified_split  # noqa: E402
from scoring.encoding import encode_stored  # noqa: E402
from scoring.model_io import DEFAULT_EPOCHS  # noqa: E402
from scoring.sanity import degraded_copies  # noqa: E402
from scoring.training import TrainConfig, TrainingCollapsed, predict, train  # noqa: E402
from sketches.degradations import FAMILIES, MODERATE, Degradation  # noqa: E402
from sketches.geometry import normalise  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "quickdraw"


def _encode(strokes_list):
    return encode_stored([[np.asarray(s, dtype=np.float64).T for s in strokes] for strokes in strokes_list])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--categories", default="apple,cactus,face,pig")
    parser.add_argument("--per-category", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--config", action="append", default=[], help="NAME=JSON of TrainConfig fields")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]

    categories = args.categories.split(",")
    sketches = load_ndjson_dir(args.data, categories, args.per_category)
    X, lengths = _encode(sketches.strokes)
    y = sketches.labels
    train_idx, test_idx = stratified_split(y, 0.2, seed=0)
    held = [sketches.strokes[i] for i in test_idx]
    X0, L0 = _encode([normalise(s) for s in held])
    degraded = {f: _encode(degraded_copies(held, Degradation(f, MODERATE), seed=0)) for f in FAMILIES}
    y_held = y[test_idx]
    rows = []
    print(
        f"{len(categories)} categories, {len(train_idx)} train / {len(test_idx)} held out, epochs {args.epochs}"
    )
    print(
        "| config | top-1 | ρ(q,cosθ_y) | " + " | ".join(FAMILIES) + " | cosθ_y falls (t/s/j/d) | train s |"
    )
    print("|---|---|---|" + "---|" * len(FAMILIES) + "---|---|")
    for spec in args.config or ["base={}"]:
        name, _, options = spec.partition("=")
        opts = {"epochs": args.epochs, **json.loads(options or "{}")}
        config = TrainConfig(class_names=list(categories), **opts)
        started = time.perf_counter()
        try:
            result = train(
                config,
                X[train_idx],
                lengths[train_idx],
                y[train_idx],
                X[test_idx],
                lengths[test_idx],
                y[test_idx],
            )
        except TrainingCollapsed as exc:
            print(f"| {name} | COLLAPSED: {exc} |")
            continue
        seconds = time.perf_counter() - started
        device = torch.device("cpu")
        q0, cos0, _ = predict(result.model, X0, L0, device)
        c0 = cos0[np.arange(len(y_held)), y_held]
        shares, cos_shares = {}, {}
        for family, (Xd, Ld) in degraded.items():
            qd, cosd, _ = predict(result.model, Xd, Ld, device)
            shares[family] = float(np.mean(qd < q0))
            cos_shares[family] = float(np.mean(cosd[np.arange(len(y_held)), y_held] < c0))
        m = result.metrics
        rows.append(
            {
                "name": name,
                "options": opts,
                "top1": m.accuracy,
                "rho": m.spearman_q_cos,
                "shares": shares,
                "cos_shares": cos_shares,
                "seconds": seconds,
            }
        )
        print(
            f"| {name} | {m.accuracy:.3f} | {m.spearman_q_cos:.3f} | "
            + " | ".join(f"{shares[f]:.3f}" for f in FAMILIES)
            + " | "
            + "/".join(f"{cos_shares[f]:.2f}" for f in FAMILIES)
            + f" | {seconds:.0f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
