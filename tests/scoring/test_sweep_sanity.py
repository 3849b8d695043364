"""bench/sweep_sanity.py's ensemble scoring: the mean of the members' q and cosθ, judged per family."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from sketches.degradations import FAMILIES
from tests.factories import SAMPLE_DIR

SCRIPT = Path(settings.BASE_DIR) / "bench" / "sweep_sanity.py"


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("sweep_sanity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def member(q0, cos_all, y, q_degraded, cos_degraded):
    """Outputs of one model on 4 held-out sketches; every family's copies get the same q and cosθ_y."""
    cos_all = np.asarray(cos_all, dtype=float)
    out = {"y": np.asarray(y), "q0": np.asarray(q0, float), "cos0_all": cos_all}
    out["cos0"] = cos_all[np.arange(len(y)), y]
    for f in FAMILIES:
        out[f"q_{f}"], out[f"cos_{f}"] = np.asarray(q_degraded, float), np.asarray(cos_degraded, float)
    return out


Y = [0, 0, 1, 1]
COS = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]  # the last sketch is misclassified


def test_one_member_is_scored_as_that_model(sweep):
    row = sweep.ensemble_row([member([80, 70, 60, 50], COS, Y, [70, 75, 50, 40], [0.8, 0.7, 0.6, 0.5])])
    assert row["top1"] == 0.75
    assert row["shares"] == {f: 0.75 for f in FAMILIES}  # q fell for sketches 0, 2 and 3
    assert row["cos_shares"] == {f: 0.75 for f in FAMILIES}  # cosθ_y 0.9, 0.8, 0.7, 0.4 → fell for 0, 1, 2
    assert row["rho"] == pytest.approx(1.0)  # q and cosθ_y of the originals rank the same


def test_the_ensemble_averages_q_so_one_members_noise_can_be_outvoted(sweep):
    # Member a: q falls for sketches 0, 1; member b: q falls for 0, 2 (by more than a's rise on 2).
    a = member([50, 50, 50, 50], COS, Y, [45, 45, 52, 51], [0.0] * 4)
    b = member([50, 50, 50, 50], COS, Y, [45, 53, 40, 51], [0.0] * 4)
    assert sweep.ensemble_row([a])["shares"]["truncate"] == 0.5
    assert sweep.ensemble_row([b])["shares"]["truncate"] == 0.5
    # Mean q of the copies: 45, 49, 46, 51 against 50: falls for 0, 1, 2.
    assert sweep.ensemble_row([a, b])["shares"]["truncate"] == 0.75


def test_the_ensemble_predicts_with_the_mean_cosine(sweep):
    wrong = [[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.45, 0.55]]  # only sketches 2, 3 right
    sure = [[0.95, 0.05], [0.95, 0.05], [0.95, 0.05], [0.1, 0.9]]  # sketches 0, 1, 3 right
    row = sweep.ensemble_row(
        [member([1] * 4, wrong, Y, [1] * 4, [0] * 4), member([1] * 4, sure, Y, [1] * 4, [0] * 4)]
    )
    assert row["top1"] == 0.75  # mean cosθ: class 0 for sketches 0, 1 (right) and 2 (wrong), class 1 for 3


def test_members_scored_on_different_held_out_sets_are_refused(sweep):
    a = member([1] * 4, COS, Y, [1] * 4, [0] * 4)
    b = member([1] * 4, COS, [0, 1, 1, 1], [1] * 4, [0] * 4)
    with pytest.raises(ValueError, match="different held-out sets"):
        sweep.ensemble_row([a, b])
    with pytest.raises(ValueError, match="at least one member"):
        sweep.ensemble_row([])


def test_saved_members_are_read_back_by_glob_and_scored_as_one_ensemble(sweep, tmp_path, capsys):
    a = member([50, 50, 50, 50], COS, Y, [45, 45, 52, 51], [0.0] * 4)
    b = member([50, 50, 50, 50], COS, Y, [45, 53, 40, 51], [0.0] * 4)
    np.savez(tmp_path / "cfg-seed0.npz", **a)
    np.savez(tmp_path / "cfg-seed1.npz", **b)
    np.savez(tmp_path / "other-seed0.npz", **a)
    members = sweep.saved_members(tmp_path, "cfg-seed*.npz")
    assert len(members) == 2 and np.array_equal(members[1]["q_truncate"], b["q_truncate"])
    assert len(sweep.saved_members(tmp_path, "cfg-seed0.npz, other-seed0.npz")) == 2
    sweep.score_saved(tmp_path, ["both=cfg-seed*.npz"])
    assert "| both (2) | 0.750 | nan | 0.750 |" in capsys.readouterr().out  # 3 of 4 right; q0 constant
    with pytest.raises(SystemExit, match="no saved member"):
        sweep.saved_members(tmp_path, "missing-*.npz")


def test_a_two_seed_sweep_saves_both_members_and_their_saved_ensemble_scores_the_same(
    sweep, tmp_path, monkeypatch
):
    out, saved = tmp_path / "rows.json", tmp_path / "members"
    config = 'tiny={"batch_size": 16, "min_accuracy_over_chance": 0, "collapse_fraction": 1.01}'
    monkeypatch.setattr(
        sys,
        "argv",
        ["sweep_sanity.py", "--data", str(SAMPLE_DIR), "--categories", "pig,cactus", "--per-category", "30",
         "--epochs", "1", "--seeds", "0,1", "--config", config, "--save", str(saved), "--threads", "1",
         "--json", str(out)],
    )  # fmt: skip
    sweep.main()
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == ["tiny s0", "tiny s1", "tiny ensemble of 2"]
    assert [r["options"]["seed"] for r in rows[:2]] == [0, 1]
    assert sorted(p.name for p in saved.iterdir()) == ["tiny-seed0.npz", "tiny-seed1.npz"]
    again = sweep.ensemble_row(sweep.saved_members(saved, "tiny-seed*.npz"))
    assert again["shares"] == rows[2]["shares"] and again["top1"] == rows[2]["top1"]
    assert len(sweep.saved_members(saved, "tiny-seed0.npz")[0]["q0"]) == 12  # 20 % of 2 × 30 held out
