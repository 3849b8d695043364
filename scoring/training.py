"""Training and evaluation of a GACL scorer on numpy arrays. Pure torch/numpy.

``train(config, X_train, len_train, y_train, X_test, len_test, y_test)`` returns
a :class:`TrainResult` or raises :class:`TrainingCollapsed`: a scorer whose q is
pinned at a bound of the working range, or whose held-out accuracy is near
chance, is never returned. ``save_checkpoint`` turns a result into checkpoint bytes; the format, and
``load_checkpoint``, live in :mod:`scoring.model_io`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

from scoring.gacl import ScorerModel, cut_points_for_epoch
from scoring.model_io import (  # re-exported: callers of the trainer keep one import
    CHECKPOINT_FORMAT,
    ThreadChooser,
    TrainConfig,
    build_model,
    checkpoint_bytes,
    cpu_cores,
    load_checkpoint,
    pick_device,
    use_threads,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "TrainConfig",
    "TrainResult",
    "TrainingCollapsed",
    "build_model",
    "load_checkpoint",
    "pick_device",
    "save_checkpoint",
    "train",
]


class TrainingCollapsed(RuntimeError):
    """Training produced a useless scorer (q pinned at a bound, or chance accuracy)."""


@dataclass
class EvalMetrics:
    accuracy: float
    spearman_q_cos: float  # pooled over the held-out set
    spearman_q_cos_per_class: float  # mean of per-class Spearman
    q_summary: dict[str, dict[str, float]]  # class name -> min/p10/median/p90/max
    fraction_at_bounds: float
    chance: float
    n: int


@dataclass
class EvalOutputs:
    q: np.ndarray
    cos_theta_y: np.ndarray
    predicted: np.ndarray


@dataclass
class TrainResult:
    model: ScorerModel
    config: TrainConfig
    class_names: list[str]
    metrics: EvalMetrics
    outputs: EvalOutputs
    history: list[dict[str, float]]
    seconds: float
    device: str


def _seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    return np.random.default_rng(seed)


def _check_inputs(X: np.ndarray, lengths: np.ndarray, y: np.ndarray, n_classes: int, name: str) -> None:
    if X.ndim != 3 or X.shape[2] != 7:
        raise ValueError(f"{name}: X must be (n, max_len, 7), got {X.shape}")
    if not len(X) == len(lengths) == len(y):
        raise ValueError(f"{name}: X, lengths and y differ in length")
    if len(X) == 0:
        raise ValueError(f"{name}: no sketches")
    if lengths.min() < 1 or lengths.max() > X.shape[1]:
        raise ValueError(f"{name}: lengths must be in [1, {X.shape[1]}]")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{name}: labels must be in [0, {n_classes})")


@torch.inference_mode()
def predict(
    model: ScorerModel, X: np.ndarray, lengths: np.ndarray, device: torch.device, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(q, cos_all, predicted)`` for every sketch, model in eval mode."""
    model.eval()
    qs, coss, preds = [], [], []
    for start in range(0, len(X), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(X[start : start + batch_size])).to(device)
        lb = torch.from_numpy(np.asarray(lengths[start : start + batch_size], dtype=np.int64)).to(device)
        logits, q, cos = model(xb, lb)
        qs.append(q.float().cpu().numpy())
        coss.append(cos.float().cpu().numpy())
        preds.append(logits.argmax(1).cpu().numpy())
    return np.concatenate(qs), np.concatenate(coss), np.concatenate(preds)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def evaluate(
    model: ScorerModel,
    config: TrainConfig,
    X: np.ndarray,
    lengths: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    device: torch.device,
) -> tuple[EvalMetrics, EvalOutputs]:
    q, cos, pred = predict(model, X, lengths, device, config.eval_batch_size)
    cos_y = cos[np.arange(len(y)), y]
    summary: dict[str, dict[str, float]] = {}
    per_class = []
    for c, name in enumerate(class_names):
        qc = q[y == c]
        if len(qc) == 0:
            continue
        p = np.percentile(qc, [0, 10, 50, 90, 100])
        summary[name] = dict(zip(("min", "p10", "median", "p90", "max"), map(float, p), strict=True))
        rho = _spearman(qc, cos_y[y == c])
        if not np.isnan(rho):
            per_class.append(rho)
    metrics = EvalMetrics(
        accuracy=float((pred == y).mean()),
        spearman_q_cos=_spearman(q, cos_y),
        spearman_q_cos_per_class=float(np.mean(per_class)) if per_class else float("nan"),
        q_summary=summary,
        fraction_at_bounds=fraction_at_bounds(q, config),
        chance=1.0 / len(class_names),
        n=len(y),
    )
    return metrics, EvalOutputs(q, cos_y, pred)


def fraction_at_bounds(q: np.ndarray, config: TrainConfig) -> float:
    """Share of q within ``collapse_tolerance·(u_a − l_a)`` of l_a or u_a, or beyond."""
    tol = config.collapse_tolerance * (config.u_a - config.l_a)
    return float(np.mean((q <= config.l_a + tol) | (q >= config.u_a - tol)))


def accuracy_floor(chance: float, factor: float) -> float:
    """Accuracy below which a scorer counts as collapsed: ``factor``× chance, but
    never above halfway between chance and 100% (3× chance is 75% for 4 classes)."""
    return min(factor * chance, chance + 0.5 * (1.0 - chance))


