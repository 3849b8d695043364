"""Degraded copies of real sketches (the sanity check's and gold trials' known-worse stimuli), stored like imports."""

from __future__ import annotations

import numpy as np
from django.db import transaction

from sketches import geometry
from sketches.degradations import Degradation, degrade
from sketches.models import Sketch, Split


def do_create_degraded_copies(requests: list[tuple[Sketch, Degradation, int]]) -> list[Sketch]:
    """A derived sketch per ``(source, degradation, seed)``: the source's strokes degraded,
    then normalised and stored exactly as an imported sketch is (unit box, 4 decimals).

    Idempotent: the natural key ``<source id>~<family-severity>~<seed>`` returns an existing
    copy instead of making a second one. Derived sketches are in split ``gold``, so no
    plan, training set or analysis reads them. Returns the copies in request order.
    """
    with transaction.atomic():
        keys = [f"{source.pk}~{d.label}~{seed}" for source, d, seed in requests]
        existing = {
            (s.category_id, s.key_id): s
            for s in Sketch.objects.filter(source=Sketch.Source.DEGRADED, key_id__in=keys)
        }
        out = []
        for key, (source, degradation, seed) in zip(keys, requests):
            copy = existing.get((source.category_id, key))
            if copy is None:
                rng = np.random.default_rng([seed, source.pk])
                strokes = geometry.normalise(
                    degrade(geometry.strokes_from_json(source.strokes), degradation, rng)
                )
                min_x, min_y, max_x, max_y = geometry.bounding_box(strokes)
                copy = Sketch.objects.create(
                    category_id=source.category_id,
                    source=Sketch.Source.DEGRADED,
                    key_id=key,
                    strokes=geometry.strokes_to_json(strokes),
                    stroke_count=len(strokes),
                    point_count=geometry.point_count(strokes),
                    bbox_min_x=min_x,
                    bbox_min_y=min_y,
                    bbox_width=max_x - min_x,
                    bbox_height=max_y - min_y,
                    split=Split.GOLD,
                    derived_from=source,
                    degradation=degradation.label,
                )
                existing[(source.category_id, key)] = copy
            out.append(copy)
        return out
