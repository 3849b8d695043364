"""Importing Quick, Draw! files: one file in one transaction (``do_import_file``, ``do_import_path``),
and uploads as import batches run under a lease. Outside callers import these from ``sketches.actions``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sketches import geometry, jobs
from sketches.models import Category, ImportBatch, Sketch, split_for_key
from sketches.parsing import FileRefused, ParsedSketch, parse_file

BULK_BATCH = 1000
FILENAME_MAX = ImportBatch._meta.get_field("filename").max_length
CATEGORY_NAME_MAX = ImportBatch._meta.get_field("category_name").max_length

Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    filename: str
    n_read: int = 0
    n_new: int = 0
    n_existing: int = 0
    errors: list[str] = field(default_factory=list)
    refused: bool = False

    @property
    def n_skipped(self) -> int:
        return len(self.errors) if not self.refused else 0

    @property
    def ok(self) -> bool:
        return not self.refused

    def summary(self) -> str:
        if self.refused:
            return f"{self.filename}: refused, nothing written ({len(self.errors)} problem(s))"
        parts = [f"{self.n_new} new", f"{self.n_existing} already present"]
        if self.errors:
            parts.append(f"{len(self.errors)} skipped")
        note = " (nothing to add)" if self.n_new == 0 and not self.errors else ""
        return f"{self.filename}: {', '.join(parts)}{note}"


def do_import_file(
    stream: BinaryIO,
    filename: str,
    *,
    category: str | None = None,
    skip_invalid: bool = False,
    limit: int | None = None,
    batch: ImportBatch | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file in one transaction: all of its valid sketches, or nothing.

    Without ``skip_invalid`` any bad record refuses the whole file. Sketches
    already present (same source, category and key) are counted, not rewritten.
    """
    report = ImportReport(filename=filename)
    try:
        outcome = parse_file(
            stream, filename, category=category, limit=limit, max_npz_bytes=settings.SKETCHQ_MAX_NPZ_BYTES
        )
    except FileRefused as exc:
        report.refused, report.errors = True, [str(exc)]
        return report
    report.n_read, report.errors = outcome.n_read, outcome.errors
    if outcome.errors and not skip_invalid:
        report.refused = True
        return report
    if not outcome.sketches and not outcome.errors:
        report.refused, report.errors = True, [f"{filename}: no sketches in the file"]
        return report
    with transaction.atomic():
        report.n_new, report.n_existing = _store(outcome.sketches, category, batch, progress)
    return report


def _store(
    parsed: list[ParsedSketch],
    category_name: str | None,
    batch: ImportBatch | None,
    progress: Progress | None,
) -> tuple[int, int]:
    categories: dict[str, Category] = {}
    by_category: dict[int, list[ParsedSketch]] = {}
    for item in parsed:
        name = (category_name or item.word).replace("_", " ").strip()
        slug = Category.slug_for(name)
        if slug not in categories:
            categories[slug], _ = Category.objects.get_or_create(slug=slug, defaults={"name": name})
        by_category.setdefault(categories[slug].pk, []).append(item)

    new = existing = done = 0
    for category_id, items in by_category.items():
        category = next(c for c in categories.values() if c.pk == category_id)
        present = set(
            Sketch.objects.filter(category=category, key_id__in=[i.key_id for i in items]).values_list(
                "source", "key_id"
            )
        )
        rows = [_row(item, category, batch) for item in items if (item.source, item.key_id) not in present]
        existing += len(items) - len(rows)
        for start in range(0, len(rows), BULK_BATCH):
            chunk = rows[start : start + BULK_BATCH]
            Sketch.objects.bulk_create(chunk, ignore_conflicts=True)
            new += len(chunk)
            done += len(chunk)
            if progress:
                progress(done, len(parsed))
    return new, existing


