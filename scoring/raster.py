"""Stroke-5 rows → small antialiased grey-level images, batched. Pure torch.

The raster encoder (:class:`scoring.encoders.RasterEncoder`) draws each sketch from the
encoder input every other encoder reads, ``(B, T, 7)`` = stroke-5 + absolute xy in the unit
box, so training, stored input (:mod:`scoring.stored_input`), the scoring handler and the
sanity report need no second representation.

How a sketch is drawn, on a ``size × size`` grid with ``margin`` empty pixels on each side
(pixel centres at integer coordinates; x → column, y → row; the unit box maps onto
``[margin, size − 1 − margin]``):

- a segment joins point t to point t + 1 when the pen stays down after t (column 2) and
  t + 1 is a real point (t + 1 < length); a stroke of one point is a dot;
- each segment is sampled every ``step`` pixels or closer (at least one sample), each stroke's
  last point once more; every sample is splatted onto its four neighbouring pixels with
  bilinear weights times the spacing, so a line deposits about 1 per pixel of length (an
  antialiased line one pixel wide: a line through pixel centres gives 1 there, one halfway
  between two rows gives 0.5 to each);
- pixel values are clamped to [0, 1]; 0 is paper.

Deterministic (no randomness); coordinates are clamped into the unit box first, so every
sample lands inside the frame. A degraded sketch (scribble, truncate, …) looks as it would on
paper: added clutter is added ink and missing parts are missing ink.
"""

from __future__ import annotations

import torch

DEFAULT_SIZE = 32
DEFAULT_MARGIN = 2
DEFAULT_STEP = 0.5


def rasterise(
    x: torch.Tensor,
    lengths: torch.Tensor,
    size: int = DEFAULT_SIZE,
    margin: int = DEFAULT_MARGIN,
    step: float = DEFAULT_STEP,
) -> torch.Tensor:
    """``(B, T, 7)`` stroke-5 + xy rows and ``(B,)`` lengths → ``(B, 1, size, size)`` float images."""
    if x.dim() != 3 or x.shape[2] < 7:
        raise ValueError(f"x must be (B, T, 7), got {tuple(x.shape)}")
    if size < 2 * margin + 2:
        raise ValueError(f"size {size} leaves no room inside a margin of {margin}")
    if step <= 0:
        raise ValueError("step must be > 0")
    b, device = x.shape[0], x.device
    image = torch.zeros(b * size * size, dtype=torch.float32, device=device)
    if b == 0:
        return image.reshape(0, 1, size, size)
    t = int(lengths.max())
    rows = x[:, :t].float()
    span = size - 1 - 2 * margin
    points = rows[:, :, 5:7].clamp(0.0, 1.0) * span + margin  # (B, T, 2) pixel coordinates
    real = torch.arange(t, device=device)[None, :] < lengths[:, None]  # (B, T)
    pen_down = (rows[:, :, 2] > 0.5) & real

    # Segments t → t+1 where the pen stays down and t+1 is a real point.
    joined = pen_down[:, :-1] & real[:, 1:]
    sketch_of, start = joined.nonzero(as_tuple=True)
    a = points[sketch_of, start]
    delta = points[sketch_of, start + 1] - a
    count = torch.ceil(delta.norm(dim=1) / step).clamp(min=1).long()
    segment = torch.repeat_interleave(torch.arange(len(count), device=device), count)
    first = torch.cumsum(count, 0) - count
    k = torch.arange(int(count.sum()), device=device) - first[segment]
    spacing = delta.norm(dim=1) / count
    fraction = (k.float() / count[segment].float())[:, None]
    samples = a[segment] + fraction * delta[segment]
    weights = spacing[segment].clamp(min=1e-6)
    owner = sketch_of[segment]

    # Each stroke's last point (and every dot): real points where the pen lifts or the sketch ends.
    last = real & ~(pen_down & torch.cat([real[:, 1:], torch.zeros_like(real[:, :1])], dim=1))
    end_sketch, end_index = last.nonzero(as_tuple=True)
    samples = torch.cat([samples, points[end_sketch, end_index]])
    weights = torch.cat([weights, torch.full((len(end_sketch),), step, device=device)])
    owner = torch.cat([owner, end_sketch])

    _splat(image, samples, weights, owner, size)
    return image.clamp_(0.0, 1.0).reshape(b, 1, size, size)


def _splat(
    image: torch.Tensor, samples: torch.Tensor, weights: torch.Tensor, owner: torch.Tensor, size: int
) -> None:
    """Add bilinear-weighted samples to a flat ``(B·size·size)`` image in place."""
    base = samples.floor()
    frac = samples - base
    col0 = base[:, 0].long().clamp(0, size - 1)
    row0 = base[:, 1].long().clamp(0, size - 1)
    col1 = (col0 + 1).clamp(max=size - 1)
    row1 = (row0 + 1).clamp(max=size - 1)
    fx, fy = frac[:, 0], frac[:, 1]
    offset = owner * (size * size)
    for row, col, w in (
        (row0, col0, (1 - fx) * (1 - fy)),
        (row0, col1, fx * (1 - fy)),
        (row1, col0, (1 - fx) * fy),
        (row1, col1, fx * fy),
    ):
        image.index_add_(0, offset + row * size + col, w * weights)
