"""Re-claim or fail jobs whose worker stopped renewing its lease (imports, scoring runs, exports)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from analysis.actions import do_sweep_stuck_jobs
from sketches import jobs


class Command(BaseCommand):
    help = (
        "Jobs claimed by a worker that died (no heartbeat within SKETCHQ_JOB_LEASE_SECONDS) are queued "
        "again, or failed with a message after SKETCHQ_JOB_MAX_ATTEMPTS claims."
    )

    def handle(self, *args, **options):
        result = do_sweep_stuck_jobs()
        for kind, counts in result.items():
            described = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())) or "none stuck"
            self.stdout.write(f"{kind}: {described}")
        self.stdout.write(f"(lease {jobs.lease_seconds():.0f} s, at most {jobs.max_attempts()} attempts)")
