"""The q-vs-θ figure (the paper's Fig. 7): one scatter per category and scorer.

Pure matplotlib on arrays (Agg backend, no display). With GACL, better sketches
(larger q) should sit closer to their class centre (smaller θ): an "L" shape.
A softmax classifier's feature norm shows no such order. Columns are scorers
(e.g. GACL-cos beside softmax), rows are categories; a single scorer's
categories are laid out as a grid instead.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
#: At most this many points per scatter (a seeded subsample beyond it), to keep SVGs small.
MAX_POINTS = 1500


@dataclass(frozen=True)
class Panel:
    """One scorer's points: category name → (q, cosθ_y) arrays."""

    title: str
    points: Mapping[str, tuple[np.ndarray, np.ndarray]]


def theta_of(cos_theta: np.ndarray) -> np.ndarray:
    """θ in degrees from cosθ (clipped to [−1, 1] against rounding)."""
    return np.degrees(np.arccos(np.clip(np.asarray(cos_theta, dtype=np.float64), -1.0, 1.0)))


def q_theta_figure(
    panels: Sequence[Panel], categories: Sequence[str], fmt: str = "png", dpi: int = 110
) -> bytes:
    """Render the scatter grid as PNG or SVG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    if not panels or not categories:
        raise ValueError("need at least one scorer and one category")
    cells = _layout(len(panels), len(categories))
    rows, cols = max(r for r, _ in cells.values()) + 1, max(c for _, c in cells.values()) + 1
    figure = Figure(figsize=(3.4 * cols, 2.8 * rows), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    rng = np.random.default_rng(0)
    for (p, c), (row, col) in cells.items():
        _scatter(axes[row][col], panels[p], categories[c], rng, show_scorer=len(panels) > 1 and row == 0)
    for row in range(rows):
        for col in range(cols):
            if not any(cell == (row, col) for cell in cells.values()):
                axes[row][col].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


def _layout(n_panels: int, n_categories: int) -> dict[tuple[int, int], tuple[int, int]]:
    """(panel, category) → (row, col)."""
    if n_panels == 1:
        cols = min(4, n_categories)
        return {(0, c): (c // cols, c % cols) for c in range(n_categories)}
    return {(p, c): (c, p) for p in range(n_panels) for c in range(n_categories)}


def _scatter(ax, panel: Panel, category: str, rng: np.random.Generator, show_scorer: bool) -> None:
    q, cos = panel.points.get(category, (np.empty(0), np.empty(0)))
    q, theta = np.asarray(q, dtype=np.float64), theta_of(cos)
    title = f"{panel.title}\n{category}" if show_scorer else category
    if len(q) == 0:
        ax.set_title(f"{title}: no points", fontsize=9)
        ax.set_axis_off()
        return
    rho = _spearman(q, -theta)
    shown = rng.choice(len(q), MAX_POINTS, replace=False) if len(q) > MAX_POINTS else slice(None)
    ax.scatter(theta[shown], q[shown], s=6, alpha=0.45, linewidths=0, color="#3465a4", rasterized=False)
    ax.set_xlabel("θ to class weight (degrees)", fontsize=8)
    ax.set_ylabel("q = ‖f(x)‖", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"{title}  (n={len(q)}, ρ(q, cosθ)={_fmt(rho)})", fontsize=9)
    ax.grid(alpha=0.25)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:+.2f}"


def sanity_figure(
    reports: Sequence[tuple[str, Mapping]], fmt: str = "png", width: float = 7.5, height: float = 2.2
) -> bytes:
    """The sanity report, small: per family, the share of held-out sketches whose q falls against
    severity (pooled over categories) with its Wilson interval, one line per scorer (the first
    solid, baselines dashed); the 50 % coin flip and the report's threshold as guides."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; expected one of {sorted(FORMATS)}")
    families = list(dict.fromkeys(r["family"] for _, rep in reports for r in rep.get("rows", [])))
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, max(1, len(families)), sharey=True, squeeze=False)[0]
    for ax, family in zip(axes, families, strict=False):
        for index, (name, report) in enumerate(reports):
            rows = [r for r in report.get("rows", []) if r["family"] == family and r["category"] == "all"]
            rows = [r for r in rows if r.get("share") is not None]
            if not rows:
                continue
            x = np.array([r["severity"] for r in rows])
            y = np.array([r["share"] for r in rows])
            err = np.array([[r["share"] - r["low"] for r in rows], [r["high"] - r["share"] for r in rows]])
            ax.errorbar(
                x,
                y,
                yerr=err,
                marker="o",
                ms=3,
                capsize=2,
                lw=1.2,
                ls="-" if index == 0 else "--",
                label=name,
            )
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
        threshold = reports[0][1].get("min_share") if reports else None
        if threshold is not None:
            ax.axhline(threshold, color="tab:red", lw=0.8, ls=":")
        ax.set_title(family, fontsize=9)
        ax.set_xticks([1, 2, 3])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("severity", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("share q falls", fontsize=8)
    if reports:
        axes[-1].legend(fontsize=6, loc="lower right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()
