"""Small factories for tests. Sketches come from the real sample, never random strokes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import Permission, User

from sketches import geometry
from sketches.models import Category, Sketch, split_for_key

SAMPLE_DIR = Path(settings.BASE_DIR) / "sketches" / "fixtures" / "quickdraw_sample"
RESEARCHER_APPS = ("sketches", "scoring", "studies", "annotation", "analysis")


def grant_researcher_permissions(user: User) -> None:
    """Researchers may manage everything in the research apps (not users or groups)."""
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=RESEARCHER_APPS))


def sample_records(category_file: str = "pig", n: int = 10) -> list[dict]:
    with (SAMPLE_DIR / f"{category_file}.ndjson").open() as handle:
        return [json.loads(line) for _, line in zip(range(n), handle)]


def make_category(name: str = "pig") -> Category:
    category, _ = Category.objects.get_or_create(slug=Category.slug_for(name), defaults={"name": name})
    return category


def make_sketches(category_file: str = "pig", n: int = 10, split: str | None = None) -> list[Sketch]:
    """Store ``n`` real sample sketches of one category (optionally forcing a split)."""
    category = make_category(category_file.replace("_", " "))
    rows = []
    for record in sample_records(category_file, n):
        strokes = [np.column_stack(s[:2]).astype(float) for s in record["drawing"]]
        min_x, min_y, max_x, max_y = geometry.bounding_box(strokes)
        rows.append(
            Sketch(
                category=category,
                source="quickdraw",
                key_id=record["key_id"],
                strokes=geometry.strokes_to_json(geometry.normalise(strokes)),
                stroke_count=len(strokes),
                point_count=geometry.point_count(strokes),
                bbox_min_x=min_x,
                bbox_min_y=min_y,
                bbox_width=max_x - min_x,
                bbox_height=max_y - min_y,
                split=split or split_for_key("quickdraw", category.slug, record["key_id"]),
            )
        )
    return Sketch.objects.bulk_create(rows)
