from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.exports import ExportError, write_report
from analysis.reports import build_report
from studies.models import Study


class Command(BaseCommand):
    help = (
        "Write a study's report into a folder: raw answers (CSV, JSON), agreement, rankings and worker QA "
        "tables (CSV), figures (SVG, PNG, PDF), report.json and a self-contained report.html."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="the study's slug")
        parser.add_argument("--out", required=True, type=Path, help="folder to create (or an empty one)")
        parser.add_argument(
            "--include-excluded", action="store_true",
            help="analyse blocked, unqualified and unfinished workers too (for comparison)",
        )  # fmt: skip
        parser.add_argument("--force", action="store_true", help="replace the folder if it is not empty")

    def handle(self, *args, **options):
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['study']!r}")
        report = build_report(study, include_excluded=options["include_excluded"])
        try:
            paths = write_report(report, options["out"], overwrite=options["force"])
        except (ExportError, OSError) as error:
            raise CommandError(str(error)) from None
        counts = report.meta["counts"]
        self.stdout.write(
            f"{study.slug}: {counts['analysed_answers']} analysed answers from {counts['participants_analysed']} "
            f"participants; wrote {len(paths)} files to {options['out']} (open report.html)"
        )
