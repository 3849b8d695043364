"""The scorer's checkpoint format and device choice: one module for the trainer and the worker.

Pure torch. :mod:`scoring.training` writes checkpoints with :func:`checkpoint_bytes`;
the inference handler (:mod:`scoring.inference`, what a worker loads) reads them with
:func:`load_checkpoint` and never imports the trainer. :class:`TrainConfig` is here
because a checkpoint carries it: the encoder, its keyword arguments, the head and its
working range, ``max_len``.
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch

from scoring.encoders import DEFAULT_ENCODER, build_encoder
from scoring.gacl import (
    HEADS,
    L_A,
    LAMBDA_G_DEFAULT,
    S_DEFAULT,
    U_A,
    GACLHead,
    ScorerModel,
    default_margin_range,
)

CHECKPOINT_FORMAT = 1

#: Default training length, every variant (softmax too, so the baseline trains as long). 30 since
#: issue 10's sixth session (12 before, 6 before that): together with the working range and cos
#: margins below it raised the share of held-out sketches whose q falls at moderate severity in
#: every family (6 categories, bench/sweep_sanity.py; tables in bench/RESULTS.md, "Better default
#: scorer", fifth and sixth sessions).
DEFAULT_EPOCHS = 30

#: Default magnitude working range [l_a, u_a] of the GACL heads. The authors' code uses
#: [10, 100] (``gacl.L_A``, ``gacl.U_A``, still :class:`~scoring.gacl.GACLHead`'s own default);
#: [5, 50] is the paper's hyperparameter lever tuned for this encoder (issue 10).
DEFAULT_L_A, DEFAULT_U_A = 5.0, 50.0

#: Default ``cos`` margin range in units of s: s·[0.35, 1.0]. The paper's CosFace margins are
#: [0.35, 0.8] (``gacl.default_margin_range``); the wider upper end is the issue-10 lever.
#: The other variants keep the paper's ranges.
DEFAULT_COS_MARGINS = (0.35, 1.0)


@dataclass
class TrainConfig:
    encoder: str = DEFAULT_ENCODER
    encoder_kwargs: dict[str, Any] = field(default_factory=dict)
    variant: str = "cos"  # one of gacl.HEADS: sca, mul, add, cos, softmax
    soft_binning: bool = True  # GACL only; the "w/o sbin" ablation sets False
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "cpu"  # "auto" = cuda, then mps, then cpu
    num_threads: int | None = None  # CPU threads; None = measured per step (ThreadChooser)
    s: float = S_DEFAULT
    lambda_g: float = LAMBDA_G_DEFAULT
    l_a: float = DEFAULT_L_A
    u_a: float = DEFAULT_U_A
    # None = the default: s·DEFAULT_COS_MARGINS for cos (resolved in __post_init__, so a
    # checkpoint names it), gacl.default_margin_range for sca/mul/add; softmax has none.
    margin_range: tuple[float, float] | None = None
    tau: float = 1.0  # soft-binning temperature, in magnitude units
    warmup_epochs: int = 0  # epochs of normalised softmax (s·cosθ, no margin) before GACL
    max_len: int = 100
    class_names: list[str] = field(default_factory=list)
    eval_batch_size: int = 512
    # Collapse rule: > collapse_fraction of held-out q within collapse_tolerance·(u_a − l_a)
    # of l_a or u_a (or beyond), or accuracy < accuracy_floor(chance, min_accuracy_over_chance).
    collapse_fraction: float = 0.9
    collapse_tolerance: float = 0.01
    min_accuracy_over_chance: float = 3.0

    def __post_init__(self) -> None:
        if self.variant not in HEADS:
            raise ValueError(f"unknown variant {self.variant!r}; expected one of {HEADS}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.margin_range is None and self.variant == "cos":
            self.margin_range = (DEFAULT_COS_MARGINS[0] * self.s, DEFAULT_COS_MARGINS[1] * self.s)
        if self.margin_range is not None:
            self.margin_range = (float(self.margin_range[0]), float(self.margin_range[1]))

    @property
    def uses_soft_binning(self) -> bool:
        return self.soft_binning and self.variant != "softmax"


def pick_device(preferred: str = "auto") -> torch.device:
    """``auto``: cuda if available, then mps, then cpu; otherwise ``preferred``."""
    if preferred != "auto":
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ThreadChooser:
    """Chooses torch's CPU thread count by measurement: the faster of 1 and all ``cores`` per unit
    of work (a sketch, a training step), as measured on the work itself.

    Why (issue 10 part 4, bench/RESULTS.md): on a shared machine a multi-threaded op waits at every
    layer for whichever thread the scheduler parked, so with the cores busy two threads ran the
    hybrid's forward pass at 0.3–0.5 of one thread's speed and a training step 5–20× slower, while
    on free cores two threads were 1.6–2× faster. The load average could not tell the two apart (it
    lags and counts this process), so the chooser times both:

    - ``choose()`` returns each candidate once, then the one with the lower cost per unit;
    - the current choice's cost is a moving average (``alpha``); the other one is re-probed after
      ``interval`` calls, and its cost is that fresh probe. A probe that loses doubles the interval
      (up to ``max_interval``), so a choice 20× slower is rarely paid for; one that wins becomes the
      choice and the interval starts over; a call that costs twice the current average re-probes next.

    Pure: no torch call; :func:`use_threads` applies a choice.
    """

    def __init__(
        self, cores: int, min_interval: int = 4, max_interval: int = 256, alpha: float = 0.3
    ) -> None:
        if cores < 1:
            raise ValueError("cores must be >= 1")
        if not 1 <= min_interval <= max_interval or not 0 < alpha <= 1:
            raise ValueError("need 1 <= min_interval <= max_interval and 0 < alpha <= 1")
        self.candidates = (cores, 1) if cores > 1 else (1,)
        self.cost: dict[int, float | None] = dict.fromkeys(self.candidates)
        self.min_interval, self.max_interval, self.alpha = min_interval, max_interval, alpha
        self.interval = min_interval
        self.since_probe = 0

    @property
    def best(self) -> int:
        known = {c: v for c, v in self.cost.items() if v is not None}
        return min(known, key=lambda c: known[c]) if known else self.candidates[0]

    def choose(self) -> int:
        for candidate, cost in self.cost.items():
            if cost is None:
                return candidate
        if len(self.candidates) == 1:
            return self.candidates[0]
        if self.since_probe >= self.interval:
            self.since_probe = 0
            return next(c for c in self.candidates if c != self.best)
        self.since_probe += 1
        return self.best

    def record(self, threads: int, units: float, seconds: float) -> None:
        if threads not in self.cost or units <= 0:
            return
        per_unit = max(seconds, 0.0) / units
        before, best = self.cost[threads], self.best
        if before is None or threads != best:  # first measurement or a probe: fresh information
            self.cost[threads] = per_unit
            if before is not None:  # a probe
                won = self.best == threads
                self.interval = self.min_interval if won else min(2 * self.interval, self.max_interval)
            return
        self.cost[threads] = (1 - self.alpha) * before + self.alpha * per_unit
        if per_unit > 2 * before and self.best == threads:  # sharply slower, still ahead: probe next
            self.since_probe = self.interval


def use_threads(threads: int) -> None:
    """Set torch's intra-op CPU threads (no call when unchanged)."""
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)


