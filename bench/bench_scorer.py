"""Forward-pass throughput of the default scorer on this machine's CPU threads.

The default (``hybrid`` since issue 10), the 1-D ``cnn`` it replaced and the ``raster``
branch alone are timed as a worker runs them (BatchNorm folded in), in interleaved
rounds (median), so "default / cnn" is a same-run ratio robust to drifting load.
Further baselines, measured in the same run on the same sketches: (1) the paper's
encoder (2-layer BiLSTM, 1024 hidden units, packed sequences) with the same
GACL head, the configuration the default replaces on CPU, so "default / paper"
is the speed-up a CPU worker gets; (2) one float32 numpy GEMM with the same
multiply-accumulates as the CNN, so "cnn / GEMM" says how close the CNN runs to
the machine's dense-matmul speed (robust to the machine being shared). Also printed: the small GRU candidate, and
the whole handler path (stroke JSON → stroke-5 → infer → results), whose
preprocessing cost is reported separately.

    .venv/bin/python bench/bench_scorer.py [--n 4096] [--threads 2]

Weights are random: throughput does not depend on them.
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

from bench.common import best_of, print_header, print_ratio, print_row  # noqa: E402
from scoring.dataset import categories_with_at_least, encode_strokes, load_ndjson_dir  # noqa: E402
from scoring.encoders import DEFAULT_ENCODER, build_encoder  # noqa: E402
from scoring.fused import fuse_conv_encoder  # noqa: E402
from scoring.gacl import ScorerModel  # noqa: E402
from scoring.inference import ScoringHandler  # noqa: E402
from scoring.training import TrainConfig, build_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "quickdraw"


def throughput(model: torch.nn.Module, X: np.ndarray, lengths: np.ndarray, batch: int, repeat: int) -> float:
    """Sketches per second of ``model`` forward (inference mode), best of ``repeat``."""
    xs = [torch.from_numpy(X[i : i + batch]) for i in range(0, len(X), batch)]
    ls = [torch.from_numpy(lengths[i : i + batch]) for i in range(0, len(X), batch)]

    def run() -> None:
        with torch.inference_mode():
            for x, n in zip(xs, ls):
                model(x, n)

    run()  # warm-up
    return len(X) / best_of(run, repeat)


def handler_model(model: ScorerModel) -> ScorerModel:
    """The model in eval mode with BatchNorm folded in, as :class:`ScoringHandler` scores with it."""
    model.eval()
    return ScorerModel(fuse_conv_encoder(model.encoder), model.head).eval()


def cnn_macs_per_sketch(encoder: torch.nn.Module, t: int) -> int:
    """Multiply-accumulates of the CNN encoder for one sketch of ``t`` points."""
    macs = 0
    for block in encoder.blocks:
        conv = block[0]
        t = (t - 1) // conv.stride[0] + 1
        macs += conv.in_channels * conv.out_channels * conv.kernel_size[0] * t
    linear = encoder.out[0]
    return macs + linear.in_features * linear.out_features


def matmul_equivalent_rate(macs_per_sketch: int, n: int, threads: int) -> float:
    """Sketches/s if the CNN ran at the speed of one big float32 numpy GEMM with the same MACs."""
    k = 192
    m = max(1, macs_per_sketch * n // (k * k))
    a = np.random.default_rng(0).standard_normal((m, k), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((k, k), dtype=np.float32)
    a @ b
    return n / best_of(lambda: a @ b, 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n", type=int, default=4096, help="sketches for the default scorer")
    parser.add_argument("--n-paper", type=int, default=64, help="sketches for the (slow) paper BiLSTM")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    categories = categories_with_at_least(args.data, 500)
    per_category = -(-args.n // len(categories))
    sketches = load_ndjson_dir(args.data, categories, per_category)
    strokes = sketches.strokes[: args.n]
    started = time.perf_counter()
    X, lengths = encode_strokes(strokes)
    preprocess_rate = len(strokes) / (time.perf_counter() - started)
    n_classes = len(categories)

    # As a worker runs them: BatchNorm folded in (scoring.fused), random weights.
    default = handler_model(build_model(TrainConfig(class_names=categories), n_classes))
    cnn = handler_model(build_model(TrainConfig(encoder="cnn", class_names=categories), n_classes))
    raster = handler_model(build_model(TrainConfig(encoder="raster", class_names=categories), n_classes))
    paper = build_model(TrainConfig(encoder="paper_bilstm", class_names=categories), n_classes).eval()
    gru = build_model(TrainConfig(encoder="gru", class_names=categories), n_classes).eval()

    print_header(
        f"bench_scorer: forward pass, {args.threads} threads, batch {args.batch}, real sketches; "
        f"default encoder {DEFAULT_ENCODER!r}; medians of {args.rounds} interleaved rounds"
    )
    rounds: dict[str, list[float]] = {"default": [], "cnn": [], "raster": []}
    for _ in range(args.rounds):  # interleaved, so drifting load hits every model alike
        for name, model in (("default", default), ("cnn", cnn), ("raster", raster)):
            rounds[name].append(throughput(model, X, lengths, args.batch, repeat=1))
    rate_default, rate_cnn, rate_raster = (float(np.median(rounds[k])) for k in ("default", "cnn", "raster"))
    rate_gru = throughput(gru, X, lengths, args.batch, repeat=3)
    rate_paper = throughput(paper, X[: args.n_paper], lengths[: args.n_paper], 32, repeat=1)
    print_row("paper_bilstm 2x1024 (baseline)", f"{rate_paper:,.0f} sketches/s")
    print_row("gru 1x128 bidirectional (candidate)", f"{rate_gru:,.0f} sketches/s")
    print_row("cnn (1-D, default before issue 10)", f"{rate_cnn:,.0f} sketches/s")
    print_row("raster branch alone (2-D CNN, layer-normed)", f"{rate_raster:,.0f} sketches/s")
    print_row(f"{DEFAULT_ENCODER} (default)", f"{rate_default:,.0f} sketches/s   (goal: >= 2,000)")
    print_ratio(
        f"{DEFAULT_ENCODER} / cnn throughput", rate_default, rate_cnn, goal="the cost of the new default"
    )
    print_ratio(
        f"{DEFAULT_ENCODER} / paper_bilstm throughput", rate_default, rate_paper, goal="the CPU speed-up"
    )
    print_ratio("gru / paper_bilstm throughput", rate_gru, rate_paper)
    macs = cnn_macs_per_sketch(build_encoder("cnn"), int(lengths.max()))
    rate_gemm = matmul_equivalent_rate(macs, len(X), args.threads)
    print_row(
        "numpy GEMM with the cnn's MACs (baseline 2)",
        f"{rate_gemm:,.0f} sketches/s ({macs / 1e6:.2f} M MAC/sketch)",
    )
    print_ratio("cnn / same-MAC numpy GEMM throughput", rate_cnn, rate_gemm, goal="near 1 = compute bound")

    # The whole handler on stroke lists, as a worker runs it.
    config = TrainConfig(class_names=categories)
    scorer = ScoringHandler(default, config, categories, torch.device("cpu"), fused=False)
    subset = strokes[:1024]
    handler_seconds = best_of(lambda: scorer.score(subset, sketches.labels[:1024].tolist()), 1)
    handler_rate = len(subset) / handler_seconds
    print_header("handler path: ScoringHandler.score(strokes) = preprocess + infer + postprocess")
    print_row("preprocess only (RDP fit + stroke-5)", f"{preprocess_rate:,.0f} sketches/s")
    print_row("ScoringHandler.score end to end", f"{handler_rate:,.0f} sketches/s")
    print_ratio("end to end / forward alone", handler_rate, rate_default, goal="preprocessing dominates")


if __name__ == "__main__":
    main()
