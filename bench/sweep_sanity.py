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

``--seeds 0,1,2`` trains every config once per seed (one row each, then the seeds' spread) and
adds one row per ensemble of the first k seeds (k ≥ 2): the ensemble's q is the mean of its
members' q, its cosθ the mean of their cosθ (the seed-ensembling lever of issue 10). ``--save DIR``
writes each member's held-out outputs (``NAME-seedS.npz``: q and cosθ_y of the originals and of
every family's degraded copies, with the labels) so ensembles across configs can be scored later
without training again (:func:`ensemble_row`)::

    --save /tmp/npz --score-saved 'hybrid-e20 x3=hybrid-e20-seed*.npz' --score-saved 'mixed=hybrid-seed0.npz,e20-seed0.npz'

(``--score-saved`` alone trains nothing and reads no data: it scores the saved members in ``--save``.)
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
from scipy.stats import spearmanr  # noqa: E402

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


def member_outputs(model, originals, degraded, y_held: np.ndarray) -> dict[str, np.ndarray]:
    """One trained model's held-out outputs: q, cosθ_y and the prediction of the originals
    (``q0``, ``cos0``, ``pred0``) and q, cosθ_y of each family's degraded copies
    (``q_<family>``, ``cos_<family>``), plus the labels ``y``."""
    device = torch.device("cpu")
    rows = np.arange(len(y_held))
    q0, cos0, _ = predict(model, *originals, device)
    out = {"y": y_held, "q0": q0, "cos0": cos0[rows, y_held], "cos0_all": cos0}
    for family, (Xd, Ld) in degraded.items():
        qd, cosd, _ = predict(model, Xd, Ld, device)
        out[f"q_{family}"], out[f"cos_{family}"] = qd, cosd[rows, y_held]
    return out


def ensemble_row(members: list[dict[str, np.ndarray]], families=FAMILIES) -> dict:
    """Scores of the ensemble whose q is the mean of its members' q (and cosθ the mean of
    their cosθ): held-out top-1 (argmax of the mean cosθ), Spearman(q, cosθ_y), and per family
    the share of held-out sketches whose q falls, and whose cosθ_y falls. One member = that model."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    y = members[0]["y"]
    if any(not np.array_equal(m["y"], y) for m in members):
        raise ValueError("ensemble members were scored on different held-out sets")

    def mean(key: str) -> np.ndarray:
        return np.mean([m[key] for m in members], axis=0)

    q0, c0 = mean("q0"), mean("cos0")
    return {
        "top1": float(np.mean(mean("cos0_all").argmax(1) == y)),
        "rho": float(spearmanr(q0, c0).statistic) if np.ptp(q0) and np.ptp(c0) else float("nan"),
        "shares": {f: float(np.mean(mean(f"q_{f}") < q0)) for f in families},
        "cos_shares": {f: float(np.mean(mean(f"cos_{f}") < c0)) for f in families},
    }


def saved_members(folder: Path, patterns: str) -> list[dict[str, np.ndarray]]:
    """The members saved by ``--save`` whose file names match any of the comma-separated globs."""
    paths = sorted({p for pattern in patterns.split(",") for p in folder.glob(pattern.strip())})
    if not paths:
        raise SystemExit(f"no saved member in {folder} matches {patterns!r}")
    members = []
    for path in paths:
        with np.load(path) as data:
            members.append({key: data[key] for key in data.files})
    return members


def score_saved(folder: Path, specs: list[str]) -> None:
    print(
        "| ensemble (members) | top-1 | ρ(q,cosθ_y) | "
        + " | ".join(FAMILIES)
        + " | cosθ_y falls (t/s/j/d) | train s |"
    )
    print("|---|---|---|" + "---|" * len(FAMILIES) + "---|---|")
    for spec in specs:
        name, _, patterns = spec.partition("=")
        members = saved_members(folder, patterns or name)
        _print_row(f"{name} ({len(members)})", ensemble_row(members), None)


def _print_row(name: str, row: dict, seconds: float | None) -> None:
    print(
        f"| {name} | {row['top1']:.3f} | {row['rho']:.3f} | "
        + " | ".join(f"{row['shares'][f]:.3f}" for f in FAMILIES)
        + " | "
        + "/".join(f"{row['cos_shares'][f]:.2f}" for f in FAMILIES)
        + (f" | {seconds:.0f} |" if seconds is not None else " | – |")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--categories", default="apple,cactus,face,pig")
    parser.add_argument("--per-category", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--config", action="append", default=[], help="NAME=JSON of TrainConfig fields")
    parser.add_argument("--seeds", default="0", help="comma-separated; more than one adds ensemble rows")
    parser.add_argument("--save", type=Path, help="folder for each member's held-out outputs (.npz)")
    parser.add_argument(
        "--score-saved",
        action="append",
        default=[],
        help="NAME=GLOB[,GLOB…] of saved members in --save: score their ensemble, train nothing",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.score_saved:
        score_saved(args.save or Path("."), args.score_saved)
        return
    torch.set_num_threads(args.threads)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)

    categories = args.categories.split(",")
    sketches = load_ndjson_dir(args.data, categories, args.per_category)
    X, lengths = _encode(sketches.strokes)
    y = sketches.labels
    train_idx, test_idx = stratified_split(y, 0.2, seed=0)
    held = [sketches.strokes[i] for i in test_idx]
    originals = _encode([normalise(s) for s in held])
    degraded = {f: _encode(degraded_copies(held, Degradation(f, MODERATE), seed=0)) for f in FAMILIES}
    y_held = y[test_idx]
    rows = []
    print(
        f"{len(categories)} categories, {len(train_idx)} train / {len(test_idx)} held out, "
        f"epochs {args.epochs}, seeds {seeds}"
    )
    print(
        "| config | top-1 | ρ(q,cosθ_y) | " + " | ".join(FAMILIES) + " | cosθ_y falls (t/s/j/d) | train s |"
    )
    print("|---|---|---|" + "---|" * len(FAMILIES) + "---|---|")
    for spec in args.config or ["base={}"]:
        name, _, options = spec.partition("=")
        members = []
        for seed in seeds:
            opts = {"epochs": args.epochs, "seed": seed, **json.loads(options or "{}")}
            label = name if len(seeds) == 1 else f"{name} s{opts['seed']}"
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
                print(f"| {label} | COLLAPSED: {exc} |")
                continue
            seconds = time.perf_counter() - started
            outputs = member_outputs(result.model, originals, degraded, y_held)
            if args.save:
                np.savez(args.save / f"{name}-seed{opts['seed']}.npz", **outputs)
            members.append(outputs)
            row = {"name": label, "options": opts, **ensemble_row([outputs]), "seconds": seconds}
            row["top1"], row["rho"] = result.metrics.accuracy, result.metrics.spearman_q_cos
            rows.append(row)
            _print_row(label, row, seconds)
        if len(members) > 1:
            spread = {f: np.ptp([r["shares"][f] for r in rows[-len(members) :]]) for f in FAMILIES}
            print(
                f"| {name}: spread over seeds | | | "
                + " | ".join(f"{spread[f]:.3f}" for f in FAMILIES)
                + " | | |"
            )
        for k in range(2, len(members) + 1):
            row = {"name": f"{name} ensemble of {k}", **ensemble_row(members[:k])}
            rows.append(row)
            _print_row(row["name"], row, None)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
