"""The sanity report of a trained scorer, on its held-out sketches: compute, store, look up.

``do_evaluate_scorer`` is the one action: the ``evaluate_scorer`` command, the Celery task
queued after every training and the admin button (which queues that task,
``do_queue_evaluation``) call it. The maths is
:mod:`scoring.sanity` (pure); this module reads the test split, loads the scorer's
verified checkpoint through the worker's handler cache and stores the report in
``Scorer.metrics["sanity"]``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from scoring import checkpoints, outputs, sanity
from scoring.errors import CheckpointError, ScoringInputError
from scoring.models import JobStatus, Scorer, Variant
from sketches.geometry import strokes_from_json
from sketches.models import Sketch, Split

#: Held-out sketches per category the report uses (lowest ids first); None = all.
DEFAULT_PER_CATEGORY = 200


def min_share() -> float:
    return float(getattr(settings, "SKETCHQ_SANITY_MIN_SHARE", sanity.DEFAULT_MIN_SHARE))


def per_category_default() -> int | None:
    return getattr(settings, "SKETCHQ_SANITY_PER_CATEGORY", DEFAULT_PER_CATEGORY)


def heldout_sketches(scorer: Scorer, per_category: int | None) -> tuple[list, list[str]]:
    """Normalised strokes and category slugs of the scorer's test-split sketches."""
    strokes, labels = [], []
    for category in scorer.categories.order_by("slug"):
        rows = (
            Sketch.objects.filter(category=category, split=Split.TEST)
            .order_by("pk")
            .values_list("strokes", flat=True)
        )
        for stored in rows[:per_category] if per_category else rows:
            strokes.append(strokes_from_json(stored))
            labels.append(category.slug)
    return strokes, labels


def do_evaluate_scorer(scorer: Scorer, per_category: int | None = None, seed: int = 0) -> dict:
    """Compute the sanity report on held-out sketches and store it in the scorer's metrics."""
    if not scorer.is_ready:
        raise ScoringInputError(f"scorer {scorer.name!r} is not trained (status: {scorer.status})")
    if per_category is not None and per_category < 1:
        raise ScoringInputError("per_category must be at least 1")
    strokes, labels = heldout_sketches(scorer, per_category or per_category_default())
    if not strokes:
        raise ScoringInputError(f"scorer {scorer.name!r}: its categories have no test-split sketches")
    try:
        handler = checkpoints.load_handler(scorer, getattr(settings, "SKETCHQ_SCORING_DEVICE", "auto"))
    except CheckpointError as exc:
        raise ScoringInputError(exc.message) from exc
    report = outputs.clean(
        sanity.sanity_report(strokes, labels, handler.q_of, seed=seed, min_share=min_share())
    )
    with transaction.atomic():
        locked = Scorer.objects.select_for_update().get(pk=scorer.pk)
        locked.metrics = {**locked.metrics, "sanity": report}
        locked.save(update_fields=["metrics"])
    scorer.metrics = locked.metrics
    return report


def do_queue_evaluation(scorer: Scorer) -> None:
    """Queue the report on the ``gpu`` queue once the current transaction commits."""
    from scoring.tasks import evaluate_scorer

    evaluate_scorer.delay_on_commit(scorer.pk)


def report_of(scorer: Scorer) -> dict | None:
    return (scorer.metrics or {}).get("sanity")


def problem_of(scorer: Scorer) -> str | None:
    """Why ``scorer`` should not be trusted yet (missing or failing report), or None."""
    reason = sanity.verdict(report_of(scorer), min_share())
    return None if reason is None else f"scorer {scorer.name!r} {reason}"


def softmax_baseline(scorer: Scorer) -> Scorer | None:
    """A trained softmax scorer over exactly the same categories with a report, newest first."""
    if scorer.variant == Variant.SOFTMAX:
        return None
    mine = set(scorer.categories.values_list("pk", flat=True))
    candidates = Scorer.objects.filter(variant=Variant.SOFTMAX, status=JobStatus.DONE).exclude(pk=scorer.pk)
    for other in candidates.order_by("-created_at").prefetch_related("categories"):
        if {c.pk for c in other.categories.all()} == mine and report_of(other):
            return other
    return None


def comparison_rows(scorer: Scorer, baseline: Scorer | None = None) -> list[dict]:
    """The report's rows, each with the baseline's share and Spearman on the same cell (or None)."""
    report = report_of(scorer) or {}
    other = (
        {(r["category"], r["family"], r["severity"]): r for r in (report_of(baseline) or {}).get("rows", [])}
        if baseline
        else {}
    )
    rows = []
    for row in report.get("rows", []):
        match = other.get((row["category"], row["family"], row["severity"]))
        rows.append(
            {
                **row,
                "baseline_share": match["share"] if match else None,
                "baseline_spearman": match["spearman"] if match else None,
            }
        )
    return rows
