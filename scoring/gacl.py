"""GACL: the geometry-aware classification layer (paper §3.2–3.5). Pure torch.

Notation. ``a = ‖f(x)‖₂`` is the raw feature magnitude; it is the quality score
``q`` that the scorer reports. Before it enters a margin function it is mapped
linearly from ``[l_a, u_a]`` onto the variant's margin range ``[l_m, u_m]`` and
clamped (paper footnote 2, as in the authors' public code). ``θ_y`` is the
angle between ``f(x)`` and the unit-normalised class weight ``W_y`` (no bias).

The training loss is cross-entropy with the target logit ``s·cosθ_y`` replaced
by ``A(m(a), θ_y)`` (Eq. 5), plus ``λ_g·G(a)`` with ``G(a) = 1/a + a/u_a²``
(Eq. 10). During training ``a`` may first be soft-binned (Eq. 18).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: GACL instantiations of A(q, θ) from §3.3, plus the plain softmax baseline.
VARIANTS = ("sca", "mul", "add", "cos")
HEADS = (*VARIANTS, "softmax")

#: Magnitude working range [l_a, u_a] of the authors' public code.
L_A, U_A = 10.0, 100.0
S_DEFAULT = 64.0
LAMBDA_G_DEFAULT = 150.0

#: Margin ranges [l_m, u_m] per variant (the paper's l_q, u_q in §3.3). ``cos`` is
#: written A = s·cosθ − q; the paper's [0.35, 0.8] are CosFace margins in cosine
#: units, so in the logit units of that formula they are s·[0.35, 0.8]
#: (A = s·(cosθ − m) exactly, see README_gacl.md). At s = 64: [22.4, 51.2].
MARGIN_RANGES: dict[str, tuple[float, float]] = {
    "sca": (0.10, 0.30),
    "mul": (1.10, 1.25),
    "add": (0.45, 0.65),
    "cos": (0.35 * S_DEFAULT, 0.80 * S_DEFAULT),
}

_COS_EPS = 1e-6


def default_margin_range(variant: str, s: float = S_DEFAULT) -> tuple[float, float]:
    """Margin range for ``variant``; the ``cos`` range scales with ``s``."""
    if variant == "cos":
        return (0.35 * s, 0.80 * s)
    return MARGIN_RANGES[variant]


def map_magnitude(a: torch.Tensor, l_a: float, u_a: float, l_m: float, u_m: float) -> torch.Tensor:
    """Map ``a`` linearly from ``[l_a, u_a]`` onto ``[l_m, u_m]``, clamped."""
    m = (a - l_a) * ((u_m - l_m) / (u_a - l_a)) + l_m
    return m.clamp(min(l_m, u_m), max(l_m, u_m))


def margin(variant: str, q: torch.Tensor, theta: torch.Tensor, s: float = S_DEFAULT) -> torch.Tensor:
    """A(q, θ) of §3.3 for an already mapped ``q`` (in the variant's margin range).

    ``sca``: (1−q)·s·cosθ; ``mul``: s·cos(qθ); ``add``: s·cos(θ+q); ``cos``: s·cosθ − q.
    These are the literal formulas; :class:`GACLHead` adds a monotone continuation
    for ``mul``/``add`` beyond an angle of π (see :func:`_target_logit`).
    """
    if variant == "sca":
        return (1.0 - q) * s * torch.cos(theta)
    if variant == "mul":
        return s * torch.cos(q * theta)
    if variant == "add":
        return s * torch.cos(theta + q)
    if variant == "cos":
        return s * torch.cos(theta) - q
    raise ValueError(f"unknown GACL variant {variant!r}; expected one of {VARIANTS}")


def _target_logit(variant: str, q: torch.Tensor, theta: torch.Tensor, s: float) -> torch.Tensor:
    """A(q, θ) used in training: the literal formula, kept decreasing in θ.

    For ``mul``/``add`` the angle ``qθ`` / ``θ+q`` can pass π for a badly placed
    sample, where cos turns back up and would reward moving away from the class.
    Past π we continue linearly, ``s·(−1 − (φ − π))``: continuous, still
    decreasing (the same fix SphereFace/ArcFace use in spirit).
    """
    if variant in ("mul", "add"):
        phi = q * theta if variant == "mul" else theta + q
        return torch.where(
            phi <= math.pi, s * torch.cos(phi.clamp(max=math.pi)), s * (-1.0 - (phi - math.pi))
        )
    return margin(variant, q, theta, s)


def regulariser(q: torch.Tensor, u_a: float = U_A) -> torch.Tensor:
    """G(q) = 1/q + q/u_a² (Eq. 10 ff.), minimal at q = u_a."""
    return 1.0 / q + q / (u_a * u_a)


def cut_points_for_epoch(epoch: int, n_epochs: int, start: int = 5, end: int = 20, hold: int = 5) -> int:
    """Number of soft-binning cut points in ``epoch`` (0-based).

    ``start`` for the first ``hold`` epochs, then linear growth reaching ``end``
    in the last epoch (paper §4 Settings: 5 for the first 5 epochs, up to 20).
    """
    last = n_epochs - 1
    if epoch < hold or last < hold:
        return start
    frac = min(1.0, (epoch - (hold - 1)) / (last - (hold - 1)))
    return int(round(start + frac * (end - start)))


def cut_points(n: int, low: float, high: float) -> torch.Tensor:
    """``n`` cut points equally spaced over the working range ``[low, high]``."""
    return torch.linspace(low, high, n)


def soft_bin(q: torch.Tensor, cut_points: torch.Tensor, tau: float) -> torch.Tensor:
    """Soft binning of Eq. 18: q̂ = Σ softmax((w·q + b)/τ) · values.

    ``cut_points`` β (n, increasing) split the line into n+1 bins; w = [1 … n+1],
    b = [0, −β₁, −β₁−β₂, …]. Bin k's value is its lower cut point and the bin
    below β₁ takes β₁ (i.e. floor, clamped to the range: the paper's example
    maps 0.55, 0.6 → 0.5). As τ → 0 this is that bin value; for τ > 0 it is
    smooth. Logits are computed as cumulative sums of (q − β_j), which differ
    from w·q + b only by q itself, a per-row constant the softmax ignores.
    """
    beta = cut_points.to(q)
    steps = q.unsqueeze(-1) - beta  # (…, n): q − β_j
    logits = torch.cat([torch.zeros_like(steps[..., :1]), steps.cumsum(-1)], dim=-1)
    values = torch.cat([beta[:1], beta])  # (n+1,)
    return (torch.softmax(logits / tau, dim=-1) * values).sum(-1)


def soft_bin_paper(q: torch.Tensor, cut_points: torch.Tensor, tau: float) -> torch.Tensor:
    """Eq. 18 written literally with w and b (for tests; numerically less stable)."""
    beta = cut_points.to(q)
    n = beta.numel()
    w = torch.arange(1, n + 2, dtype=q.dtype, device=q.device)
    b = torch.cat([torch.zeros(1, dtype=q.dtype, device=q.device), -beta.cumsum(0)])
    values = torch.cat([beta[:1], beta])
    return (torch.softmax((w * q.unsqueeze(-1) + b) / tau, dim=-1) * values).sum(-1)


class GACLHead(nn.Module):
    """Classification layer over features ``f``: GACL variants or plain softmax.

    ``forward(feat, labels=None, n_cut_points=None)`` returns ``(logits, q, cos)``:
    ``q = ‖feat‖``, ``cos`` (B, C) the cosine to every class weight. With
    ``labels`` (training) the target logit is ``A(m(q̂), θ_y)`` where q̂ is q
    soft-binned when ``n_cut_points`` is given; without labels the logits are
    ``s·cos`` (prediction). For ``softmax`` the logits are ``W f + B`` always.
    """

    def __init__(
        self,
        feat_dim: int,
        n_classes: int,
        variant: str = "cos",
        *,
        s: float = S_DEFAULT,
        lambda_g: float = LAMBDA_G_DEFAULT,
        l_a: float = L_A,
        u_a: float = U_A,
        margin_range: tuple[float, float] | None = None,
        tau: float = 1.0,
    ) -> None:
        super().__init__()
        if variant not in HEADS:
            raise ValueError(f"unknown head {variant!r}; expected one of {HEADS}")
        if not 0 < l_a < u_a:
            raise ValueError(f"need 0 < l_a < u_a, got {l_a}, {u_a}")
        self.variant = variant
        self.s, self.lambda_g, self.l_a, self.u_a, self.tau = s, lambda_g, l_a, u_a, tau
        if variant == "softmax":
            self.margin_range = (0.0, 0.0)
            self.linear = nn.Linear(feat_dim, n_classes, bias=True)
        else:
            self.margin_range = tuple(margin_range or default_margin_range(variant, s))  # type: ignore[assignment]
            self.weight = nn.Parameter(torch.empty(n_classes, feat_dim))
            nn.init.xavier_uniform_(self.weight)

    @property
    def class_weight(self) -> torch.Tensor:
        return self.linear.weight if self.variant == "softmax" else self.weight

    def forward(
        self,
        feat: torch.Tensor,
        labels: torch.Tensor | None = None,
        n_cut_points: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q = feat.norm(dim=1)
        cos = F.linear(F.normalize(feat, dim=1), F.normalize(self.class_weight, dim=1))
        if self.variant == "softmax":
            return self.linear(feat), q, cos
        logits = self.s * cos
        if labels is None:
            return logits, q, cos
        q_in = q
        if n_cut_points:
            q_in = soft_bin(q, cut_points(n_cut_points, self.l_a, self.u_a).to(q), self.tau)
        l_m, u_m = self.margin_range
        m = map_magnitude(q_in, self.l_a, self.u_a, l_m, u_m)
        cos_y = cos.gather(1, labels[:, None]).squeeze(1)
        theta = torch.acos(cos_y.clamp(-1 + _COS_EPS, 1 - _COS_EPS))
        target = _target_logit(self.variant, m, theta, self.s)
        onehot = F.one_hot(labels, cos.shape[1]).to(logits.dtype)
        logits = logits * (1 - onehot) + target[:, None] * onehot
        return logits, q, cos

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (+ λ_g·mean G(q) for GACL variants)."""
        ce = F.cross_entropy(logits, labels)
        if self.variant == "softmax":
            return ce
        return ce + self.lambda_g * regulariser(q, self.u_a).mean()

    def lambda_g_lower_bound(self) -> float:
        """Smallest λ_g that makes the loss push q up at l_a (§3.3, in magnitude units).

        ∂L/∂a = −p·∂A/∂m·k + λ_g·G'(a) with k = (u_m−l_m)/(u_a−l_a) and p < 1; at
        a = l_a this is < 0 whenever λ_g > max|∂A/∂m|·k·l_a²u_a²/(u_a²−l_a²),
        taking θ ∈ [0, π/2] as the paper does. Returns 0 for softmax.
        """
        if self.variant == "softmax":
            return 0.0
        l_m, u_m = self.margin_range
        k = (u_m - l_m) / (self.u_a - self.l_a)
        max_dA_dm = {"sca": self.s, "mul": self.s * math.pi / 2, "add": self.s, "cos": 1.0}[self.variant]
        return max_dA_dm * k * self.l_a**2 * self.u_a**2 / (self.u_a**2 - self.l_a**2)


class ScorerModel(nn.Module):
    """Encoder + head. ``forward(x, lengths, labels=None, n_cut_points=None)``
    returns ``(logits, q, cos_theta_all)``."""

    def __init__(self, encoder: nn.Module, head: GACLHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor | None = None,
        n_cut_points: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.head(self.encoder(x, lengths), labels, n_cut_points)
