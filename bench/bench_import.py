"""Import throughput: `import_sketches` against a plain bulk_create of the same rows.

Both write the same Sketch rows to a fresh database in the same run; the ratio says
what parsing, validation, normalisation and the duplicate check cost on top of the
bare INSERTs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_header, print_ratio, print_row  # noqa: E402
from bench.django_setup import setup_django  # noqa: E402

setup_django()

import time  # noqa: E402

from django.conf import settings  # noqa: E402

from sketches.imports import _row, do_import_path  # noqa: E402
from sketches.models import Category, Sketch  # noqa: E402
from sketches.parsing import parse_file  # noqa: E402

FILES = ["pig.ndjson", "face.ndjson", "airplane.ndjson", "radio.ndjson"]


def main() -> None:
    folder = Path(settings.SKETCHQ_DATA_DIR)
    paths = [folder / name for name in FILES if (folder / name).exists()]
    if not paths:
        paths = sorted((Path(settings.BASE_DIR) / "sketches/fixtures/quickdraw_sample").glob("*.ndjson"))

    # Baseline rows, prepared outside the timed region: only the INSERTs are timed.
    prepared = []
    for path in paths:
        with path.open("rb") as handle:
            outcome = parse_file(handle, path.name)
        category, _ = Category.objects.get_or_create(
            slug=Category.slug_for(outcome.sketches[0].word), defaults={"name": outcome.sketches[0].word}
        )
        prepared += [_row(item, category, None) for item in outcome.sketches]
    n = len(prepared)

    start = time.perf_counter()
    Sketch.objects.bulk_create(prepared, batch_size=1000)
    baseline = time.perf_counter() - start
    Sketch.objects.all().delete()

    start = time.perf_counter()
    reports = [do_import_path(path) for path in paths]
    measured = time.perf_counter() - start
    assert sum(r.n_new for r in reports) == n

    start = time.perf_counter()
    again = [do_import_path(path) for path in paths]
    reimport = time.perf_counter() - start
    assert sum(r.n_new for r in again) == 0

    print_header(
        f"import throughput ({n:,} real sketches, {len(paths)} files, {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})"
    )
    print_row("plain bulk_create of prepared rows", f"{n / baseline:,.0f} sketches/s")
    print_row("import_sketches (parse, validate, normalise, store)", f"{n / measured:,.0f} sketches/s")
    print_row("re-import of the same files (adds 0)", f"{n / reimport:,.0f} sketches/s")
    print_ratio("import throughput / bulk_create throughput", baseline, measured)


if __name__ == "__main__":
    main()
