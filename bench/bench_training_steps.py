"""Training cost per step of the default scorer against softmax and the 1-D CNN, same run.

On a shared 2-core machine a full 12-epoch training on 21 categories × 800 can take far longer
than on an idle one, and its wall time says more about the load than about the model. This
bench times training steps (batch 64: forward with labels and soft binning, GACL loss,
backward, Adam step, exactly as :func:`scoring.training.train` does them) on the same 21 × 800
training sketches, in interleaved rounds so drifting load hits every run alike, and reports
the median ms per step, the ratios in the same run, and the projection to a full default
training (steps per epoch × ``DEFAULT_EPOCHS``).

    .venv/bin/python bench/bench_training_steps.py [--steps 10] [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.bench_training import DATA, load_arrays  # noqa: E402
from bench.common import print_header, print_ratio, print_row  # noqa: E402
from scoring.dataset import stratified_split  # noqa: E402
from scoring.encoders import DEFAULT_ENCODER  # noqa: E402
from scoring.gacl import cut_points_for_epoch  # noqa: E402
from scoring.model_io import DEFAULT_EPOCHS, TrainConfig, build_model  # noqa: E402

RUNS = {
    f"{DEFAULT_ENCODER} GACL-cos + sbin (default)": dict(encoder=DEFAULT_ENCODER, variant="cos"),
    f"{DEFAULT_ENCODER} softmax": dict(encoder=DEFAULT_ENCODER, variant="softmax"),
    "cnn GACL-cos + sbin (default before issue 10)": dict(encoder="cnn", variant="cos"),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--steps", type=int, default=10, help="steps per run and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]

    X, lengths, y, categories = load_arrays(args.data, 800, 500, 100)
    train_idx, _ = stratified_split(y, 0.2, seed=0)
    X_all = torch.from_numpy(np.ascontiguousarray(X[train_idx], dtype=np.float32))
    L_all = torch.from_numpy(lengths[train_idx].astype(np.int64))
    Y_all = torch.from_numpy(y[train_idx].astype(np.int64))
    batch = 64
    steps_per_epoch = -(-len(train_idx) // batch)
    rng = np.random.default_rng(0)

    runs = {}
    for name, options in RUNS.items():
        config = TrainConfig(class_names=categories, **options)  # type: ignore[arg-type]
        model = build_model(config, len(categories)).train()
        runs[name] = (config, model, torch.optim.Adam(model.parameters(), lr=config.lr))

    def steps(config: TrainConfig, model, optimiser) -> float:
        n_cut = cut_points_for_epoch(0, config.epochs) if config.uses_soft_binning else None
        started = time.perf_counter()
        for _ in range(args.steps):
            idx = torch.from_numpy(rng.choice(len(X_all), batch, replace=False))
            xb, lb, yb = X_all[idx], L_all[idx], Y_all[idx]
            logits, q, _ = model(xb, lb, yb, n_cut)
            loss = model.head.loss(logits, yb, q)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        return (time.perf_counter() - started) / args.steps

    for run in runs.values():  # warm-up
        steps(*run)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            times[name].append(steps(*run))

    print_header(
        f"bench_training_steps: 21 categories × 800, {len(train_idx)} train sketches, batch {batch}, "
        f"{args.threads} threads; median of {args.rounds} interleaved rounds of {args.steps} steps"
    )
    medians = {name: float(np.median(t)) for name, t in times.items()}
    total_steps = steps_per_epoch * DEFAULT_EPOCHS
    for name, seconds in medians.items():
        print_row(
            name,
            f"{seconds * 1000:.0f} ms/step; {DEFAULT_EPOCHS} epochs × {steps_per_epoch} steps "
            f"≈ {seconds * total_steps / 60:.1f} min at this load",
        )
    default, softmax, cnn = medians.values()
    print_ratio(
        "default GACL-cos / softmax (same encoder) per step", default, softmax, goal="the head's cost"
    )
    print_ratio(
        "default / cnn (before issue 10) per step", default, cnn, goal="the cost of the raster branch"
    )


if __name__ == "__main__":
    main()
