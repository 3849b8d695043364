"""Sketch encoders f(x) over padded stroke-5 (+ absolute xy) input. Pure torch.

Every encoder takes ``x`` (B, T, 7) float and ``lengths`` (B,) int and returns
features (B, feat_dim). Outputs depend only on each sketch's first
``lengths[i]`` rows: RNNs run on packed sequences, the CNN zeroes padded
positions after every layer and pools over real positions only, so padding
amount and batch composition never change a score (up to float rounding); the
raster encoder draws only the real points.

The CNN's last layer is a plain ``Linear`` (``final_bn=False``, the default since
issue 10): ‖f‖ = q then grows with what the convolutions actually detect, and a
degraded sketch's feature shrinks with it. With a final ``BatchNorm1d`` (as in
MagFace; still used by the RNNs and by CNN checkpoints from before issue 10, which
``scoring.model_io`` loads as such) every feature dimension is standardised over
the batch, and on held-out sketches at moderate severity q fell for only
52–64 % of degraded copies against 61–73 % without it (4 categories × 400,
12 epochs; ``bench/sweep_sanity.py``, table in bench/RESULTS.md, issue 10).
The regulariser G lifts ‖f‖ into the working range [l_a, u_a] in the first
steps either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from scoring.raster import DEFAULT_MARGIN, DEFAULT_SIZE, DEFAULT_STEP, rasterise

IN_FEATURES = 7


def length_mask(lengths: torch.Tensor, t: int) -> torch.Tensor:
    """(B, T) float mask, 1 on real positions."""
    return (torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]).float()


def _feature_layer(in_dim: int, feat_dim: int, final_bn: bool = True) -> nn.Sequential:
    if not final_bn:
        return nn.Sequential(nn.Linear(in_dim, feat_dim))
    return nn.Sequential(nn.Linear(in_dim, feat_dim), nn.BatchNorm1d(feat_dim))


#: How the CNN summarises its positions: mean ‖ max (default) or the mean alone.
POOLINGS = ("meanmax", "mean")


def pool(h: torch.Tensor, lengths: torch.Tensor, pooling: str) -> torch.Tensor:
    """Masked pooling of ``(B, C, T)`` features whose padded positions are 0."""
    mean = h.sum(2) / lengths[:, None].to(h.dtype)
    if pooling == "mean":
        return mean
    top = h.amax(2)  # ReLU outputs >= 0 and padding is 0: max over real points
    return torch.cat([mean, top], dim=1)


class ConvEncoder(nn.Module):
    """1-D CNN over the point sequence (the fast CPU default, ``"cnn"``).

    Conv1d blocks (``padding = k // 2``, optional stride) with BN + ReLU;
    positions past each sketch's (downsampled) length are re-zeroed after each
    block, so a padded batch gives the same features as one sketch alone. Then
    masked mean ‖ max pooling (``pooling="mean"``: the mean alone) and a ``Linear`` to ``feat_dim``
    (``final_bn=True``: ``Linear → BN``, the layout before issue 10).
    """

    def __init__(
        self,
        feat_dim: int = 512,
        channels: tuple[int, ...] = (48, 96, 192),
        kernel_sizes: tuple[int, ...] = (5, 5, 3),
        strides: tuple[int, ...] = (1, 2, 2),
        pooling: str = "meanmax",
        final_bn: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        self.pooling = pooling
        if not len(channels) == len(kernel_sizes) == len(strides):
            raise ValueError("channels, kernel_sizes and strides must have the same length")
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError("kernel sizes must be odd")
        self.feat_dim = feat_dim
        self.strides = tuple(strides)
        blocks = []
        c_in = IN_FEATURES
        for c_out, k, stride in zip(channels, kernel_sizes, strides, strict=True):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
                    nn.BatchNorm1d(c_out),
                    nn.ReLU(inplace=True),
                )
            )
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out = _feature_layer((2 if pooling == "meanmax" else 1) * c_in, feat_dim, final_bn)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        t = int(lengths.max())
        h = x[:, :t].transpose(1, 2) * length_mask(lengths, t)[:, None, :]
        for block, stride in zip(self.blocks, self.strides, strict=True):
            lengths = torch.div(lengths - 1, stride, rounding_mode="floor") + 1  # ceil(len / stride)
            h = block(h)
            h = h * length_mask(lengths, h.shape[2])[:, None, :]
        return self.out(pool(h, lengths, self.pooling))


class RasterEncoder(nn.Module):
    """2-D CNN over the sketch drawn as a small image (``"raster"``).

    :func:`scoring.raster.rasterise` draws the stroke-5 input as an antialiased
    ``size × size`` image; then 3×3 conv blocks with BN + ReLU, a 2×2 max pool after every
    block but the last, global pooling over pixels (mean ‖ max, or the mean alone), a
    ``layer_norm`` of the pooled vector (no affine; default on) and a plain ``Linear`` to
    ``feat_dim`` (``final_bn=True``: ``Linear → BN``). The image is a function of the real
    points only, so padding never changes a feature.

    Why the layer norm (issue 10, bench/RESULTS.md): pooled image features grow with the ink
    on the page, so without it q rose with added scribbles (q fell for 0.61 of scribbled
    held-out sketches); normalising the pooled vector leaves q a function of which parts are
    drawn, not how much ink, and q fell for 0.80–0.85 (scribble), 0.87–0.89 (jitter) and
    0.85–0.86 (displace) on two seeds at 48×48 (0.88 / 0.84 / 0.84 at the default 32×32, which
    costs about half as much).
    """

    def __init__(
        self,
        feat_dim: int = 512,
        size: int = DEFAULT_SIZE,
        channels: tuple[int, ...] = (16, 32, 64, 128),
        pooling: str = "meanmax",
        final_bn: bool = False,
        margin: int = DEFAULT_MARGIN,
        step: float = DEFAULT_STEP,
        layer_norm: bool = True,
    ) -> None:
        super().__init__()
        self.layer_norm = layer_norm
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        if not channels:
            raise ValueError("channels must name at least one block")
        if size >> (len(channels) - 1) < 2:
            raise ValueError(f"size {size} is too small for {len(channels)} pooled blocks")
        self.feat_dim = feat_dim
        self.size, self.margin, self.step, self.pooling = size, margin, step, pooling
        layers: list[nn.Module] = []
        c_in = 1
        for i, c_out in enumerate(channels):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.out = _feature_layer((2 if pooling == "meanmax" else 1) * c_in, feat_dim, final_bn)

    def image(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return rasterise(x, lengths, self.size, self.margin, self.step)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.body(self.image(x, lengths)).flatten(2)
        pooled = h.mean(2) if self.pooling == "mean" else torch.cat([h.mean(2), h.amax(2)], dim=1)
        if self.layer_norm:
            pooled = nn.functional.layer_norm(pooled, pooled.shape[1:])
        return self.out(pooled)


class HybridEncoder(nn.Module):
    """The 1-D CNN over the point sequence and the raster CNN side by side (``"hybrid"``, the default).

    Feature = ``cnn(x) + raster(x)``: both end in a plain ``Linear``, so the sum is one
    ``Linear`` over their pooled features concatenated. ``sequence`` and ``raster`` are
    the keyword arguments of :class:`ConvEncoder` and :class:`RasterEncoder`.

    Why both (issue 10): the raster branch sees added clutter, wobble and parts that fell
    apart; the sequence branch (stroke order, pen lifts, point count) keeps the most signal
    on unfinished drawings. Alone, the layer-normed raster let q fall for 0.57–0.62 of
    truncated held-out sketches, the 1-D CNN for 0.65; together 0.68–0.69, and above the 1-D
    CNN alone in scribble and displace, level in jitter (bench/RESULTS.md).
    """

    def __init__(self, feat_dim: int = 512, sequence: dict | None = None, raster: dict | None = None) -> None:
        super().__init__()
        self.feat_dim = feat_dim
        self.sequence = ConvEncoder(feat_dim=feat_dim, **(sequence or {}))
        self.raster = RasterEncoder(feat_dim=feat_dim, **(raster or {}))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.sequence(x, lengths) + self.raster(x, lengths)


class RNNEncoder(nn.Module):
    """Bidirectional GRU/LSTM on packed sequences.

    Feature = last layer's final forward ‖ backward hidden state, then
    ``Linear → BN``. ``paper_bilstm`` is the paper's 2×1024 BiLSTM (GPU only);
    ``gru`` is a small CPU candidate.
    """

    def __init__(
        self,
        cell: str = "gru",
        hidden: int = 128,
        layers: int = 1,
        feat_dim: int = 512,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        rnn_cls = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.feat_dim = feat_dim
        self.rnn = rnn_cls(
            IN_FEATURES,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.out = _feature_layer(2 * hidden, feat_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers*2, B, H)
        return self.out(torch.cat([h_n[-2], h_n[-1]], dim=1))


def _paper_bilstm(**kw: Any) -> RNNEncoder:
    kw.setdefault("feat_dim", 1024)
    return RNNEncoder(cell="lstm", hidden=kw.pop("hidden", 1024), layers=kw.pop("layers", 2), **kw)


def _small_gru(**kw: Any) -> RNNEncoder:
    return RNNEncoder(cell="gru", hidden=kw.pop("hidden", 128), layers=kw.pop("layers", 1), **kw)


#: Registry by name. ``hybrid`` (1-D CNN + raster CNN) is the default since issue 10; ``cnn`` was before.
ENCODERS: dict[str, Callable[..., nn.Module]] = {
    "cnn": ConvEncoder,
    "raster": RasterEncoder,
    "hybrid": HybridEncoder,
    "gru": _small_gru,
    "paper_bilstm": _paper_bilstm,
}
DEFAULT_ENCODER = "hybrid"
RNN_ENCODERS = frozenset({"gru", "paper_bilstm"})


def build_encoder(name: str, **kw: Any) -> nn.Module:
    """Instantiate encoder ``name`` from :data:`ENCODERS` with keyword overrides."""
    try:
        factory = ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; expected one of {sorted(ENCODERS)}") from None
    return factory(**kw)
