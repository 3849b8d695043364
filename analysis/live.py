"""What the staff pages show, cached until the study's answers or participants change.

The cache key holds ``Progress.fingerprint`` (answer count, last answer id, participants
by status), so a dashboard polled every few seconds recomputes only when something new
arrived, and never shows stale numbers.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from analysis import choice_quality, exports, figures, results, selectors, trial_type_results
from sketches.models import Category
from studies import seeds
from studies.models import Study, TrialType

CACHE_SECONDS = 3600
log = logging.getLogger(__name__)


def default_scope(study: Study) -> str:
    """While a study runs, the dashboard also counts workers still at it (provisional)."""
    return selectors.PROVISIONAL if study.state in ("pilot", "live", "paused") else selectors.ANALYSABLE


def dashboard(study: Study, scope: str) -> dict:
    progress = selectors.study_progress(study)
    key = f"analysis:dashboard:{study.pk}:{scope}:{progress.fingerprint}"
    data = cache.get(key)
    if data is None:
        frame = results.load_frame(study, scope)
        if study.trial_type != TrialType.PAIR:
            data = _choice_dashboard(study, frame)
            cache.set(key, data, CACHE_SECONDS)
            return {"progress": progress, **data}
        agreement = results.agreement(frame, n_boot=0)
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
            "qa": exports.html_table("worker_qa", choice_quality.worker_quality(frame)),
            "analysed_answers": int(frame.analysed.sum()),
            "analysed_participants": int(frame.in_scope.size),
            "curve_svg": svg,
        }
        cache.set(key, data, CACHE_SECONDS)
    return {"progress": progress, **data}


def _choice_dashboard(study: Study, frame: results.Frame) -> dict:
    """Best of K and single: their own agreement table and figure (no bootstrap: the report adds it)."""
    from analysis.reports import kway_agreement_figure, yes_rate_figure

    seed = seeds.key(study.seed_scheme, "report_choices", study.seed)
    tables = trial_type_results.choice_tables(frame, seed=seed, n_boot=0)
    svg = None
    if study.trial_type == TrialType.BEST_OF_K:
        name = "kway_agreement_by_level"
        if int(frame.analysed.sum()) and tables.get(name):
            svg = str(exports.inline_svg(kway_agreement_figure(study, frame.levels, tables, "svg")))
    else:
        name = "yes_rate_fits"
        if tables.get("yes_rate_curve"):
            svg = str(exports.inline_svg(yes_rate_figure(study, tables, "svg")))
    return {
        "by_method": exports.html_table(name, tables.get(name, [])),
        "qa": exports.html_table("worker_qa", choice_quality.worker_quality(frame)),
        "analysed_answers": int(frame.analysed.sum()),
        "analysed_participants": int(frame.in_scope.size),
        "curve_svg": svg,
    }


def category_ranking(study: Study, category: Category, scope: str) -> results.Ranking | None:
    progress = selectors.study_progress(study)
    key = f"analysis:ranking:{study.pk}:{category.pk}:{scope}:{progress.fingerprint}"
    ranking = cache.get(key)
    if ranking is None:
        from analysis.reports import category_rankings

        frame = results.load_frame(study, scope)
        found = category_rankings(
            frame, n_boot=results.BT_BOOT, n_boot_corr=results.CORRELATION_BOOT, only=category
        )
        ranking = found[0] if found else None
        cache.set(key, ranking, CACHE_SECONDS)
    return ranking


def _report_key(kind: str, study: Study, include_excluded: bool, fingerprint) -> str:
    return f"analysis:report:{kind}:{study.pk}:{int(include_excluded)}:{fingerprint}"


def cached_report(study: Study, include_excluded: bool, kind: str = "html"):
    """The full report for the current answers if it is ready, else None (never computes)."""
    fingerprint = selectors.study_progress(study).fingerprint
    return cache.get(_report_key(kind, study, include_excluded, fingerprint))


def report_page(study: Study, include_excluded: bool, links: dict, status_url: str) -> tuple[str, bool]:
    """(HTML, complete). The full report when it is cached for the current answers; otherwise a
    quick version (no bootstraps, no figures: point estimates and Wilson intervals) and the
    full one is built by a Celery task, whose progress the quick page polls."""
    from analysis.reports import build_report

    fingerprint = selectors.study_progress(study).fingerprint
    full = cache.get(_report_key("html", study, include_excluded, fingerprint))
    if full is not None:
        return full, True
    in_thread = settings.SKETCHQ_REPORT_BUILD_THREAD  # started after the quick version: one GIL
    if not in_thread and start_report_build(study, include_excluded, fingerprint, links):
        full = cache.get(
            _report_key("html", study, include_excluded, fingerprint)
        )  # eager Celery: done already
        if full is not None:
            return full, True
    quick_key = _report_key("quick", study, include_excluded, fingerprint)
    quick = cache.get(quick_key)
    if quick is None:
        report = build_report(
            study, include_excluded, agreement_boot=0, bt_boot=0, correlation_boot=0, curve_boot=0
        )
        pending = {"status_url": status_url, "state": {"share": 0.0, "stage": "queued", "done": False}}
        quick = exports.render_report_html(report, links=links, with_figures=False, pending=pending)
        cache.set(quick_key, quick, CACHE_SECONDS)
    if in_thread:
        start_report_build(study, include_excluded, fingerprint, links)
    return quick, False


def _progress_key(study: Study, include_excluded: bool, fingerprint) -> str:
    return _report_key("progress", study, include_excluded, fingerprint)


def start_report_build(study: Study, include_excluded: bool, fingerprint, links: dict) -> bool:
    """Enqueue the full report's build once per fingerprint (a cache ``add`` is the lock)."""
    from analysis.tasks import build_report_cache

    key = _progress_key(study, include_excluded, fingerprint)
    if not cache.add(key, {"share": 0.0, "stage": "queued", "done": False}, CACHE_SECONDS):
        return False
    if settings.SKETCHQ_REPORT_BUILD_THREAD:  # one process, no worker: build beside the requests
        threading.Thread(
            target=_build_in_thread,
            args=(study.pk, include_excluded, str(fingerprint), links),
            name=f"report-{study.pk}",
            daemon=True,
        ).start()
        return True
    if not shared_cache():  # a worker's result would land in its own memory: build here instead
        build_report_for_cache(study, include_excluded, str(fingerprint), links)
        return True
    build_report_cache.delay_on_commit(study.pk, include_excluded, str(fingerprint), links)
    return True


