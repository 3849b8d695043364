"""GACL maths on tensors: formulas, the paper's conditions, G, soft binning, schedule."""

from __future__ import annotations

import math

import pytest
import torch

from scoring.gacl import (
    L_A,
    LAMBDA_G_DEFAULT,
    U_A,
    VARIANTS,
    GACLHead,
    _target_logit,
    cut_points,
    cut_points_for_epoch,
    default_margin_range,
    map_magnitude,
    margin,
    regulariser,
    soft_bin,
    soft_bin_paper,
)
from scoring.model_io import DEFAULT_COS_MARGINS, DEFAULT_L_A, DEFAULT_U_A, TrainConfig

S = 64.0


@pytest.fixture(autouse=True)
def _float64():
    """These tests check formulas, so they run in float64 (restored afterwards)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _grid(n_q: int = 25, n_theta: int = 25) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw magnitudes strictly inside (l_a, u_a) × angles inside (0, π/2), the paper's θ range."""
    a = torch.linspace(L_A + 0.5, U_A - 0.5, n_q)
    theta = torch.linspace(0.02, math.pi / 2 - 0.02, n_theta)
    return torch.meshgrid(a, theta, indexing="ij")


def _A_of_magnitude(
    variant: str, a: torch.Tensor, theta: torch.Tensor, l_a: float = L_A, u_a: float = U_A, margins=None
) -> torch.Tensor:
    l_m, u_m = margins or default_margin_range(variant, S)
    return _target_logit(variant, map_magnitude(a, l_a, u_a, l_m, u_m), theta, S)


def _training_default(variant: str) -> tuple[float, float, tuple[float, float]]:
    """(l_a, u_a, margin range) of a default :class:`TrainConfig` for ``variant``, resolved by the head."""
    config = TrainConfig(variant=variant, s=S)
    head = GACLHead(8, 3, variant, s=S, l_a=config.l_a, u_a=config.u_a, margin_range=config.margin_range)
    return config.l_a, config.u_a, head.margin_range


@pytest.mark.parametrize(
    ("variant", "formula"),
    [
        ("sca", lambda q, t: (1 - q) * S * torch.cos(t)),
        ("mul", lambda q, t: S * torch.cos(q * t)),
        ("add", lambda q, t: S * torch.cos(t + q)),
        ("cos", lambda q, t: S * torch.cos(t) - q),
    ],
)
def test_each_variant_matches_the_papers_formula(variant, formula):
    q = torch.rand(200) * 2
    theta = torch.rand(200) * math.pi
    torch.testing.assert_close(margin(variant, q, theta, S), formula(q, theta))


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_training_target_is_A_of_q_mapped_into_the_margin_range(variant):
    head = GACLHead(16, 5, variant, s=S)
    feat = torch.randn(40, 16) * 4
    labels = torch.randint(0, 5, (40,))
    logits, q, cos = head(feat, labels)
    torch.testing.assert_close(q, feat.norm(dim=1))
    l_m, u_m = head.margin_range
    m = ((q - L_A) / (U_A - L_A) * (u_m - l_m) + l_m).clamp(l_m, u_m)
    theta = torch.acos(cos.gather(1, labels[:, None]).squeeze(1))
    expected_target = margin(variant, m, theta, S)
    torch.testing.assert_close(
        logits.gather(1, labels[:, None]).squeeze(1), expected_target, atol=1e-4, rtol=1e-5
    )
    others = torch.ones_like(logits, dtype=torch.bool).scatter_(1, labels[:, None], False)
    torch.testing.assert_close(logits[others], (S * cos)[others])


