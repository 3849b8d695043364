"""Inference-only copies of the CNN encoders: BatchNorm folded into the layers. Pure torch.

``fuse_conv_encoder(encoder)`` returns a module with the same outputs as the trained
encoder in eval mode (up to float rounding). For the raster encoder
(:class:`scoring.encoders.RasterEncoder`) it is :func:`fast_raster_encoder`, a copy in which

- every ``Conv2d → BatchNorm2d`` pair is one ``Conv2d`` with a bias (the final
  ``Linear → BatchNorm1d`` of ``final_bn=True`` one ``Linear``);
- each 2×2 max pool is the elementwise maximum of the four strided views of its input
  (``h[..., ::2, ::2]`` …), the same values as ``nn.MaxPool2d(2)`` (a maximum is exact) at
  about a fifth of its cost on CPU: ``max_pool2d`` computed its index tensor even under
  ``inference_mode`` and took 30 % of the hybrid's forward pass (issue 10, bench/RESULTS.md).

(:func:`fuse_raster_encoder`, the copy that keeps ``nn.MaxPool2d``, is the path before that
change; ``bench/bench_scoring_fast.py`` times it as "today's".) For the 1-D
:class:`scoring.encoders.ConvEncoder`:

- every ``Conv1d → BatchNorm1d`` becomes one ``Conv1d`` with a bias (w·γ/σ, β − μ·γ/σ),
  and the final ``Linear → BatchNorm1d`` (older checkpoints) one ``Linear``;
- the input is transposed once into a contiguous ``(B, C, T)`` tensor;
- each level's length mask is built once, as a ``(B, 1, T)`` tensor, and multiplied in place.

The hybrid encoder gets both branches fused. The handler
(:class:`scoring.inference.ScoringHandler`) scores with these; training never does.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from scoring.encoders import ConvEncoder, HybridEncoder, RasterEncoder, pool


def _fold(
    weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm1d
) -> tuple[torch.Tensor, torch.Tensor]:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    folded_bias = bn.bias - bn.running_mean * scale
    if bias is not None:
        folded_bias = folded_bias + bias * scale
    return weight * scale.reshape(shape), folded_bias


class FusedConvEncoder(nn.Module):
    """Eval-only :class:`ConvEncoder` with BatchNorm folded in (see the module docstring)."""

    def __init__(self, encoder: ConvEncoder) -> None:
        super().__init__()
        self.feat_dim = encoder.feat_dim
        self.strides = encoder.strides
        self.pooling = getattr(encoder, "pooling", "meanmax")
        self.convs = nn.ModuleList()
        for block in encoder.blocks:
            conv, bn = block[0], block[1]
            fused = nn.Conv1d(
                conv.in_channels,
                conv.out_channels,
                conv.kernel_size[0],
                stride=conv.stride[0],
                padding=conv.padding[0],
            )
            with torch.no_grad():
                w, b = _fold(conv.weight, conv.bias, bn)
                fused.weight.copy_(w)
                fused.bias.copy_(b)
            self.convs.append(fused)
        linear = encoder.out[0]
        self.out = nn.Linear(
            linear.in_features, linear.out_features, bias=linear.bias is not None or len(encoder.out) > 1
        )
        with torch.no_grad():
            if len(encoder.out) > 1:  # Linear → BatchNorm1d (checkpoints before issue 10)
                w, b = _fold(linear.weight, linear.bias, encoder.out[1])
            else:
                w, b = linear.weight, linear.bias
            self.out.weight.copy_(w)
            if b is not None:
                self.out.bias.copy_(b)
        self.eval()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        t = int(lengths.max())
        h = x[:, :t].transpose(1, 2).contiguous()
        positions = torch.arange(t, device=x.device)
        h.mul_((positions[None, :] < lengths[:, None]).unsqueeze(1).to(h.dtype))
        for conv, stride in zip(self.convs, self.strides, strict=True):
            lengths = torch.div(lengths - 1, stride, rounding_mode="floor") + 1
            h = torch.relu_(conv(h))
            mask = (positions[: h.shape[2]][None, :] < lengths[:, None]).unsqueeze(1)
            h.mul_(mask.to(h.dtype))
        return self.out(pool(h, lengths, self.pooling))


def fuse_raster_encoder(encoder: RasterEncoder) -> RasterEncoder:
    """A copy of a trained :class:`RasterEncoder` with every BatchNorm folded into the layer before it."""
    fused = copy.deepcopy(encoder).eval()
    layers = list(fused.body)
    with torch.no_grad():
        for i, layer in enumerate(layers):
            if isinstance(layer, nn.BatchNorm2d):
                conv = layers[i - 1]
                w, b = _fold(conv.weight, conv.bias, layer)
                replacement = nn.Conv2d(
                    conv.in_channels, conv.out_channels, conv.kernel_size, padding=conv.padding
                )
                replacement.weight.copy_(w)
                replacement.bias.copy_(b)
                layers[i - 1], layers[i] = replacement, nn.Identity()
        fused.body = nn.Sequential(*[layer for layer in layers if not isinstance(layer, nn.Identity)])
        if len(fused.out) > 1:  # Linear → BatchNorm1d (final_bn=True)
            linear = fused.out[0]
            w, b = _fold(linear.weight, linear.bias, fused.out[1])
            folded = nn.Linear(linear.in_features, linear.out_features)
            folded.weight.copy_(w)
            folded.bias.copy_(b)
            fused.out = nn.Sequential(folded)
    return fused.eval()


def max_pool_2x2(h: torch.Tensor) -> torch.Tensor:
    """``nn.MaxPool2d(2)`` of ``(B, C, H, W)`` (odd rows/columns dropped, as it does), as the
    elementwise maximum of the four strided views: equal values, no index tensor."""
    h = h[:, :, : h.shape[2] // 2 * 2, : h.shape[3] // 2 * 2]
    out = torch.maximum(h[:, :, ::2, ::2], h[:, :, ::2, 1::2])
    torch.maximum(out, h[:, :, 1::2, ::2], out=out)
    return torch.maximum(out, h[:, :, 1::2, 1::2], out=out)


class MaxPool2x2(nn.Module):
    """``nn.MaxPool2d(2)`` for inference: :func:`max_pool_2x2`."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return max_pool_2x2(h)


