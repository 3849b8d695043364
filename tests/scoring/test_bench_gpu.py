"""bench/bench_gpu.py's CPU path on a tiny budget, so the GPU script cannot rot."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from django.conf import settings

from sketches.degradations import FAMILIES
from tests.factories import SAMPLE_DIR

SCRIPT = Path(settings.BASE_DIR) / "bench" / "bench_gpu.py"


def test_bench_gpu_trains_scores_and_runs_the_sanity_report_on_the_cpu(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "gpu.json"
    report = module.main(
        ["--device", "cpu", "--budget-seconds", "1", "--data", str(SAMPLE_DIR), "--categories", "pig,cactus",
         "--per-category", "40", "--hidden", "16", "--batch-size", "16", "--sanity-per-category", "4", "--threads", "1", "--keep-collapsed",
         "--json", str(out)]
    )  # fmt: skip
    assert json.loads(out.read_text())["device"] == "cpu"
    assert report["epochs"] >= 1 and report["encoder"] == "BiLSTM 2x16"
    assert report["train_sketches_per_s"] > 0 and report["forward_sketches_per_s"] > 0
    assert 0.0 <= report["accuracy"] <= 1.0
    assert set(report["sanity_summary"]) == set(FAMILIES)
    assert report["sanity"]["n_sketches"] == 8
