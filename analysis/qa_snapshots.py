"""Worker-quality snapshots: one row per participant, refreshed when the study's answers change."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from analysis import choice_quality, results, selectors
from analysis.models import WorkerQuality
from studies.models import Study

QUALITY_FIELDS = [
    "panel_id", "flow_status", "status", "analysed", "trials", "sentinels", "sentinel_mistakes", "duplicates",
    "duplicate_consistency", "median_rt_ms", "fast_share", "left_rate", "majority_trials", "majority_agreement",
    "model_skill", "model_skill_lo", "model_skill_hi", "model_bias", "simulated", "bot_flags",
]  # fmt: skip


def do_refresh_worker_quality(study: Study, *, force: bool = False) -> int:
    """Recompute the study's worker-quality snapshot if its answers or participants changed."""
    fingerprint = selectors.study_progress(study).fingerprint
    current = WorkerQuality.objects.filter(study=study).values_list("fingerprint", flat=True).first()
    if current == fingerprint and not force:
        return 0
    rows = choice_quality.worker_quality(results.load_frame(study))
    now = timezone.now()
    objects = [
        WorkerQuality(
            participant_id=r["participant_id"],
            study=study,
            fingerprint=fingerprint,
            computed_at=now,
            **{name: r[name] for name in QUALITY_FIELDS},
        )
        for r in rows
    ]
    with transaction.atomic():
        WorkerQuality.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["participant"],
            update_fields=[*QUALITY_FIELDS, "fingerprint", "computed_at"],
        )
    return len(objects)
