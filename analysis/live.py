"""What the staff pages show, cached until the study's answers or participants change.

The cache key holds ``Progress.fingerprint`` (answer count, last answer id, participants
by status), so a dashboard polled every few seconds recomputes only when something new
arrived, and never shows stale numbers.
"""

from __future__ import annotations

from django.core.cache import cache

from analysis import exports, figures, selectors, services
from sketches.models import Category
from studies.models import Study

CACHE_SECONDS = 3600


def default_scope(study: Study) -> str:
    """While a study runs, the dashboard also counts workers still at it (provisional)."""
    return selectors.PROVISIONAL if study.state in ("pilot", "live", "paused") else selectors.ANALYSABLE


def dashboard(study: Study, scope: str) -> dict:
    progress = selectors.study_progress(study)
    key = f"analysis:dashboard:{study.pk}:{scope}:{progress.fingerprint}"
    data = cache.get(key)
    if data is None:
        frame = services.load_frame(study, scope)
        agreement = services.agreement(frame, n_boot=0)
        svg = None
        if frame.categories and int(frame.analysed.sum()):
            figure = figures.agreement_figure(
                agreement.curves,
                frame.levels,
                "svg",
                ncols=min(4, len(frame.categories)),
                level_flags=agreement.level_flags,
            )
            svg = str(exports.inline_svg(figure))
        data = {
            "by_method": exports.html_table("agreement_by_method", agreement.by_method),
            "qa": exports.html_table("worker_qa", services.worker_quality(frame)),
            "analysed_answers": int(frame.analysed.sum()),
            "analysed_participants": int(frame.in_scope.size),
            "curve_svg": svg,
        }
        cache.set(key, data, CACHE_SECONDS)
    return {"progress": progress, **data}


def category_ranking(study: Study, category: Category, scope: str) -> services.Ranking | None:
    progress = selectors.study_progress(study)
    key = f"analysis:ranking:{study.pk}:{category.pk}:{scope}:{progress.fingerprint}"
    ranking = cache.get(key)
    if ranking is None:
        from analysis.reports import category_rankings

        frame = services.load_frame(study, scope)
        found = category_rankings(
            frame, n_boot=services.BT_BOOT, n_boot_corr=services.CORRELATION_BOOT, only=category
        )
        ranking = found[0] if found else None
        cache.set(key, ranking, CACHE_SECONDS)
    return ranking


def report_output(study: Study, include_excluded: bool, kind: str, links: dict | None = None):
    """The report as HTML (``kind="html"``) or as zip bytes (``"zip"``), cached like the pages."""
    from analysis.reports import build_report

    progress = selectors.study_progress(study)
    key = f"analysis:report:{kind}:{study.pk}:{int(include_excluded)}:{progress.fingerprint}"
    data = cache.get(key)
    if data is None:
        report = build_report(study, include_excluded=include_excluded)
        data = (
            exports.render_report_html(report, links=links) if kind == "html" else exports.report_zip(report)
        )
        cache.set(key, data, CACHE_SECONDS)
    return data
