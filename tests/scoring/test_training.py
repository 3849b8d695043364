"""Training, collapse detection, checkpoints and the inference handler, on real sketches."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from scoring.dataset import encode_strokes, load_ndjson_dir, stratified_split
from scoring.encoders import build_encoder
from scoring.inference import ScoringHandler, pick_device
from scoring.training import (
    EvalMetrics,
    TrainConfig,
    TrainingCollapsed,
    accuracy_floor,
    check_collapse,
    load_checkpoint,
    predict,
    save_checkpoint,
    train,
)

QUICKDRAW = Path(
    os.environ.get("SKETCHQ_QUICKDRAW_DIR", Path(__file__).resolve().parents[3] / "shared/data/quickdraw")
)
CATEGORIES = ["apple", "cactus", "campfire", "face"]
SMALL_CNN = {"feat_dim": 128, "channels": (32, 64, 96)}

pytestmark = pytest.mark.skipif(not QUICKDRAW.is_dir(), reason=f"Quick, Draw! data not found at {QUICKDRAW}")


@pytest.fixture(scope="module")
def sketches():
    return load_ndjson_dir(QUICKDRAW, CATEGORIES, per_category=100)


@pytest.fixture(scope="module")
def arrays(sketches):
    X, lengths = encode_strokes(sketches.strokes)
    train_idx, test_idx = stratified_split(sketches.labels, 0.25, seed=0)
    y = sketches.labels
    return X, lengths, y, train_idx, test_idx


def _config(**overrides) -> TrainConfig:
    base = dict(
        encoder="cnn",
        encoder_kwargs=SMALL_CNN,
        variant="cos",
        epochs=6,
        batch_size=32,
        lr=3e-3,
        seed=0,
        num_threads=2,
        class_names=CATEGORIES,
    )
    base.update(overrides)
    return TrainConfig(**base)


def _train(arrays, **overrides):
    X, lengths, y, tr, te = arrays
    return train(_config(**overrides), X[tr], lengths[tr], y[tr], X[te], lengths[te], y[te])


@pytest.fixture(scope="module")
def trained(arrays):
    return _train(arrays)


def test_a_tiny_gacl_run_on_four_real_categories_is_well_above_chance(trained):
    metrics = trained.metrics
    assert metrics.chance == 0.25
    assert metrics.accuracy > 0.6
    assert metrics.fraction_at_bounds < 0.9
    assert set(metrics.q_summary) == set(CATEGORIES)
    assert all(
        s["min"] <= s["p10"] <= s["median"] <= s["p90"] <= s["max"] for s in metrics.q_summary.values()
    )
    assert -1.0 <= metrics.spearman_q_cos <= 1.0
    assert [h["cut_points"] for h in trained.history] == [5, 5, 5, 5, 5, 20]


def test_training_is_reproducible_with_the_same_seed(arrays, trained):
    again = _train(arrays)
    np.testing.assert_allclose(again.outputs.q, trained.outputs.q, rtol=1e-5)


def test_each_epoch_records_its_cpu_threads_pinned_or_measured_per_step(arrays, trained, monkeypatch):
    from scoring import training

    assert [h["threads"] for h in trained.history] == [2.0] * 6  # num_threads pins them

    class Alternating:  # stands in for the measured choice: 2, 1, 2, 1, … threads
        def __init__(self, cores):
            self.calls = 0

        def choose(self):
            self.calls += 1
            return 2 if self.calls % 2 else 1

        def record(self, threads, units, seconds):
            assert threads in (1, 2) and units == 1 and seconds > 0

    monkeypatch.setattr(training, "ThreadChooser", Alternating)
    before = torch.get_num_threads()
    try:
        result = _train(
            arrays, epochs=2, num_threads=None, collapse_fraction=1.01, min_accuracy_over_chance=0.0
        )
        assert all(1.4 <= h["threads"] <= 1.6 for h in result.history)  # chosen again before every step
    finally:
        torch.set_num_threads(before)


def test_the_softmax_baseline_trains_too(arrays):
    result = _train(arrays, variant="softmax")
    assert result.metrics.accuracy > 0.6


def test_training_on_shuffled_labels_raises_collapse_instead_of_returning_a_scorer(arrays):
    X, lengths, y, tr, te = arrays
    rng = np.random.default_rng(1)
    with pytest.raises(TrainingCollapsed, match="chance"):
        train(
            _config(epochs=1, min_accuracy_over_chance=3.0),
            X[tr], lengths[tr], rng.permutation(y[tr]),
            X[te], lengths[te], rng.integers(0, 4, len(te)),
        )  # fmt: skip


def test_training_raises_collapse_when_q_is_pinned_at_a_bound(arrays):
    # Rigged: a working range far above where q can get in one epoch pins every q below l_a.
    with pytest.raises(TrainingCollapsed, match="bounds"):
        _train(arrays, epochs=1, l_a=1000.0, u_a=2000.0)


def _metrics(accuracy: float, at_bounds: float) -> EvalMetrics:
    return EvalMetrics(accuracy, 0.5, 0.5, {}, at_bounds, chance=0.25, n=100)


def test_collapse_rule_is_more_than_90_percent_of_q_at_a_bound_or_accuracy_near_chance():
    config = _config()
    check_collapse(_metrics(0.63, 0.89), config)
    with pytest.raises(TrainingCollapsed, match="bounds"):
        check_collapse(_metrics(0.9, 0.91), config)
    with pytest.raises(TrainingCollapsed, match="chance"):
        check_collapse(_metrics(0.62, 0.0), config)  # 4 classes: floor is halfway, 0.625
    check_collapse(_metrics(0.9, 1.0), _config(variant="softmax"))  # softmax q has no working range


def test_the_accuracy_floor_is_3x_chance_capped_at_halfway_to_perfect():
    assert accuracy_floor(1 / 21, 3.0) == pytest.approx(3 / 21)
    assert accuracy_floor(1 / 4, 3.0) == pytest.approx(0.625)


def test_a_checkpoint_round_trip_gives_identical_scores(trained, sketches, arrays):
    X, lengths, y, _, te = arrays
    data = save_checkpoint(trained)
    model, config, class_names = load_checkpoint(data)
    assert class_names == CATEGORIES
    assert (config.encoder, config.variant, config.max_len) == ("cnn", "cos", 100)
    assert config.encoder_kwargs == SMALL_CNN and (config.l_a, config.u_a) == (5.0, 50.0)
    assert config.margin_range == (22.4, 64.0)  # the cos default s·[0.35, 1.0], named in the checkpoint

    q0, cos0, pred0 = predict(trained.model, X[te], lengths[te], torch.device("cpu"))
    q1, cos1, pred1 = predict(model, X[te], lengths[te], torch.device("cpu"))
    np.testing.assert_array_equal(q0, q1)
    np.testing.assert_array_equal(cos0, cos1)
    np.testing.assert_array_equal(pred0, pred1)

    scorer = ScoringHandler.from_bytes(data, device="cpu")
    results = scorer.score([sketches.strokes[i] for i in te], y[te].tolist())
    np.testing.assert_allclose([r.q for r in results], q0, rtol=1e-5)
    np.testing.assert_allclose([r.cos_theta_y for r in results], cos0[np.arange(len(te)), y[te]], atol=1e-6)
    assert [r.predicted_class_index for r in results] == pred0.tolist()
    assert np.mean([r.correct for r in results]) == pytest.approx(trained.metrics.accuracy)


def test_a_checkpoint_that_left_the_range_to_the_old_defaults_loads_with_the_papers_values(trained, arrays):
    """Checkpoints written before issue 10's sixth session may leave l_a, u_a or the margins to the
    defaults of their day: they meant [10, 100] and the paper's s·[0.35, 0.8], and score as written."""
    X, lengths, _, _, te = arrays
    payload = torch.load(io.BytesIO(save_checkpoint(trained)), weights_only=True)
    for key in ("l_a", "u_a"):
        del payload["config"][key]
    payload["config"]["margin_range"] = None
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    model, config, _ = load_checkpoint(buffer.getvalue())
    assert (config.l_a, config.u_a, config.margin_range) == (10.0, 100.0, (22.4, 51.2))
    assert model.head.margin_range == (22.4, 51.2)
    q0, _, _ = predict(trained.model, X[te], lengths[te], torch.device("cpu"))
    q1, _, _ = predict(model, X[te], lengths[te], torch.device("cpu"))
    np.testing.assert_array_equal(q0, q1)


