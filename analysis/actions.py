"""The analysis app's actions: the index that admin, API, commands, tasks and other apps import.

Each name is defined in the concept module named beside it.

* ``do_refresh_worker_quality(study)`` → rows upserted, skipped when nothing changed
  (``analysis.qa_snapshots``)
* ``do_request_export(study, user, include_excluded)`` → ``ExportJob``, its task enqueued on
  commit; ``do_run_export(job_id)`` builds it under a lease (idempotent; the task calls it);
  ``do_settle_export(job)`` re-queues or fails an export whose worker died (``analysis.export_jobs``)
* ``do_sweep_stuck_jobs()`` settles every import, scoring run and export whose lease ran out
  (``analysis.stuck_jobs``)
* ``do_remove_simulated_participants(study)`` → how many simulated participants were removed
  (``analysis.simulated_participants``)

What the app computes without writing is in ``analysis.results`` (from ``analysis.selectors``).
"""

from analysis.export_jobs import do_request_export, do_run_export, do_settle_export
from analysis.qa_snapshots import do_refresh_worker_quality
from analysis.simulated_participants import do_remove_simulated_participants
from analysis.stuck_jobs import do_sweep_stuck_jobs

__all__ = [
    "do_refresh_worker_quality",
    "do_remove_simulated_participants",
    "do_request_export",
    "do_run_export",
    "do_settle_export",
    "do_sweep_stuck_jobs",
]