def _row(item: ParsedSketch, category: Category, batch: ImportBatch | None) -> Sketch:
    min_x, min_y, max_x, max_y = geometry.bounding_box(item.strokes)
    normalised = geometry.normalise(item.strokes)
    return Sketch(
        category=category,
        source=item.source,
        key_id=item.key_id,
        strokes=geometry.strokes_to_json(normalised),
        stroke_count=len(item.strokes),
        point_count=geometry.point_count(item.strokes),
        bbox_min_x=min_x,
        bbox_min_y=min_y,
        bbox_width=max_x - min_x,
        bbox_height=max_y - min_y,
        countrycode=item.countrycode,
        recognized=item.recognized,
        drawn_at=item.drawn_at,
        split=split_for_key(item.source, category.slug, item.key_id),
        import_batch=batch,
    )


def do_create_import_batch(
    upload, *, category: str = "", skip_invalid: bool = False, user=None
) -> ImportBatch:
    """Store an uploaded file as an import job and queue it once the transaction commits.

    The admin's "Import sketches" and ``POST /api/imports/`` both call this, after
    ``ImportUploadForm`` validated the upload (size, suffix, category length). The
    filename is cut to what ``ImportBatch.filename`` holds; the file keeps its own name.
    """
    from sketches.tasks import run_import_batch

    category = category or ""
    if len(category) > CATEGORY_NAME_MAX:
        raise ValueError(f"category names are at most {CATEGORY_NAME_MAX} characters, got {len(category)}")
    batch = ImportBatch(
        filename=upload.name[:FILENAME_MAX],
        category_name=category,
        skip_invalid=skip_invalid,
        created_by=user,
    )
    batch.file.save(upload.name, upload, save=False)
    batch.save()
    run_import_batch.delay_on_commit(batch.pk)
    return batch


def do_run_import_batch(batch_id: int) -> ImportBatch:
    """Import the file stored on an :class:`ImportBatch` and record the outcome on it.

    Claims the batch under a lease (``sketches.jobs``): pending, or running with a lease
    that ran out (its worker died). Renews the lease while importing; the outcome is
    written only while this claim still holds it. Idempotent: a finished batch, or one
    another worker holds, is returned unchanged; a re-run adds no sketch twice.
    """
    attempt = jobs.claim(
        ImportBatch, batch_id, pending=ImportBatch.Status.PENDING, running=ImportBatch.Status.RUNNING
    )
    batch = ImportBatch.objects.get(pk=batch_id)
    if attempt is None:
        return batch
    with jobs.heartbeat(ImportBatch, batch_id, attempt, running=ImportBatch.Status.RUNNING):
        with batch.file.open("rb") as stream:
            data = stream.read()
        report = do_import_file(
            BytesIO(data),
            batch.filename,
            category=batch.category_name or None,
            skip_invalid=batch.skip_invalid,
            batch=batch,
        )
    ImportBatch.objects.filter(pk=batch_id, attempts=attempt, status=ImportBatch.Status.RUNNING).update(
        sha256=hashlib.sha256(data).hexdigest(),
        status=ImportBatch.Status.DONE if report.ok else ImportBatch.Status.FAILED,
        n_read=report.n_read,
        n_new=report.n_new,
        n_existing=report.n_existing,
        n_skipped=report.n_skipped,
        messages=[report.summary(), *report.errors[:1000]],
        finished_at=timezone.now(),
    )
    batch.refresh_from_db()
    return batch


def do_settle_import_batch(batch: ImportBatch, now=None) -> str:
    """The lease rule for one batch: re-queue it if its worker died, or fail it with a message."""
    from sketches.tasks import run_import_batch

    return jobs.do_settle(
        batch,
        running=ImportBatch.Status.RUNNING,
        pending=ImportBatch.Status.PENDING,
        requeue=run_import_batch.delay,
        give_up=lambda message: {
            "status": ImportBatch.Status.FAILED,
            "messages": [message],
            "finished_at": timezone.now(),
        },
        what="the import",
        now=now,
    )


def do_sweep_import_batches(now=None) -> dict[str, int]:
    """Settle every running batch whose lease ran out; counts per verdict."""
    return jobs.do_sweep(ImportBatch, ImportBatch.Status.RUNNING, do_settle_import_batch, now)


def do_import_path(path: Path, **kwargs) -> ImportReport:
    with path.open("rb") as stream:
        return do_import_file(stream, path.name, **kwargs)
