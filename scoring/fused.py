"""Inference-only copies of the CNN encoders: BatchNorm folded into the layers. Pure torch.

``fuse_conv_encoder(encoder)`` returns a module with the same outputs as the trained
encoder in eval mode (up to float rounding). For the raster encoder
(:class:`scoring.encoders.RasterEncoder`) it is a copy whose ``Conv2d → BatchNorm2d`` pairs
are one ``Conv2d`` each (the BN becomes ``Identity``). For the 1-D
:class:`scoring.encoders.ConvEncoder`:

- every ``Conv1d → BatchNorm1d`` becomes one ``Conv1d`` with a bias (w·γ/σ, β − μ·γ/σ),
  and the final ``Linear → BatchNorm1d`` (older checkpoints) one ``Linear``;
- the input is transposed once into a contiguous ``(B, C, T)`` tensor;
- each level's length mask is built once, as a ``(B, 1, T)`` tensor, and multiplied in place.

The handler (:class:`scoring.inference.ScoringHandler`) uses it for the CNN; training never does.
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


def fuse_conv_encoder(encoder: nn.Module) -> nn.Module:
    """The fused copy of a trained CNN encoder (1-D, raster or both); any other encoder as it is."""
    if encoder.training:
        return encoder
    if isinstance(encoder, ConvEncoder):
        return FusedConvEncoder(encoder)
    if isinstance(encoder, RasterEncoder):
        return fuse_raster_encoder(encoder)
    if isinstance(encoder, HybridEncoder):
        fused = copy.deepcopy(encoder).eval()
        fused.sequence = FusedConvEncoder(encoder.sequence)  # type: ignore[assignment]
        fused.raster = fuse_raster_encoder(encoder.raster)
        return fused
    return encoder