def check_collapse(metrics: EvalMetrics, config: TrainConfig) -> None:
    """Raise :class:`TrainingCollapsed` if the scorer is useless (see module doc)."""
    problems = []
    if config.variant != "softmax" and metrics.fraction_at_bounds > config.collapse_fraction:
        problems.append(
            f"{metrics.fraction_at_bounds:.0%} of held-out q lie within "
            f"{config.collapse_tolerance:.0%} of the working range bounds "
            f"[{config.l_a:g}, {config.u_a:g}] or beyond, so q carries no quality signal"
        )
    floor = accuracy_floor(metrics.chance, config.min_accuracy_over_chance)
    if metrics.accuracy < floor:
        problems.append(
            f"held-out accuracy {metrics.accuracy:.3f} is below {floor:.3f} "
            f"(chance {metrics.chance:.3f}), so the encoder did not learn the classes"
        )
    if problems:
        raise TrainingCollapsed("training collapsed: " + "; ".join(problems))


def train(
    config: TrainConfig,
    X_train: np.ndarray,
    len_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    len_test: np.ndarray,
    y_test: np.ndarray,
    progress: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``config`` on the arrays; evaluate on the held-out arrays.

    Adam (lr ``config.lr``) with cosine annealing over all steps; seeded
    (torch + numpy). ``progress`` gets a dict after every epoch (with the mean CPU threads its
    steps ran on: ``config.num_threads``, or when None on CPU 1 or all cores, whichever a
    :class:`scoring.model_io.ThreadChooser` measures faster per step, so two runs agree up to
    float rounding unless ``num_threads`` is pinned). Raises
    :class:`TrainingCollapsed` instead of returning a useless scorer.
    """
    class_names = list(config.class_names) or [
        str(c) for c in range(int(max(y_train.max(), y_test.max())) + 1)
    ]
    n_classes = len(class_names)
    len_train, len_test = np.asarray(len_train, np.int64), np.asarray(len_test, np.int64)
    y_train, y_test = np.asarray(y_train, np.int64), np.asarray(y_test, np.int64)
    _check_inputs(X_train, len_train, y_train, n_classes, "train")
    _check_inputs(X_test, len_test, y_test, n_classes, "test")
    rng = _seed_everything(config.seed)
    device = pick_device(config.device)
    model = build_model(config, n_classes).to(device)
    head = model.head

    steps_per_epoch = int(np.ceil(len(X_train) / config.batch_size))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs * steps_per_epoch)
    X_all = torch.from_numpy(np.ascontiguousarray(X_train, dtype=np.float32))
    L_all = torch.from_numpy(len_train)
    Y_all = torch.from_numpy(y_train)

    history: list[dict[str, float]] = []
    started = time.perf_counter()
    chooser = ThreadChooser(cpu_cores()) if not config.num_threads and device.type == "cpu" else None
    for epoch in range(config.epochs):
        model.train()
        thread_steps: list[int] = []
        warm = epoch < config.warmup_epochs and config.variant != "softmax"
        gacl_epoch = epoch - config.warmup_epochs
        n_cut = None
        if config.uses_soft_binning and not warm:
            n_cut = cut_points_for_epoch(gacl_epoch, config.epochs - config.warmup_epochs)
        order = torch.from_numpy(rng.permutation(len(X_train)))
        total_loss, correct, seen = 0.0, 0, 0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            threads = chooser.choose() if chooser else config.num_threads or torch.get_num_threads()
            use_threads(threads)
            step_started = time.perf_counter()
            xb, lb, yb = X_all[idx].to(device), L_all[idx].to(device), Y_all[idx].to(device)
            if warm:  # normalised softmax (Eq. 4) + G: learn classes before margins
                logits, q, cos = model(xb, lb)
            else:
                logits, q, cos = model(xb, lb, yb, n_cut)
            loss = head.loss(logits, yb, q)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            if chooser is not None:
                chooser.record(threads, 1, time.perf_counter() - step_started)
            thread_steps.append(threads)
            total_loss += float(loss.detach()) * len(idx)
            correct += (
                int((cos.detach().argmax(1) == yb).sum())
                if config.variant != "softmax"
                else int((logits.detach().argmax(1) == yb).sum())
            )
            seen += len(idx)
        if not np.isfinite(total_loss):
            raise TrainingCollapsed(f"loss became non-finite in epoch {epoch}")
        record = {
            "epoch": float(epoch),
            "loss": total_loss / seen,
            "train_accuracy": correct / seen,
            "cut_points": float(n_cut or 0),
            "seconds": time.perf_counter() - started,
            "threads": float(np.mean(thread_steps)),  # mean CPU threads over the epoch's steps
        }
        history.append(record)
        if progress is not None:
            progress(record)
    seconds = time.perf_counter() - started

    metrics, outputs = evaluate(model, config, X_test, len_test, y_test, class_names, device)
    check_collapse(metrics, config)
    config.class_names = class_names
    return TrainResult(model.cpu(), config, class_names, metrics, outputs, history, seconds, str(device))


def save_checkpoint(result: TrainResult) -> bytes:
    """Serialise a trained result (see :func:`scoring.model_io.checkpoint_bytes`)."""
    return checkpoint_bytes(result.model, result.config, result.class_names)
