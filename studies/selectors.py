"""Read-only views of a study's plan for the admin and commands."""

from __future__ import annotations

from django.db.models import Count, Sum

from studies.models import PlannedPair, Study


def stored_plan_counts(study: Study) -> dict[tuple[int, int], dict[int, tuple[int, int]]]:
    """{(category_id, scorer_id): {level: (pairs, times handed out)}} from the stored rows; one query."""
    counts: dict[tuple[int, int], dict[int, tuple[int, int]]] = {}
    rows = (
        PlannedPair.objects.filter(study=study)
        .values_list("category_id", "scorer_id", "level")
        .annotate(n=Count("id"), handed=Sum("times_assigned"))
        .order_by()
    )
    for category_id, scorer_id, level, n, handed in rows:
        counts.setdefault((category_id, scorer_id), {})[level] = (n, handed or 0)
    return counts


def plan_table(summary: dict, stored: dict | None = None) -> dict:
    """Rows (category × method) of counts per level, with totals, from a plan summary.

    ``stored`` (from ``stored_plan_counts``) replaces the summary's counts by what is
    in the database and adds how often each cell's pairs were handed out.
    """
    n_levels = len(summary.get("levels", []))
    rows, column_totals = [], [0] * n_levels
    for cell in summary.get("cells", []):
        counts = list(cell.get("counts") or [0] * n_levels)
        handed = None
        if stored is not None:
            found = stored.get((cell["category_id"], cell["scorer_id"]), {})
            counts = [found.get(k, (0, 0))[0] for k in range(n_levels)]
            handed = sum(h for _, h in found.values())
        requested = list(cell.get("requested") or [])
        candidates = list(cell.get("candidates") or [])
        levels = [
            {
                "count": counts[k] if k < len(counts) else 0,
                "requested": requested[k] if k < len(requested) else None,
                "candidates": candidates[k] if k < len(candidates) else None,
                "short": k < len(requested) and k < len(candidates) and candidates[k] < requested[k],
            }
            for k in range(n_levels)
        ]
        for k in range(n_levels):
            column_totals[k] += levels[k]["count"]
        rows.append({**cell, "levels": levels, "total": sum(counts), "handed": handed})
    return {
        "levels": summary.get("levels", []),
        "rows": rows,
        "totals": column_totals,
        "total": sum(column_totals),
    }
