"""The quick benchmarks still run end to end, so ``make bench`` cannot rot unseen.

Four of them had stopped at a study check that was added after they were written (degradation
gold needs held-out sketches); nothing ran them. Each runs here as ``make bench`` runs it: its
own process, its own throw-away SQLite database, small sizes where the script has a knob. The
numbers they print are not checked: timings belong in ``bench/RESULTS.md``, not in tests. The
slow ones (training, scoring, the trials server) and the pure numerical ones that touch no
study (Plackett–Luce) are left to ``make bench``; ``bench_gpu`` has
its own test (``tests/scoring/test_bench_gpu.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

#: script -> environment knobs that make it small (the script's own variables).
QUICK = {
    "bench_agreement.py": {},
    "bench_crowd.py": {"BENCH_CROWD": "6,3,1,1"},
    "bench_feasibility.py": {},
    "bench_plan_study.py": {"BENCH_PLAN_PAIRS": "500"},
    "bench_report.py": {"BENCH_ANSWERS": "2000"},
    "bench_report_page.py": {"BENCH_PAGE_ANSWERS": "1000"},
    "bench_sampling.py": {},
}


@pytest.mark.parametrize("script", sorted(QUICK))
def test_the_benchmark_runs_to_the_end(script):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "BENCH_", "DJANGO_"))}
    env.update(QUICK[script])
    done = subprocess.run(
        [sys.executable, f"bench/{script}"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert "==" in done.stdout  # it printed its header, not only a warning
