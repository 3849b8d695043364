"""What a training run leaves behind besides the checkpoint: metrics, held-out outputs, figure.

Pure functions of a :class:`scoring.training.TrainResult` (no ORM): the actions
store what these return.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from scoring.figures import Panel, q_theta_figure
from scoring.training import TrainResult

#: Categories drawn in the figure saved at training time (the view can draw any).
FIGURE_CATEGORIES = 8


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf → None (PostgreSQL's jsonb has no NaN), numpy → Python."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metrics_of(result: TrainResult, labels: np.ndarray, display_names: list[str], n_train: int) -> dict:
    """Held-out top-1, Spearman(q, cosθ_y), q distribution and accuracy per category."""
    m = result.metrics
    names = dict(zip(result.class_names, display_names, strict=True))
    per_category = {}
    for index, slug in enumerate(result.class_names):
        members = labels == index
        if members.any():
            per_category[names[slug]] = float((result.outputs.predicted[members] == index).mean())
    return clean(
        {
            "accuracy": m.accuracy,
            "chance": m.chance,
            "spearman_q_cos": m.spearman_q_cos,
            "spearman_q_cos_per_class": m.spearman_q_cos_per_class,
            "fraction_at_bounds": m.fraction_at_bounds,
            "n_test": m.n,
            "n_train": n_train,
            "q_summary": {names.get(k, k): v for k, v in m.q_summary.items()},
            "accuracy_per_category": per_category,
            "history": result.history,
        }
    )


def heldout_npz(sketch_ids: np.ndarray, labels: np.ndarray, result: TrainResult) -> bytes:
    """The evaluation's per-sketch outputs, for the figure view and later checks."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        sketch_ids=np.asarray(sketch_ids, np.int64),
        labels=np.asarray(labels, np.int64),
        q=result.outputs.q.astype(np.float32),
        cos_theta_y=result.outputs.cos_theta_y.astype(np.float32),
        predicted=result.outputs.predicted.astype(np.int64),
        class_names=np.asarray(result.class_names),
    )
    return buffer.getvalue()


def read_heldout(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def heldout_panel(title: str, heldout: dict[str, np.ndarray], display_names: dict[str, str]) -> Panel:
    """A figure panel from stored held-out outputs: category display name → (q, cosθ_y)."""
    points = {}
    for index, slug in enumerate(heldout["class_names"].tolist()):
        members = heldout["labels"] == index
        points[display_names.get(slug, slug)] = (heldout["q"][members], heldout["cos_theta_y"][members])
    return Panel(title, points)


def training_figure(title: str, heldout: dict[str, np.ndarray], display_names: dict[str, str]) -> bytes:
    panel = heldout_panel(title, heldout, display_names)
    return q_theta_figure([panel], list(panel.points)[:FIGURE_CATEGORIES], fmt="png")