def build_model(config: TrainConfig, n_classes: int) -> ScorerModel:
    encoder = build_encoder(config.encoder, **config.encoder_kwargs)
    head = GACLHead(
        encoder.feat_dim,  # type: ignore[arg-type]
        n_classes,
        config.variant,
        s=config.s,
        lambda_g=config.lambda_g,
        l_a=config.l_a,
        u_a=config.u_a,
        margin_range=config.margin_range,
        tau=config.tau,
    )
    return ScorerModel(encoder, head)


def checkpoint_bytes(model: ScorerModel, config: TrainConfig, class_names: list[str]) -> bytes:
    """Serialise model weights, config (encoder name/kwargs, variant, l_a/u_a,
    max_len, …) and class names in order, with ``torch.save``."""
    stored = asdict(config)
    stored["class_names"] = list(class_names)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": stored,
        "class_names": list(class_names),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def load_checkpoint(
    data: bytes, device: str | torch.device = "cpu"
) -> tuple[ScorerModel, TrainConfig, list[str]]:
    """Inverse of :func:`save_checkpoint`: ``(model in eval mode, config, class names)``.

    Loads with ``weights_only=True`` (no pickled code is executed).
    """
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt input
        raise ValueError(f"not a scorer checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("not a scorer checkpoint (missing or unknown format)")
    known = {f.name for f in fields(TrainConfig)}
    stored = {k: v for k, v in payload["config"].items() if k in known}
    # A checkpoint written before issue 10's sixth session that leaves the working range or the
    # margins to the defaults meant the paper's values then, not today's defaults.
    stored.setdefault("l_a", L_A)
    stored.setdefault("u_a", U_A)
    if stored.get("margin_range") is None and stored.get("variant", "cos") != "softmax":
        variant, s = stored.get("variant", "cos"), float(stored.get("s", S_DEFAULT))
        stored["margin_range"] = default_margin_range(variant, s)
    config = TrainConfig(**stored)
    class_names = list(payload["class_names"])
    if _has_legacy_final_bn(config, payload["state_dict"]):
        config.encoder_kwargs = {**config.encoder_kwargs, "final_bn": True}
    model = build_model(config, len(class_names))
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return model, config, class_names


def _has_legacy_final_bn(config: TrainConfig, state_dict: dict) -> bool:
    """A CNN checkpoint from before the final BatchNorm was dropped (issue 10) that does not say so."""
    return (
        config.encoder == "cnn"
        and "final_bn" not in config.encoder_kwargs
        and "encoder.out.1.running_mean" in state_dict
    )
