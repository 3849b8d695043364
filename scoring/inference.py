"""The scorer handler: load a checkpoint once, then preprocess → infer → postprocess.

Pure torch/numpy (a Celery task on the ``gpu`` queue wraps it)::

    scorer = ScoringHandler.from_bytes(checkpoint_bytes)          # once per worker process
    results = scorer.score(list_of_normalised_strokes, class_indices)

Batches are padded to the longest sketch in the batch; RNN encoders run on
packed sequences, so padding never changes a score. ``preprocess`` encodes with
the fast batched encoder (:func:`scoring.encoding.encode_stored`, bit-identical to
``dataset.encode_strokes``); a caller that already holds encoder input (the stored
arrays of :mod:`scoring.stored_input`) starts at :meth:`ScoringHandler.batch_of`.
This module reads checkpoints through :mod:`scoring.model_io`; it never imports the trainer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from scoring.cpu_memory import keep_freed_memory
from scoring.encoding import encode_stored
from scoring.fused import fuse_conv_encoder
from scoring.gacl import ScorerModel
from scoring.model_io import ThreadChooser, TrainConfig, cpu_cores, load_checkpoint, pick_device, use_threads

__all__ = [
    "Batch",
    "Outputs",
    "ScoreResult",
    "ScoringHandler",
    "pick_device",
]

#: Sketches per forward call inside :meth:`ScoringHandler.infer` (a batch is cut into slices of
#: this size, each trimmed to its own longest sketch). Measured on CPU (bench/bench_scoring_fast.py,
#: bench/RESULTS.md): the hybrid's 32×32 feature maps of 128 sketches stay in cache; at 512 the
#: raster branch ran at about 0.4 of its speed at 64–128.
FORWARD_BATCH_SIZE = 128


@dataclass(frozen=True)
class Batch:
    x: torch.Tensor  # (B, T, 7) float32 on the scorer's device
    lengths: torch.Tensor  # (B,) int64


@dataclass(frozen=True)
class ScoreResult:
    q: float  # quality score ‖f(x)‖
    cos_theta_y: float  # cosine to the given class (the predicted one if none given)
    predicted_class_index: int
    class_index: int  # the class cos_theta_y refers to

    @property
    def correct(self) -> bool:
        return self.predicted_class_index == self.class_index


@dataclass(frozen=True)
class Outputs:
    q: torch.Tensor  # (B,)
    cos_theta: torch.Tensor  # (B, C) cosine to every class weight
    predicted: torch.Tensor  # (B,) argmax of the head's logits


class ScoringHandler:
    """Handler around a trained :class:`ScorerModel` (eval mode, fixed device)."""

    def __init__(
        self,
        model: ScorerModel,
        config: TrainConfig,
        class_names: list[str],
        device: torch.device,
        fused: bool = True,
        forward_batch_size: int = FORWARD_BATCH_SIZE,
        threads: int | str | None = None,
    ):
        """``threads``: CPU threads of :meth:`infer` on CPU (``"auto"``: measured, per slice, by a
        :class:`scoring.model_io.ThreadChooser`; ``None``: leave torch's setting alone). ``forward_batch_size``: sketches per
        forward call inside :meth:`infer`."""
        if forward_batch_size < 1:
            raise ValueError("forward_batch_size must be >= 1")
        if not (threads is None or threads == "auto" or (isinstance(threads, int) and threads >= 1)):
            raise ValueError(f"threads must be None, 'auto' or a positive integer, not {threads!r}")
        self.forward_batch_size = forward_batch_size
        self.threads = threads
        self.thread_chooser = ThreadChooser(cpu_cores()) if threads == "auto" else None
        if device.type == "cpu":  # activations reuse freed heap instead of fresh pages (cpu_memory)
            keep_freed_memory()
        model = model.to(device).eval()
        if fused:  # BatchNorm folded into the CNN's layers: same outputs, faster (scoring.fused)
            model = ScorerModel(fuse_conv_encoder(model.encoder), model.head).to(device).eval()
        self.model = model
        self.config = config
        self.class_names = list(class_names)
        self.device = device

    @classmethod
    def from_bytes(
        cls, data: bytes, device: str = "auto", threads: int | str | None = None
    ) -> ScoringHandler:
        """Load a checkpoint made by :func:`scoring.model_io.checkpoint_bytes`."""
        target = pick_device(device)
        model, config, class_names = load_checkpoint(data, target)
        return cls(model, config, class_names, target, threads=threads)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def leaves_a_core_free(self) -> bool:
        """Whether the next forward pass leaves a CPU core to other work: always on a GPU; on CPU
        when it runs on fewer threads than there are cores (pinned so, or one thread measured faster,
        as under load). A caller may then overlap its database work with the forward pass; with every
        core in the forward, that work only stalls one of its threads (bench/RESULTS.md)."""
        if self.device.type != "cpu":
            return True
        if self.thread_chooser is not None:
            threads = self.thread_chooser.best
        elif self.threads is not None:
            threads = int(self.threads)
        else:
            threads = torch.get_num_threads()
        return threads < cpu_cores()

    def preprocess(self, strokes_list: Sequence[Sequence[np.ndarray]]) -> Batch:
        """Normalised sketches (``(n, 2)`` arrays per stroke) → padded stroke-5 tensors."""
        if len(strokes_list) == 0:
            raise ValueError("no sketches to preprocess")
        stored = [
            [np.asarray(s, dtype=np.float64).reshape(-1, 2).T for s in strokes] for strokes in strokes_list
        ]
        X, lengths = encode_stored(stored, max_len=self.config.max_len)
        return self.batch_of(X, lengths)

    def batch_of(self, X: np.ndarray, lengths: np.ndarray) -> Batch:
        """Encoder input already in stroke-5 form ``(n, T, 7)`` → a batch trimmed to its longest sketch."""
        if len(lengths) == 0:
            raise ValueError("no sketches to preprocess")
        t = int(np.max(lengths))
        return Batch(
            torch.from_numpy(np.ascontiguousarray(X[:, :t], dtype=np.float32)).to(self.device),
            torch.from_numpy(np.asarray(lengths, dtype=np.int64)).to(self.device),
        )

    def infer(self, batch: Batch) -> Outputs:
        """Forward pass under ``torch.inference_mode()``, in slices of ``forward_batch_size``
        sketches on CPU, each trimmed to its own longest sketch (outputs depend on real points only);
        on CPU with ``threads`` set, each slice's thread count is chosen first."""
        cpu = self.device.type == "cpu"
        step = self.forward_batch_size if cpu else len(batch.lengths)
        parts = []
        with torch.inference_mode():
            for start in range(0, len(batch.lengths), step):
                lengths = batch.lengths[start : start + step]
                x = batch.x[start : start + step, : int(lengths.max())]
                if not cpu or self.threads is None:
                    parts.append(self.model(x, lengths))
                    continue
                threads = self.thread_chooser.choose() if self.thread_chooser else int(self.threads)
                use_threads(threads)
                started = time.perf_counter()
                parts.append(self.model(x, lengths))
                if self.thread_chooser is not None:
                    self.thread_chooser.record(threads, len(lengths), time.perf_counter() - started)
            logits, q, cos = (torch.cat(p) if len(parts) > 1 else p[0] for p in zip(*parts, strict=True))
        return Outputs(q, cos, logits.argmax(1))

    def postprocess(self, outputs: Outputs, class_indices: Sequence[int] | None = None) -> list[ScoreResult]:
        """Per sketch: q, cosθ to ``class_indices[i]`` (or to the predicted class), prediction.

        The prediction is argmax of the head's logits: argmax cosθ for GACL
        heads, argmax ``W f + B`` for the softmax baseline.
        """
        q = outputs.q.float().cpu().numpy()
        cos = outputs.cos_theta.float().cpu().numpy()
        predicted = outputs.predicted.cpu().numpy()
        if class_indices is None:
            targets = predicted.astype(np.int64)
        else:
            targets = np.asarray(class_indices, dtype=np.int64).reshape(-1)
            if len(targets) != len(q):
                raise ValueError(f"need one class index per sketch ({len(q)}), got {len(targets)}")
            if len(targets) and (targets.min() < 0 or targets.max() >= self.n_classes):
                raise ValueError(f"class indices must be in [0, {self.n_classes})")
        cos_y = cos[np.arange(len(q)), targets]
        return [
            ScoreResult(float(q[i]), float(cos_y[i]), int(predicted[i]), int(targets[i]))
            for i in range(len(q))
        ]

    def score(
        self,
        strokes_list: Sequence[Sequence[np.ndarray]],
        class_indices: Sequence[int] | None = None,
        batch_size: int = 512,
    ) -> list[ScoreResult]:
        """Score sketches in batches of ``batch_size``; one :class:`ScoreResult` each."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if class_indices is not None and len(class_indices) != len(strokes_list):
            raise ValueError(
                f"need one class index per sketch ({len(strokes_list)}), got {len(class_indices)}"
            )
        results: list[ScoreResult] = []
        for start in range(0, len(strokes_list), batch_size):
            chunk = strokes_list[start : start + batch_size]
            targets = None if class_indices is None else list(class_indices[start : start + batch_size])
            results.extend(self.postprocess(self.infer(self.preprocess(chunk)), targets))
        return results

    def q_of(self, strokes_list: Sequence[Sequence[np.ndarray]], batch_size: int = 512) -> np.ndarray:
        """q for each normalised sketch (preprocess → infer), e.g. for the sanity report."""
        out = [
            self.infer(self.preprocess(strokes_list[i : i + batch_size])).q.float().cpu().numpy()
            for i in range(0, len(strokes_list), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0, np.float32)
