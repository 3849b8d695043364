"""Read-only queries of the scoring app (figures, admin pages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring import outputs
from scoring.figures import Panel
from scoring.models import JobStatus, Scorer, SketchScore, Variant
from sketches.models import Category, Split


def heldout_of(scorer: Scorer) -> dict[str, np.ndarray] | None:
    """The stored held-out outputs of a trained scorer, or None if it has none."""
    if not scorer.heldout or not scorer.heldout.storage.exists(scorer.heldout.name):
        return None
    with scorer.heldout.storage.open(scorer.heldout.name, "rb") as handle:
        return outputs.read_heldout(handle.read())


def heldout_panel(scorer: Scorer) -> Panel | None:
    heldout = heldout_of(scorer)
    if heldout is None:
        return None
    names = dict(Category.objects.values_list("slug", "name"))
    return outputs.heldout_panel(_title(scorer), heldout, names)


def scores_panel(scorer: Scorer, categories: Sequence[Category], split: str | None = None) -> Panel:
    """A figure panel from stored SketchScore rows (optionally one split only)."""
    rows = SketchScore.objects.filter(scorer=scorer, sketch__category__in=categories)
    if split:
        rows = rows.filter(sketch__split=split)
    points: dict[str, list[list[float]]] = {c.name: [[], []] for c in categories}
    for name, q, cos in rows.values_list("sketch__category__name", "q", "cos_theta_y").iterator(
        chunk_size=5000
    ):
        points[name][0].append(q)
        points[name][1].append(cos)
    return Panel(_title(scorer), {k: (np.asarray(v[0]), np.asarray(v[1])) for k, v in points.items()})


def _title(scorer: Scorer) -> str:
    kind = "softmax" if scorer.variant == Variant.SOFTMAX else f"GACL-{scorer.variant}"
    sbin = "" if scorer.variant == Variant.SOFTMAX or scorer.soft_binning else " w/o sbin"
    return f"{scorer.name} ({kind}{sbin})"


def comparable_scorers(scorer: Scorer) -> list[Scorer]:
    """Other trained scorers sharing at least one category, softmax baselines first (for Fig. 7)."""
    shared = Scorer.objects.filter(status=JobStatus.DONE, categories__in=scorer.categories.all()).exclude(
        pk=scorer.pk
    )
    found = list(shared.distinct())
    return sorted(found, key=lambda s: (s.variant != Variant.SOFTMAX, -s.created_at.timestamp()))


def score_count(scorer: Scorer) -> int:
    return SketchScore.objects.filter(scorer=scorer).count()


#: Sketches shown at each end of a category's q order on the scorer's page.
EXTREMES = 12
ALL_SPLITS = "all"


@dataclass(frozen=True)
class Extremes:
    """The best and worst sketches of one category by q: ``(sketch id, q)``, best first / worst first."""

    category: Category
    split: str
    source: str  # "scores" (stored SketchScore rows) or "heldout" (outputs saved at training)
    n: int
    best: list[tuple[int, float]]
    worst: list[tuple[int, float]]


def extremes(scorer: Scorer, category: Category, split: str = Split.TEST, n: int = EXTREMES) -> Extremes:
    """The ``n`` best and ``n`` worst sketches of ``category`` by the scorer's q, in one split
    (``"all"``: every split). Stored scores first; without any, the held-out outputs saved at
    training (test split only). Ties break by sketch id, so the lists are stable."""
    rows = SketchScore.objects.filter(scorer=scorer, sketch__category=category)
    if split != ALL_SPLITS:
        rows = rows.filter(sketch__split=split)
    total = rows.count()
    if total:
        best = list(rows.order_by("-q", "sketch_id").values_list("sketch_id", "q")[:n])
        worst = list(rows.order_by("q", "sketch_id").values_list("sketch_id", "q")[:n])
        return Extremes(category, split, "scores", total, best, worst)
    heldout = heldout_of(scorer) if split in (Split.TEST, ALL_SPLITS) else None
    if heldout is not None and category.slug in heldout["class_names"].tolist():
        index = heldout["class_names"].tolist().index(category.slug)
        members = heldout["labels"] == index
        ids, q = heldout["sketch_ids"][members], heldout["q"][members].astype(float)
        order = np.lexsort((ids, -q))
        best = [(int(ids[i]), float(q[i])) for i in order[:n]]
        worst = [(int(ids[i]), float(q[i])) for i in np.lexsort((ids, q))[:n]]
        return Extremes(category, Split.TEST, "heldout", int(members.sum()), best, worst)
    return Extremes(category, split, "scores", 0, [], [])
