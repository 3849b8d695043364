"""The fused inference CNN gives the trained encoder's outputs (BatchNorm folded in)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scoring.dataset import load_ndjson_dir
from scoring.encoders import ConvEncoder, build_encoder
from scoring.encoding import encode_stored
from scoring.fused import FusedConvEncoder, fuse_conv_encoder
from scoring.inference import ScoringHandler
from scoring.model_io import load_checkpoint
from sketches import geometry
from tests.factories import SAMPLE_DIR, sample_checkpoint


def _real_batch(n=64):
    sketches = load_ndjson_dir(SAMPLE_DIR, ["pig", "cactus"], n // 2)
    X, lengths = encode_stored([geometry.strokes_to_json(s) for s in sketches.strokes])
    return torch.from_numpy(X), torch.from_numpy(lengths), sketches


def test_folding_batchnorm_keeps_every_output_of_a_trained_scorer():
    data = sample_checkpoint("cos")
    plain = ScoringHandler(*load_checkpoint(data, "cpu"), torch.device("cpu"), fused=False)
    fused = ScoringHandler.from_bytes(data, "cpu")
    assert isinstance(fused.model.encoder, FusedConvEncoder) and isinstance(plain.model.encoder, ConvEncoder)
    X, lengths, sketches = _real_batch()
    a, b = (
        plain.infer(plain.batch_of(X.numpy(), lengths.numpy())),
        fused.infer(fused.batch_of(X.numpy(), lengths.numpy())),
    )
    np.testing.assert_allclose(b.q.numpy(), a.q.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b.cos_theta.numpy(), a.cos_theta.numpy(), atol=1e-5)
    assert torch.equal(a.predicted, b.predicted)
    # Padding and batch composition still change nothing: one sketch alone gives its batch row.
    alone = fused.infer(fused.batch_of(X[:1].numpy(), lengths[:1].numpy()))
    np.testing.assert_allclose(alone.q.numpy(), b.q[:1].numpy(), rtol=1e-5)


def test_an_encoder_in_training_mode_or_another_kind_is_left_alone():
    encoder = ConvEncoder(feat_dim=32, channels=(8, 8, 8))
    assert fuse_conv_encoder(encoder.train()) is encoder
    gru = torch.nn.GRU(7, 4)
    assert fuse_conv_encoder(gru) is gru


def test_a_checkpoint_from_before_issue_10_keeps_its_final_batchnorm_and_its_scores():
    """CNN checkpoints written while ``Linear → BatchNorm1d`` was the only layout do not name
    ``final_bn``; they load with the BN (and fold it), so their stored scores stay valid."""
    from scoring.model_io import TrainConfig, build_model, checkpoint_bytes

    kwargs = {"feat_dim": 32, "channels": (8, 8, 8)}
    old = build_model(TrainConfig(encoder="cnn", encoder_kwargs={**kwargs, "final_bn": True}), 2)
    bn = old.encoder.out[1]
    with torch.no_grad():  # statistics a trained encoder would have, not the identity
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 2)
    old.eval()
    legacy = checkpoint_bytes(old, TrainConfig(encoder="cnn", encoder_kwargs=kwargs), ["pig", "cactus"])
    model, config, _ = load_checkpoint(legacy)
    assert config.encoder_kwargs["final_bn"] is True and isinstance(
        model.encoder.out[1], torch.nn.BatchNorm1d
    )
    X, lengths, _ = _real_batch(16)
    with torch.no_grad():
        expected = old.encoder(X, lengths)
        np.testing.assert_allclose(model.encoder(X, lengths).numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
        fused = fuse_conv_encoder(model.encoder)
        np.testing.assert_allclose(fused(X, lengths).numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)


def test_the_default_cnn_ends_in_a_plain_linear_layer():
    """Issue 10: without the final BN, q fell for more degraded held-out sketches (bench/RESULTS.md)."""
    encoder = ConvEncoder(feat_dim=32, channels=(8, 8, 8))
    assert [type(layer) for layer in encoder.out] == [torch.nn.Linear]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("raster", {"feat_dim": 32, "size": 32, "channels": (8, 8, 16)}),
        ("raster", {"feat_dim": 32, "size": 32, "channels": (8, 16), "final_bn": True, "layer_norm": False}),
        (
            "hybrid",
            {
                "feat_dim": 32,
                "sequence": {"channels": (8, 8, 8)},
                "raster": {"size": 32, "channels": (8, 16)},
            },
        ),
    ],
)
def test_folding_batchnorm_into_the_raster_and_hybrid_encoders_keeps_their_outputs(name, kwargs):
    torch.manual_seed(0)
    encoder = build_encoder(name, **kwargs)
    X, lengths, _ = _real_batch(32)
    encoder.train()
    with torch.no_grad():
        for _ in range(3):  # running statistics a trained encoder would have, not the identity
            encoder(X, lengths)
    encoder.eval()
    fused = fuse_conv_encoder(encoder)
    assert fused is not encoder
    assert not any(isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in encoder.modules())  # the original is untouched
    with torch.inference_mode():
        np.testing.assert_allclose(
            fused(X, lengths).numpy(), encoder(X, lengths).numpy(), rtol=1e-4, atol=1e-4
        )