def _is_plain_2x2_pool(layer: nn.Module) -> bool:
    if not isinstance(layer, nn.MaxPool2d):
        return False
    pairs = (layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    return [p if isinstance(p, tuple) else (p, p) for p in pairs] == [(2, 2), (2, 2), (0, 0), (1, 1)] and (
        not layer.ceil_mode and not layer.return_indices
    )


def fast_raster_encoder(encoder: RasterEncoder) -> RasterEncoder:
    """:func:`fuse_raster_encoder`, then every ``nn.MaxPool2d(2)`` replaced by :class:`MaxPool2x2`.

    Still a :class:`RasterEncoder` (its own ``forward``: drawing, pooling over pixels, layer
    norm), so only the layers differ."""
    fused = fuse_raster_encoder(encoder)
    fused.body = nn.Sequential(*[MaxPool2x2() if _is_plain_2x2_pool(m) else m for m in fused.body])
    return fused.eval()


def fuse_conv_encoder(encoder: nn.Module) -> nn.Module:
    """The fused copy of a trained CNN encoder (1-D, raster or both); any other encoder as it is."""
    if encoder.training:
        return encoder
    if isinstance(encoder, ConvEncoder):
        return FusedConvEncoder(encoder)
    if isinstance(encoder, RasterEncoder):
        return fast_raster_encoder(encoder)
    if isinstance(encoder, HybridEncoder):
        fused = copy.deepcopy(encoder).eval()  # HybridEncoder's own forward, fused branches
        fused.sequence = FusedConvEncoder(encoder.sequence)  # type: ignore[assignment]
        fused.raster = fast_raster_encoder(encoder.raster)
        return fused
    return encoder
