"""Report figures as bytes (matplotlib Agg, Figure objects only — no pyplot state, no Django).

- ``agreement_figure``: the paper's Fig. 6 — one panel per category, one line per
  method, challenge level on x, % agreement on y, shaded interval, dashed 50% chance line.
- ``bt_vs_q_figure``: Bradley–Terry score against the scorer's q, one panel per category.
- ``yes_rate_figure``: single-sketch studies, the fitted yes rate against q, one line per method.
  (Best of K reuses ``agreement_figure`` with the 1/K chance line.)

Output is deterministic for the same input (fixed SVG hash salt, no dates in metadata).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

__all__ = ["FORMATS", "agreement_figure", "bt_vs_q_figure", "psychometric_figure", "yes_rate_figure"]

FORMATS = ("svg", "png", "pdf")
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}, "png": {}}


def _check_format(out_format: str) -> str:
    fmt = str(out_format).lower()
    if fmt not in FORMATS:
        raise ValueError(f"out_format must be one of {FORMATS}, got {out_format!r}")
    return fmt


def _grid(n_panels: int, ncols: int | None) -> tuple[int, int]:
    if n_panels < 1:
        raise ValueError("nothing to plot: no categories given")
    cols = ncols or min(4, n_panels)
    return math.ceil(n_panels / cols), cols


def _render(fig: Figure, fmt: str, dpi: int) -> bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "sketchq", "svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt], bbox_inches="tight")
    return buf.getvalue()


def agreement_figure(
    curves_by_category: Mapping[str, Mapping[str, tuple]],
    level_labels: Sequence[str],
    out_format: str = "svg",
    *,
    ncols: int | None = None,
    chance: float = 0.5,
    title: str | None = None,
    dpi: int = 150,
    level_flags: Mapping[str, Sequence[str]] | None = None,
) -> bytes:
    """``curves_by_category[category][method] = (levels, rates, lo, hi)`` with rates in [0, 1]
    (as returned by ``analysis.agreement.curve``); NaN rates leave gaps. ``level_flags[category]``
    holds one text per level ("" or e.g. "thin (n=7)"): flagged levels are shaded and labelled."""
    fmt = _check_format(out_format)
    cats = list(curves_by_category)
    rows, cols = _grid(len(cats), ncols)
    fig = Figure(figsize=(3.6 * cols, 3.0 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharey=True, squeeze=False)).ravel()
    methods: list[str] = []
    for curves in curves_by_category.values():
        methods.extend(m for m in curves if m not in methods)
    colours = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    n_levels = len(level_labels)
    for ax, cat in zip(axes, cats):
        for method, values in curves_by_category[cat].items():
            if len(values) != 4:
                raise ValueError(f"curve for {cat!r}/{method!r} must be (levels, rates, lo, hi)")
            levels, rates, lo, hi = (np.asarray(v, dtype=float) for v in values)
            if not (levels.shape == rates.shape == lo.shape == hi.shape):
                raise ValueError(f"curve for {cat!r}/{method!r}: arrays differ in length")
            col = colours[method]
            ax.plot(levels, 100 * rates, marker="o", ms=3, lw=1.4, color=col, label=method)
            ax.fill_between(levels, 100 * lo, 100 * hi, color=col, alpha=0.15, lw=0)
        ax.axhline(100 * chance, color="0.4", ls="--", lw=1)
        for lv, flag in enumerate((level_flags or {}).get(cat, ())):
            if flag:
                ax.axvspan(lv - 0.5, lv + 0.5, color="0.85", alpha=0.6, lw=0)
                ax.text(lv, 3, flag, rotation=90, fontsize=6, ha="center", va="bottom", color="0.25")
        ax.set_title(cat, fontsize=10)
        ax.set_xticks(range(n_levels))
        ax.set_xticklabels(level_labels, rotation=60, fontsize=7)
        ax.set_xlim(-0.5, n_levels - 0.5)
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    for ax in axes[: len(cats)][::cols]:
        ax.set_ylabel("% agreement with q")
    for ax in axes[len(cats) :]:
        ax.set_visible(False)
    for ax in axes[(rows - 1) * cols : len(cats)]:
        ax.set_xlabel("normalised |Δq|")
    if methods:
        fig.legend(
            [Line2D([], [], color=colours[m], marker="o", ms=3) for m in methods],
            methods,
            loc="outside lower center",
            ncols=min(len(methods), 5),
            fontsize=8,
        )
    if title:
        fig.suptitle(title)
    return _render(fig, fmt, dpi)


def bt_vs_q_figure(
    points_by_category: Mapping[str, tuple],
    out_format: str = "svg",
    *,
    annotations: Mapping[str, str] | None = None,
    ncols: int | None = None,
    title: str | None = None,
    dpi: int = 150,
) -> bytes:
    """``points_by_category[category] = (q, bt_scores)`` or ``(q, bt_scores, lo, hi)``
    (bootstrap interval → vertical error bars). ``annotations[category]`` is written in
    the panel corner (e.g. "τ = 0.71 [0.66, 0.75]")."""
    fmt = _check_format(out_format)
    cats = list(points_by_category)
    rows, cols = _grid(len(cats), ncols)
    fig = Figure(figsize=(3.4 * cols, 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, cat in zip(axes, cats):
        vals = points_by_category[cat]
        if len(vals) not in (2, 4):
            raise ValueError(f"points for {cat!r} must be (q, bt) or (q, bt, lo, hi)")
        q, s = np.asarray(vals[0], float), np.asarray(vals[1], float)
        if q.shape != s.shape:
            raise ValueError(f"points for {cat!r}: q and bt scores differ in length")
        if len(vals) == 4:
            lo, hi = np.asarray(vals[2], float), np.asarray(vals[3], float)
            ax.errorbar(
                q,
                s,
                yerr=[np.clip(s - lo, 0, None), np.clip(hi - s, 0, None)],
                fmt="none",
                ecolor="C0",
                alpha=0.25,
                lw=0.8,
            )
        ax.scatter(q, s, s=8, color="C0", alpha=0.7, lw=0)
        ax.set_title(cat, fontsize=10)
        ax.set_xlabel("q (scorer)")
        ax.set_ylabel("Bradley–Terry score")
        ax.grid(alpha=0.3)
        if annotations and cat in annotations:
            ax.text(0.03, 0.97, annotations[cat], transform=ax.transAxes, va="top", fontsize=8)
    for ax in axes[len(cats) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return _render(fig, fmt, dpi)


def psychometric_figure(
    methods: Mapping[str, dict],
    out_format: str = "svg",
    *,
    title: str | None = None,
    dpi: int = 150,
) -> bytes:
    """One panel: agreement against the normalised gap, all categories pooled, one colour per method.

    ``methods[name]`` has ``x`` (level midpoints), ``rate``, ``n`` and ``flag`` per level, the
    fitted ``curve`` as (gaps, p), and ``g75``, ``g75_lo``, ``g75_hi``. Points of thin or empty
    levels are hollow and labelled with their count."""
    fmt = _check_format(out_format)
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (name, m) in enumerate(methods.items()):
        col = f"C{i % 10}"
        x, rate, flags = np.asarray(m["x"], float), np.asarray(m["rate"], float), list(m["flag"])
        thin = np.array([bool(f) for f in flags])
        ax.plot(x[~thin], 100 * rate[~thin], "o", ms=4, color=col)
        ax.plot(x[thin], 100 * rate[thin], "o", ms=4, mfc="none", color=col)
        for xi, ri, flag in zip(x[thin], rate[thin], np.array(flags)[thin]):
            y = 100 * ri if np.isfinite(ri) else 52
            ax.annotate(flag, (xi, y), fontsize=6, color=col, xytext=(2, 4), textcoords="offset points")
        gaps, p = m["curve"]
        label = name
        if np.isfinite(m.get("g75", np.nan)):
            label += f": g75 = {m['g75']:.2f} [{m['g75_lo']:.2f}, {m['g75_hi']:.2f}]"
            if np.isfinite(m.get("g75_lo", np.nan)):
                ax.axvspan(m["g75_lo"], m["g75_hi"], color=col, alpha=0.12, lw=0)
        ax.plot(gaps, 100 * np.asarray(p), color=col, lw=1.5, label=label)
    ax.axhline(75, color="0.5", ls=":", lw=1)
    ax.axhline(50, color="0.4", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(40, 102)
    ax.set_xlabel("normalised |Δq|")
    ax.set_ylabel("% agreement with q")
    _finish_panel(ax, legend=bool(methods), title=title)
    return _render(fig, fmt, dpi)


def _finish_panel(ax, *, legend: bool, title: str | None) -> None:
    """The one-panel figures' common finish: light grid, small legend bottom right, optional title."""
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)


