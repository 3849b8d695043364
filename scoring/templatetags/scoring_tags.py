"""Template filters for scoring pages: elapsed time and throughput of runs."""

from __future__ import annotations

from django import template
from django.utils import timezone

register = template.Library()


def _seconds(job) -> float | None:
    start = getattr(job, "started_at", None)
    if start is None:
        return None
    end = getattr(job, "finished_at", None) or timezone.now()
    return max((end - start).total_seconds(), 0.0)


@register.filter
def elapsed(job) -> str:
    """``1m 05s`` since a run started (until it finished)."""
    seconds = _seconds(job)
    if seconds is None:
        return "–"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{seconds:.1f}s"


@register.filter
def rate(run) -> str:
    """Sketches scored per second so far."""
    seconds = _seconds(run)
    if not seconds or not run.done:
        return "–"
    return f"{run.done / seconds:,.0f} sketches/s"


@register.filter
def percent(done, total) -> int:
    return int(100 * done / total) if total else 0
