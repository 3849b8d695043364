"""Score every sketch of a scorer's categories: queue batch tasks on the ``gpu`` queue."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from scoring.actions import DEFAULT_TASK_BATCH_SIZE, do_start_scoring_run
from scoring.errors import ScoringInputError
from scoring.models import JobStatus, ScoringRun


class Command(BaseCommand):
    help = (
        "Score sketches with a trained scorer: one Celery task per batch on the gpu queue (in this "
        "process when no broker is configured). Results are upserted per (sketch, scorer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scorer", required=True, help="the scorer's name")
        parser.add_argument(
            "--category",
            nargs="+",
            metavar="CATEGORY",
            help="names or slugs (default: every category the scorer was trained on)",
        )
        parser.add_argument("--wait", action="store_true", help="show progress until the run finishes")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_TASK_BATCH_SIZE, help="sketches per task"
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="with --wait: give up after this many seconds"
        )

    def handle(self, *args, **options):
        names = [n for value in options["category"] or [] for n in value.split(",") if n.strip()] or None
        try:
            run = do_start_scoring_run(options["scorer"], names, task_batch_size=options["batch_size"])
        except ScoringInputError as exc:
            raise CommandError(exc.message) from None
        run.refresh_from_db()
        batches = -(-run.total // run.task_batch_size)
        self.stdout.write(f"Run #{run.pk}: {run.total} sketches of {run.scorer.name} in {batches} task(s).")
        if options["wait"]:
            run = self._wait(run, options["timeout"], options["verbosity"] > 0)
        self._report(run)

    def _wait(self, run: ScoringRun, timeout: float | None, show: bool) -> ScoringRun:
        started = time.monotonic()
        with tqdm(
            total=run.total, desc=f"run #{run.pk}", unit="sketch", file=self.stderr, disable=not show
        ) as bar:
            while True:
                run.refresh_from_db()
                bar.n = run.done
                bar.refresh()
                if run.status in (JobStatus.DONE, JobStatus.FAILED):
                    return run
                if timeout is not None and time.monotonic() - started > timeout:
                    raise CommandError(
                        f"run #{run.pk} is still {run.status} after {timeout:g} s ({run.done}/{run.total}); "
                        "it goes on in the workers"
                    )
                time.sleep(1.0)

    def _report(self, run: ScoringRun) -> None:
        if run.status == JobStatus.DONE:
            seconds = (run.finished_at - run.started_at).total_seconds() if run.started_at else 0.0
            self.stdout.write(
                self.style.SUCCESS(f"Run #{run.pk} done: {run.done}/{run.total} scored in {seconds:.1f} s.")
            )
        elif run.status == JobStatus.FAILED:
            raise CommandError(f"run #{run.pk} failed ({run.done}/{run.total}): " + "; ".join(run.errors))
        else:
            self.stdout.write(
                f"Run #{run.pk} is {run.status} ({run.done}/{run.total}); "
                "follow it in the admin, or pass --wait."
            )