def test_q_is_mapped_linearly_and_clamped_to_the_margin_range():
    a = torch.tensor([0.0, 10.0, 55.0, 100.0, 500.0])
    torch.testing.assert_close(
        map_magnitude(a, 10, 100, 0.35, 0.8), torch.tensor([0.35, 0.35, 0.575, 0.8, 0.8])
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_dA_dq_over_dA_dtheta_is_positive_on_the_working_grid_eq7(variant):
    a, theta = _grid()
    a.requires_grad_(True)
    theta.requires_grad_(True)
    dA_da, dA_dtheta = torch.autograd.grad(_A_of_magnitude(variant, a, theta).sum(), (a, theta))
    assert (dA_da / dA_dtheta > 0).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_dA_dtheta_is_never_positive_on_the_working_grid_eq9(variant):
    a, theta = _grid()
    theta.requires_grad_(True)
    (dA_dtheta,) = torch.autograd.grad(_A_of_magnitude(variant, a, theta).sum(), theta)
    assert (dA_dtheta <= 0).all()


@pytest.mark.parametrize("variant", ("mul", "add"))
def test_A_keeps_decreasing_in_theta_past_an_angle_of_pi(variant):
    a = torch.full((50,), U_A)
    theta = torch.linspace(2.0, math.pi, 50, requires_grad=True)
    (d,) = torch.autograd.grad(_A_of_magnitude(variant, a, theta).sum(), theta)
    assert (d < 0).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_lambda_g_150_exceeds_every_variants_lower_bound(variant):
    head = GACLHead(8, 3, variant, s=S)
    assert 0 < head.lambda_g_lower_bound() < LAMBDA_G_DEFAULT


@pytest.mark.parametrize("variant", VARIANTS)
def test_lambda_g_150_exceeds_every_variants_lower_bound_at_the_training_defaults(variant):
    l_a, u_a, margins = _training_default(variant)
    head = GACLHead(8, 3, variant, s=S, l_a=l_a, u_a=u_a, margin_range=margins)
    assert 0 < head.lambda_g_lower_bound() < TrainConfig().lambda_g == LAMBDA_G_DEFAULT


def test_the_training_defaults_are_5_to_50_and_cos_margins_s_times_035_to_1():
    assert (DEFAULT_L_A, DEFAULT_U_A, DEFAULT_COS_MARGINS) == (5.0, 50.0, (0.35, 1.0))
    assert _training_default("cos") == (5.0, 50.0, (0.35 * S, S))
    assert TrainConfig(variant="cos", s=32.0).margin_range == (0.35 * 32, 32.0)  # scales with s
    assert TrainConfig(variant="cos", margin_range=[20, 40]).margin_range == (20.0, 40.0)
    for variant in ("sca", "mul", "add"):  # the paper's ranges
        assert _training_default(variant)[2] == default_margin_range(variant, S)
    assert TrainConfig(variant="softmax").margin_range is None


@pytest.mark.parametrize("working", ["authors' code", "training default"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_regularised_loss_pushes_q_up_at_l_a_and_down_at_u_a(variant, working):
    """Optimality constraint (§3.3): ∂L/∂q < 0 at l_a and > 0 at u_a, for any R and θ.

    L = −log(e^A / (e^A + R)) + λ_g·G(q). At u_a, G' = 0 exactly, so the sign is
    that of the cross-entropy part, positive wherever e^A/(e^A + R) < 1 is
    representable; it is checked separately to avoid float round-off in G'.
    """
    l_a, u_a, margins = (L_A, U_A, None) if working == "authors' code" else _training_default(variant)
    theta = torch.linspace(0.05, math.pi / 2 - 0.05, 20)
    for rest in (1e-3, 1.0, 1e3, 1e8):  # R = Σ_{j≠y} e^{s cosθ_j}
        log_rest = torch.tensor(math.log(rest))
        a = torch.full_like(theta, l_a, requires_grad=True)
        A = _A_of_magnitude(variant, a, theta, l_a, u_a, margins)
        loss = -A + torch.logaddexp(A, log_rest) + LAMBDA_G_DEFAULT * regulariser(a, u_a)
        (grad,) = torch.autograd.grad(loss.sum(), a)
        assert (grad < 0).all(), rest

        a = torch.full_like(theta, u_a - 1e-9, requires_grad=True)  # inside the clamp
        A = _A_of_magnitude(variant, a, theta, l_a, u_a, margins)
        (ce_grad,) = torch.autograd.grad((-A + torch.logaddexp(A, log_rest)).sum(), a)
        p_rest = torch.sigmoid(log_rest - A.detach())
        assert (ce_grad >= 0).all() and (ce_grad[p_rest > 1e-6] > 0).all(), rest
    at = torch.tensor(u_a, requires_grad=True)
    (reg_grad,) = torch.autograd.grad(regulariser(at, u_a), at)
    assert abs(reg_grad.item()) < 1e-15


def test_G_is_minimal_at_u_a():
    q = torch.linspace(1.0, 300.0, 29901)
    assert q[regulariser(q, U_A).argmin()].item() == pytest.approx(U_A, abs=0.02)
    at = torch.tensor(U_A, requires_grad=True)
    (grad,) = torch.autograd.grad(regulariser(at, U_A), at)
    assert grad.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("lambda_g", (1.0, 35.0, 150.0))
def test_the_minimiser_of_lambda_g_times_G_is_u_a(lambda_g):
    q = torch.linspace(1.0, 300.0, 29901)
    assert q[(lambda_g * regulariser(q, U_A)).argmin()].item() == pytest.approx(U_A, abs=0.02)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (3.0, 10.0),
        (10.5, 10.0),
        (20.0, 10.0),
        (32.6, 32.5),
        (54.9, 32.5),
        (55.1, 55.0),
        (99.0, 77.5),
        (150.0, 100.0),
    ],
)
def test_soft_binning_returns_the_bin_value_as_tau_goes_to_zero(q, expected):
    beta = cut_points(5, L_A, U_A)  # 10, 32.5, 55, 77.5, 100
    for tau in (1e-3, 1e-4):
        assert soft_bin(torch.tensor([q]), beta, tau).item() == pytest.approx(expected, abs=1e-6)


def test_soft_binning_is_eq18_with_w_1_to_n_plus_1_and_cumulative_b():
    beta = cut_points(7, L_A, U_A)
    q = torch.linspace(0.0, 120.0, 301)
    for tau in (0.5, 2.0, 10.0):
        torch.testing.assert_close(soft_bin(q, beta, tau), soft_bin_paper(q, beta, tau))


def test_soft_binning_is_differentiable_for_positive_tau():
    beta = cut_points(5, L_A, U_A)
    q = torch.linspace(12.0, 98.0, 15, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: soft_bin(x, beta, 3.0), (q,))
    (grad,) = torch.autograd.grad(soft_bin(q, beta, 3.0).sum(), q)
    assert torch.isfinite(grad).all() and (grad > 0).any()


def test_the_cut_point_schedule_is_5_for_epochs_0_to_4_and_reaches_20_at_the_end():
    for n_epochs in (6, 10, 20):
        schedule = [cut_points_for_epoch(e, n_epochs) for e in range(n_epochs)]
        assert schedule[:5] == [5] * 5
        assert schedule[-1] == 20
        assert schedule == sorted(schedule)
    assert [cut_points_for_epoch(e, 20) for e in range(4, 20)] == list(range(5, 21))
    assert [cut_points_for_epoch(e, 3) for e in range(3)] == [5, 5, 5]


@pytest.mark.parametrize("variant", VARIANTS)
def test_without_labels_the_head_scores_with_continuous_q_and_s_cos(variant):
    head = GACLHead(16, 4, variant, s=S)
    feat = torch.randn(10, 16) * 7
    logits, q, cos = head(feat)
    torch.testing.assert_close(q, feat.norm(dim=1))
    torch.testing.assert_close(logits, S * cos)


def test_soft_binning_only_changes_the_training_target_not_q():
    head = GACLHead(16, 4, "cos", s=S)
    feat = torch.randn(10, 16) * 7
    labels = torch.randint(0, 4, (10,))
    _, q_plain, _ = head(feat, labels)
    _, q_binned, _ = head(feat, labels, n_cut_points=5)
    torch.testing.assert_close(q_plain, q_binned)


def test_softmax_head_uses_a_biased_linear_layer_and_the_feature_norm_as_q():
    head = GACLHead(16, 4, "softmax")
    feat = torch.randn(10, 16)
    logits, q, _ = head(feat, torch.zeros(10, dtype=torch.long))
    torch.testing.assert_close(logits, head.linear(feat))
    torch.testing.assert_close(q, feat.norm(dim=1))


def test_an_unknown_variant_is_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match="sca"):
        GACLHead(8, 2, "arcface")
    with pytest.raises(ValueError, match="unknown GACL variant"):
        margin("arcface", torch.zeros(1), torch.zeros(1))
