"""Sanity table on the shared data: does q fall when a held-out sketch is degraded?

Trains GACL-cos (soft binning), GACL-cos w/o soft binning and the softmax baseline on the
same split of the shared Quick, Draw! data (the default CNN unless told otherwise), then runs
the sanity report (:mod:`scoring.sanity`) on held-out sketches only, and prints per family ×
severity the share of sketches whose q falls (Wilson 95 %) and Spearman(q, severity), the
three scorers side by side, plus held-out top-1 and Spearman(q, cosθ_y). The report never
reaches training: degradations are applied to test-split sketches after training ends.

    .venv/bin/python bench/bench_sanity.py [--per-category 800] [--min-count 500] [--epochs 12]
        [--categories pig,face,...] [--runs cos_sbin,cos,softmax] [--train-options '{"s": 32}']
        [--sanity-per-category 60] [--seeds 0] [--json out.json]

``--seeds 0,1,2`` trains one model per seed and scores with the mean q of the ensemble
(the seed-ensembling lever of issue 10).
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

from bench.common import print_header, print_row  # noqa: E402
from scoring.dataset import categories_with_at_least, load_ndjson_dir, stratified_split  # noqa: E402
from scoring.encoders import DEFAULT_ENCODER  # noqa: E402
from scoring.encoding import encode_stored  # noqa: E402
from scoring.inference import ScoringHandler  # noqa: E402
from scoring.model_io import DEFAULT_EPOCHS  # noqa: E402
from scoring.sanity import ALL, sanity_report  # noqa: E402
from scoring.training import TrainConfig, TrainingCollapsed, train  # noqa: E402
from sketches.degradations import MODERATE  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "quickdraw"
RUNS = {
    "cos_sbin": dict(variant="cos", soft_binning=True),
    "cos": dict(variant="cos", soft_binning=False),
    "softmax": dict(variant="softmax"),
}


def _stored(strokes):
    return [np.asarray(s, dtype=np.float64).T for s in strokes]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-category", type=int, default=800)
    parser.add_argument("--min-count", type=int, default=500)
    parser.add_argument(
        "--categories", default="", help="comma-separated subset (default: all with --min-count)"
    )
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--encoder-kwargs", default="{}")
    parser.add_argument("--train-options", default="{}", help="JSON of further TrainConfig fields")
    parser.add_argument("--runs", default="cos_sbin,cos,softmax")
    parser.add_argument("--seeds", default="0", help="comma-separated; >1 seed = ensemble (mean q)")
    parser.add_argument("--sanity-per-category", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]

    categories = (
        args.categories.split(",") if args.categories else categories_with_at_least(args.data, args.min_count)
    )
    sketches = load_ndjson_dir(args.data, categories, args.per_category)
    X, lengths = encode_stored([_stored(s) for s in sketches.strokes])
    y = sketches.labels
    train_idx, test_idx = stratified_split(y, 0.2, seed=0)
    rng = np.random.default_rng(0)
    sanity_idx = np.sort(
        np.concatenate(
            [
                rng.permutation(test_idx[y[test_idx] == c])[: args.sanity_per_category]
                for c in range(len(categories))
            ]
        )
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    print_header(
        f"bench_sanity: {len(categories)} categories, {len(train_idx)} train / {len(test_idx)} held out, "
        f"sanity on {len(sanity_idx)} held-out sketches, encoder={args.encoder}, epochs={args.epochs}, "
        f"seeds={seeds}, options={args.train_options}"
    )
    results: dict[str, dict] = {}
    for name in args.runs.split(","):
        handlers, metrics, seconds = [], [], 0.0
        for seed in seeds:
            config = TrainConfig(
                encoder=args.encoder,
                encoder_kwargs=json.loads(args.encoder_kwargs),
                epochs=args.epochs,
                batch_size=args.batch_size,
                seed=seed,
                class_names=list(categories),
                **{**json.loads(args.train_options), **RUNS[name]},
            )
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
                print_row(name, f"COLLAPSED: {exc}")
                break
            seconds += result.seconds
            metrics.append(result.metrics)
            handlers.append(
                ScoringHandler(result.model, result.config, result.class_names, torch.device("cpu"))
            )
        if not handlers:
            results[name] = {"collapsed": True}
            continue

        def q_of(strokes_list, handlers=handlers):
            return np.mean([h.q_of(strokes_list) for h in handlers], axis=0)

        started = time.perf_counter()
        report = sanity_report(
            [sketches.strokes[i] for i in sanity_idx], [categories[y[i]] for i in sanity_idx], q_of, seed=0
        )
        results[name] = {
            "accuracy": float(np.mean([m.accuracy for m in metrics])),
            "spearman_q_cos": float(np.mean([m.spearman_q_cos for m in metrics])),
            "train_seconds": seconds,
            "sanity_seconds": time.perf_counter() - started,
            "sanity": report,
        }
        moderate = ", ".join(f"{f} {r['share']:.3f}" for f, r in report["summary"].items())
        print_row(
            name,
            f"top-1 {results[name]['accuracy']:.3f}, Spearman(q, cos) {results[name]['spearman_q_cos']:.3f}, "
            f"{seconds:.0f} s; q falls at severity {MODERATE}: {moderate}",
        )
    names = [n for n in results if "sanity" in results[n]]
    print()
    print("| family | severity | " + " | ".join(f"{n}: q falls [95% CI], Spearman" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    first = results[names[0]]["sanity"]["rows"] if names else []
    for i, row in enumerate(first):
        if row["category"] != ALL:
            continue
        cells = []
        for n in names:
            r = results[n]["sanity"]["rows"][i]
            rho = "–" if r["spearman"] is None else f"{r['spearman']:+.2f}"
            cells.append(f"{r['share']:.3f} [{r['low']:.2f}, {r['high']:.2f}], {rho}")
        print(f"| {row['family']} | {row['severity']} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