def yes_rate_figure(
    curves_by_method: Mapping[str, tuple],
    out_format: str = "svg",
    *,
    title: str | None = None,
    dpi: int = 150,
) -> bytes:
    """One panel: ``curves_by_method[method] = (q, rate, lo, hi)`` (rates in [0, 1], the
    logistic fit on a grid of q and its band), a shaded band per method, dashed 50% line."""
    fmt = _check_format(out_format)
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (method, values) in enumerate(curves_by_method.items()):
        if len(values) != 4:
            raise ValueError(f"curve for {method!r} must be (q, rate, lo, hi)")
        q, rate, lo, hi = (np.asarray(v, dtype=float) for v in values)
        if not (q.shape == rate.shape == lo.shape == hi.shape):
            raise ValueError(f"curve for {method!r}: arrays differ in length")
        col = f"C{i % 10}"
        ax.plot(q, 100 * rate, color=col, lw=1.5, label=method)
        ax.fill_between(q, 100 * lo, 100 * hi, color=col, alpha=0.15, lw=0)
    ax.axhline(50, color="0.4", ls="--", lw=1)
    ax.set_ylim(0, 102)
    ax.set_xlabel("q (scorer)")
    ax.set_ylabel("% answered yes")
    _finish_panel(ax, legend=bool(curves_by_method), title=title)
    return _render(fig, fmt, dpi)
