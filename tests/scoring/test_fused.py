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


def _hybrid_with_trained_statistics(**kwargs):
    """A default-shaped hybrid scorer (random weights) whose BatchNorms hold running statistics."""
    from scoring.model_io import TrainConfig, build_model

    torch.manual_seed(0)
    config = TrainConfig(encoder="hybrid", encoder_kwargs=kwargs, class_names=["pig", "cactus"])
    model = build_model(config, 2).train()
    X, lengths, _ = _real_batch(64)
    with torch.no_grad():
        for _ in range(3):
            model(X, lengths)
    return model.eval(), config


def test_max_pool_2x2_equals_nn_max_pool_on_ties_odd_sizes_and_negatives():
    from scoring.fused import max_pool_2x2

    g = torch.Generator().manual_seed(0)
    for shape in [(3, 4, 8, 8), (2, 5, 7, 9), (1, 1, 2, 3)]:
        h = torch.randint(-2, 3, shape, generator=g).float()  # many ties, zeros and negatives
        assert torch.equal(max_pool_2x2(h), torch.nn.functional.max_pool2d(h, 2))


def test_the_fast_raster_branch_gives_exactly_the_outputs_of_todays_fused_branch_on_real_sketches():
    """Strided-view pooling changes no value: the same floats as ``fuse_raster_encoder`` (the path
    before it), which itself matches the trained branch up to rounding (test above)."""
    from scoring.fused import MaxPool2x2, fast_raster_encoder, fuse_raster_encoder

    model, _ = _hybrid_with_trained_statistics()
    X, lengths, _ = _real_batch(64)
    today, fast = fuse_raster_encoder(model.encoder.raster), fast_raster_encoder(model.encoder.raster)
    assert sum(isinstance(m, MaxPool2x2) for m in fast.modules()) == 3
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in fast.modules())
    with torch.inference_mode():
        assert torch.equal(fast(X, lengths), today(X, lengths))
        np.testing.assert_allclose(
            fast(X, lengths).numpy(), model.encoder.raster(X, lengths).numpy(), rtol=1e-4, atol=1e-4
        )


def test_the_handler_scores_a_hybrid_in_slices_with_the_outputs_of_one_unfused_pass():
    from scoring.model_io import checkpoint_bytes

    model, config = _hybrid_with_trained_statistics()
    data = checkpoint_bytes(model, config, ["pig", "cactus"])
    X, lengths, _ = _real_batch(64)
    plain = ScoringHandler(
        *load_checkpoint(data, "cpu"), torch.device("cpu"), fused=False, forward_batch_size=64
    )
    whole = ScoringHandler(*load_checkpoint(data, "cpu"), torch.device("cpu"), forward_batch_size=64)
    sliced = ScoringHandler(
        *load_checkpoint(data, "cpu"), torch.device("cpu"), forward_batch_size=7, threads=1
    )
    measured = ScoringHandler(
        *load_checkpoint(data, "cpu"), torch.device("cpu"), forward_batch_size=7, threads="auto"
    )
    before = torch.get_num_threads()
    try:
        a, b, c, d = (
            h.infer(h.batch_of(X.numpy(), lengths.numpy())) for h in (plain, whole, sliced, measured)
        )
        assert all(
            cost is not None for cost in measured.thread_chooser.cost.values()
        )  # 10 slices: both tried
    finally:
        torch.set_num_threads(before)
    # Slicing (each slice trimmed to its own longest sketch) and one thread change only float rounding.
    np.testing.assert_allclose(c.q.numpy(), b.q.numpy(), rtol=1e-5)
    np.testing.assert_allclose(c.cos_theta.numpy(), b.cos_theta.numpy(), atol=1e-6)
    assert torch.equal(b.predicted, c.predicted) and torch.equal(c.predicted, d.predicted)
    np.testing.assert_allclose(d.q.numpy(), c.q.numpy(), rtol=1e-5)
    np.testing.assert_allclose(c.q.numpy(), a.q.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(c.cos_theta.numpy(), a.cos_theta.numpy(), atol=1e-5)
    assert torch.equal(a.predicted, c.predicted)


def _drive(chooser, seconds_per_unit, calls):
    """Run ``calls`` choose/record rounds where thread count t costs ``seconds_per_unit[t]``."""
    chosen = []
    for _ in range(calls):
        t = chooser.choose()
        chosen.append(t)
        chooser.record(t, 128, 128 * seconds_per_unit[t])
    return chosen


def test_the_thread_chooser_tries_both_then_keeps_the_faster_and_rarely_pays_for_the_slower():
    from scoring.model_io import ThreadChooser

    chooser = ThreadChooser(2, min_interval=4, max_interval=64)
    busy = {1: 1e-4, 2: 2e-3}  # cores taken by other jobs: two threads 20x slower
    chosen = _drive(chooser, busy, 400)
    assert chosen[:2] == [2, 1]  # each candidate once, all cores first
    assert chooser.best == 1 and chooser.interval == 64  # every losing probe doubled the wait
    assert chosen.count(2) <= 2 + 5 + 400 // 64  # the two tries, the back-off probes, then 1 per 64


def test_the_thread_chooser_switches_when_the_cores_free_up_or_fill_again():
    from scoring.model_io import ThreadChooser

    chooser = ThreadChooser(2, min_interval=4, max_interval=16)
    _drive(chooser, {1: 1e-4, 2: 2e-3}, 100)
    assert chooser.best == 1
    free = {1: 1e-4, 2: 0.6e-4}  # the other jobs ended: two threads now win
    chosen = _drive(chooser, free, 40)
    assert chooser.best == 2 and chosen[-10:].count(2) >= 8  # switched; 1 is still probed, less and less
    # The machine fills up again: the current choice slows down sharply, so the other is probed next.
    chooser.record(2, 128, 128 * 2e-3)
    assert chooser.choose() == 1


def test_the_thread_chooser_on_one_core_always_says_one_and_refuses_nonsense():
    from scoring.model_io import ThreadChooser

    assert set(_drive(ThreadChooser(1), {1: 1e-4}, 20)) == {1}
    for kwargs in ({"cores": 0}, {"cores": 2, "min_interval": 0}, {"cores": 2, "alpha": 0}):
        with pytest.raises(ValueError):
            ThreadChooser(**kwargs)


def test_the_handler_refuses_a_bad_thread_count_or_slice_size():
    model, config = _hybrid_with_trained_statistics()
    for kwargs, message in (({"threads": 0}, "threads"), ({"threads": "many"}, "threads"),
                            ({"forward_batch_size": 0}, "forward_batch_size")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            ScoringHandler(model, config, ["pig", "cactus"], torch.device("cpu"), **kwargs)
