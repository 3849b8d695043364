"""Render normalised strokes as SVG (pages) or PNG (exports)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

Stroke = Sequence[Sequence[float]]  # [[x...], [y...]] in the unit box

PADDING = 0.04


def svg(strokes: Sequence[Stroke], *, stroke_width: float = 0.012, title: str = "") -> str:
    """A clean standalone SVG: unit viewBox with padding, round caps and joins."""
    low, size = -PADDING, 1 + 2 * PADDING
    paths = "".join(f'<path d="{_path_data(stroke)}"/>' for stroke in strokes)
    title_tag = f"<title>{_escape(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{low} {low} {size} {size}">'
        f"{title_tag}"
        f'<g fill="none" stroke="#111" stroke-width="{stroke_width}" '
        f'stroke-linecap="round" stroke-linejoin="round">{paths}</g></svg>'
    )


def _path_data(stroke: Stroke) -> str:
    xs, ys = stroke[0], stroke[1]
    points = [f"{x:.3f} {y:.3f}" for x, y in zip(xs, ys)]
    if len(points) == 1:
        return f"M{points[0]}l0 0"  # a dot: round caps draw it
    return "M" + "L".join(points)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def png(strokes: Sequence[Stroke], *, size: int = 256, line_width: int | None = None) -> bytes:
    """A white PNG of ``size`` pixels with the sketch drawn in black."""
    width = line_width or max(1, round(size * 0.012))
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    scale = size / (1 + 2 * PADDING)
    radius = width / 2
    for stroke in strokes:
        points = [((x + PADDING) * scale, (y + PADDING) * scale) for x, y in zip(stroke[0], stroke[1])]
        if len(points) > 1:
            draw.line(points, fill=0, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
