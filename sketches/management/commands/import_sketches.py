import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sketches.actions import do_import_path

PROGRESS_MIN_BYTES = 512 * 1024


class Command(BaseCommand):
    help = (
        "Import Quick, Draw! ndjson (simplified or raw) and sketch-rnn .npz files. "
        "A file with any invalid record is refused whole unless --skip-invalid is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--category", help="category name; every record's word must match it")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid records, report the rest"
        )
        parser.add_argument("--limit", type=int, help="read at most N records per file")

    def handle(self, *paths, **options):
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be a positive integer")
        failed = []
        totals = {"new": 0, "existing": 0}
        for path in options["paths"]:
            if not path.is_file():
                self.stderr.write(f"{path}: no such file")
                failed.append(path.name)
                continue
            report = self._import_one(path, options)
            for line in report.errors:
                self.stderr.write(f"  {'error' if report.refused else 'skipped'}: {line}")
            (self.stderr if report.refused else self.stdout).write(report.summary())
            if report.refused:
                failed.append(path.name)
            totals["new"] += report.n_new
            totals["existing"] += report.n_existing
        self.stdout.write(f"Total: {totals['new']} new, {totals['existing']} already present.")
        if failed:
            raise CommandError(f"{len(failed)} file(s) refused: {', '.join(failed)}")

    def _import_one(self, path, options):
        show = path.stat().st_size >= PROGRESS_MIN_BYTES and options.get("verbosity", 1) > 0
        with tqdm(desc=path.name, unit="sketch", disable=not show, file=sys.stderr, leave=False) as bar:

            def progress(done, total):
                bar.total = total
                bar.update(done - bar.n)

            return do_import_path(
                path,
                category=options["category"],
                skip_invalid=options["skip_invalid"],
                limit=options["limit"],
                progress=progress,
            )