def test_scores_do_not_depend_on_batch_size(trained, sketches):
    scorer = ScoringHandler.from_bytes(save_checkpoint(trained), device="cpu")
    strokes = sketches.strokes[::7]
    big = scorer.score(strokes, None, batch_size=512)
    small = scorer.score(strokes, None, batch_size=3)
    np.testing.assert_allclose([r.q for r in big], [r.q for r in small], rtol=1e-5)
    assert [r.predicted_class_index for r in big] == [r.predicted_class_index for r in small]
    assert all(r.class_index == r.predicted_class_index for r in big)  # no class given: the predicted one


def test_scoring_rejects_a_class_index_out_of_range(trained, sketches):
    scorer = ScoringHandler.from_bytes(save_checkpoint(trained), device="cpu")
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        scorer.score(sketches.strokes[:2], [0, 4])
    with pytest.raises(ValueError, match="one class index per sketch"):
        scorer.score(sketches.strokes[:2], [0])


def test_loading_garbage_bytes_raises_a_clear_error():
    with pytest.raises(ValueError, match="not a scorer checkpoint"):
        load_checkpoint(b"not a checkpoint")


def test_auto_device_picks_cuda_then_mps_then_cpu():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert pick_device("auto").type == expected
    assert pick_device("cpu").type == "cpu"


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("paper_bilstm", {"hidden": 48, "feat_dim": 64}),
        ("gru", {}),
        ("cnn", {}),
        ("raster", {"size": 32, "channels": (8, 16)}),
        ("hybrid", {"raster": {"size": 32, "channels": (8, 16)}}),
    ],
)
def test_padded_batch_inference_equals_unpadded_per_sketch_inference(name, kwargs, arrays):
    X, lengths, _, _, _ = arrays
    order = np.argsort(lengths)
    pick = order[[0, 1, len(order) // 2, -2, -1]]  # shortest to longest in one batch
    torch.manual_seed(0)
    encoder = build_encoder(name, **kwargs).eval()
    with torch.inference_mode():
        batched = encoder(torch.from_numpy(X[pick]), torch.from_numpy(lengths[pick]))
        single = torch.cat(
            [
                encoder(torch.from_numpy(X[i : i + 1, : lengths[i]]), torch.from_numpy(lengths[i : i + 1]))
                for i in pick
            ]
        )
    assert lengths[pick].min() < lengths[pick].max()
    torch.testing.assert_close(batched, single, atol=2e-5, rtol=1e-4)


def test_an_empty_sketch_is_rejected_with_its_index():
    with pytest.raises(ValueError, match="sketch 1"):
        encode_strokes([[np.array([[0.1, 0.2], [0.3, 0.4]])], []])