def _build_in_thread(study_id: int, include_excluded: bool, fingerprint: str, links: dict) -> None:
    """``build_report_for_cache`` in a thread of this process, on the thread's own database
    connection. A failure is logged and clears the progress, so the next load starts again."""
    try:
        study = Study.objects.get(pk=study_id)
        build_report_for_cache(study, include_excluded, fingerprint, links)
    except Exception:
        log.exception("building the report of study %s failed", study_id)
        cache.delete(_progress_key(Study(pk=study_id), include_excluded, fingerprint))
    finally:
        connections.close_all()  # this thread's connections only


def shared_cache() -> bool:
    """Whether a Celery worker's cache writes reach this process (Redis cache, or eager Celery)."""
    backend = settings.CACHES["default"]["BACKEND"]
    return "redis" in backend.lower() or bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def report_progress(study: Study, include_excluded: bool) -> dict:
    """{share, stage, done} of the full report for the current answers."""
    fingerprint = selectors.study_progress(study).fingerprint
    if cache.get(_report_key("html", study, include_excluded, fingerprint)) is not None:
        return {"share": 1.0, "stage": "done", "done": True}
    found = cache.get(_progress_key(study, include_excluded, fingerprint))
    return found or {"share": 0.0, "stage": "not started", "done": False}


def build_report_for_cache(study: Study, include_excluded: bool, fingerprint: str, links: dict) -> bool:
    """The task's work: build the full report, render it, cache it under ``fingerprint``.
    Skips (False) when the answers changed meanwhile (a newer fingerprint gets its own build)."""
    from analysis.reports import build_report

    if str(selectors.study_progress(study).fingerprint) != fingerprint:
        cache.delete(_progress_key(study, include_excluded, fingerprint))
        return False
    key = _progress_key(study, include_excluded, fingerprint)

    def progress(share: float, stage: str) -> None:
        cache.set(key, {"share": share, "stage": stage, "done": False}, CACHE_SECONDS)

    report = build_report(study, include_excluded=include_excluded, progress=progress)
    html = exports.render_report_html(report, links=links)
    cache.set(_report_key("html", study, include_excluded, fingerprint), html, CACHE_SECONDS)
    cache.set(key, {"share": 1.0, "stage": "done", "done": True}, CACHE_SECONDS)
    return True
