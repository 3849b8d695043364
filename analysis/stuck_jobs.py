"""The sweep over every claimed job whose lease ran out: imports, scoring runs and exports."""

from __future__ import annotations

from analysis.export_jobs import do_settle_export
from analysis.models import ExportJob, ExportStatus
from sketches import jobs


def do_sweep_stuck_jobs(now=None) -> dict[str, dict[str, int]]:
    """Settle every claimed job whose lease ran out: imports, scoring runs and exports.

    Run by ``manage.py sweep_stuck_jobs`` and the beat task ``analysis.tasks.sweep_stuck_jobs``
    (the most downstream app sweeps for all three).
    """
    from scoring.runs import do_sweep_scoring_runs
    from sketches.imports import do_sweep_import_batches

    return {
        "imports": do_sweep_import_batches(now),
        "scoring_runs": do_sweep_scoring_runs(now),
        "exports": jobs.do_sweep(ExportJob, ExportStatus.RUNNING, do_settle_export, now),
    }
