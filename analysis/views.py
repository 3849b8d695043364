"""Staff pages: studies, a live dashboard, rankings, the HTML report and its downloads.

Only signed-in staff get in (``sketches.staff.staff_required``: others get 403 with a sign-in link); a researcher sees only
the studies ``Study.objects.visible_to`` them (others: 404).
"""

from __future__ import annotations

from functools import wraps

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from analysis import actions, exports, live, selectors
from analysis.bt_inference import EVIDENCE
from analysis.models import ExportJob, ExportStatus
from annotation.models import Participant
from sketches.staff import staff_required
from studies.models import Study

THUMB = 56


def with_study(view):
    """Staff only, and the study must be visible to the user (else 404)."""

    @staff_required
    @wraps(view)
    def wrapper(request, slug: str, *args, **kwargs):
        study = Study.objects.visible_to(request.user).filter(slug=slug).first()
        if study is None:
            raise Http404("No such study, or it is not shared with you.")
        return view(request, study, *args, **kwargs)

    return wrapper


def _scope(request, study: Study) -> str:
    scope = request.GET.get("scope", "")
    return scope if scope in selectors.SCOPES else live.default_scope(study)


def _links(study: Study) -> dict:
    return {
        "Dashboard": reverse("analysis:dashboard", args=[study.slug]),
        "Rankings": reverse("analysis:rankings", args=[study.slug]),
        "Report": reverse("analysis:report", args=[study.slug]),
        "Download (zip)": reverse("analysis:report_zip", args=[study.slug]),
    }


@require_GET
@staff_required
def index(request):
    studies = Study.objects.visible_to(request.user).order_by("-created_at")
    rows = [{"study": s, "links": _links(s)} for s in studies]
    return render(request, "analysis/index.html", {"rows": rows})


def _simulated(study: Study) -> int:
    """Simulated participants of the study (labelled on every page that shows its answers)."""
    return Participant.objects.filter(study=study, simulated=True).count()


@require_GET
@with_study
def dashboard(request, study: Study):
    scope = _scope(request, study)
    context = {
        "study": study,
        "scope": scope,
        "scopes": selectors.SCOPE_TABS,
        "scope_label": selectors.SCOPES[scope],
        "polling": study.state in ("pilot", "live", "paused"),
        "links": _links(study),
        "simulated": _simulated(study),
        **live.dashboard(study, scope),
    }
    template = "analysis/dashboard.html#live" if request.htmx else "analysis/dashboard.html"
    return render(request, template, context)


@require_GET
@with_study
def rankings(request, study: Study, category: str | None = None):
    categories = list(study.categories.order_by("slug"))
    if not categories:
        raise Http404("This study has no categories.")
    if category is None:
        return redirect("analysis:ranking", study.slug, categories[0].slug)
    chosen = next((c for c in categories if c.slug == category), None)
    if chosen is None:
        raise Http404("No such category in this study.")
    scope = _scope(request, study)
    ranking = live.category_ranking(study, chosen, scope)
    scorers = list(study.scorers.order_by("name"))
    scorer = next(
        (s for s in scorers if s.name == request.GET.get("scorer")), scorers[0] if scorers else None
    )
    context = {
        "study": study, "categories": categories, "category": chosen, "scorers": scorers, "scorer": scorer,
        "scope": scope, "scopes": selectors.SCOPE_TABS, "ranking": ranking, "links": _links(study),
        "simulated": _simulated(study),
    }  # fmt: skip
    if ranking is not None and scorer is not None:
        context |= _ranking_columns(ranking, scorer.name)
    return render(request, "analysis/ranking.html", context)


def _ranking_columns(ranking, scorer_name: str) -> dict:
    q_key, rank_key = f"q[{scorer_name}]", f"q_rank[{scorer_name}]"
    items = [
        {**item, "q": item.get(q_key),
         "q_rank": item.get(rank_key), "compared": item["wins"] + item["losses"] + item["ties"],
         "interval": exports.bound_interval(item["bt_lo"], item["bt_hi"]),
         "rank_interval": exports.rank_interval(item["rank_lo"], item["rank_hi"]),
         "evidence_note": EVIDENCE.get(item["evidence"], item["evidence"])}
        for item in ranking.items
    ]  # fmt: skip
    by_q = sorted(items, key=lambda i: (i["q_rank"] is None, i["q_rank"] or 0))
    correlation = next((c for c in ranking.correlations if c["method"] == scorer_name), None)
    return {"by_bt": items, "by_q": by_q, "correlation": correlation, "thumb_size": THUMB}


def _include_excluded(request) -> bool:
    return request.GET.get("include_excluded") in ("1", "true", "yes", "on")


@require_GET
@with_study
def report(request, study: Study):
    """The HTML report, exactly as exported, once built; until then a quick version (point
    estimates, no bootstraps or figures) that polls the background build and reloads."""
    include = _include_excluded(request)
    status_url = reverse("analysis:report_status", args=[study.slug]) + (
        "?include_excluded=1" if include else ""
    )
    html, _ = live.report_page(study, include, _links(study), status_url)
    return HttpResponse(html)


@require_GET
@with_study
def report_status(request, study: Study):
    """The progress line of the background report build (htmx polls it); when the report is
    ready it asks the page to reload (``HX-Refresh``)."""
    state = live.report_progress(study, _include_excluded(request))
    response = render(
        request, "analysis/_report_progress.html", {"state": state, "url": request.get_full_path()}
    )
    if state["done"]:
        response["HX-Refresh"] = "true"
    return response


@require_GET
@with_study
def report_zip(request, study: Study):
    """The zip at once when it is built for the current answers; otherwise an export job is
    started (or joined) and its progress page is shown — a request never waits for the build."""
    include = _include_excluded(request)
    data = live.cached_report(study, include, "zip")
    if data is not None:
        name = exports.safe_filename(f"{study.slug}-report{'-all-workers' if include else ''}.zip")
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    job = actions.do_request_export(study, request.user, include, reuse=True)
    return redirect("analysis:export_status", job.pk)


def _visible_job(request, pk: int) -> ExportJob:
    job = ExportJob.objects.filter(pk=pk, study__in=Study.objects.visible_to(request.user)).select_related(
        "study"
    )
    found = job.first()
    if found is None:
        raise Http404("No such export.")
    return found


@require_GET
@staff_required
def export_status(request, pk: int):
    """An export's progress (htmx polls ``#export-status`` every second), then its download link."""
    job = _visible_job(request, pk)
    context = {
        "job": job,
        "study": job.study,
        "links": _links(job.study),
        "percent": round(100 * job.progress),
    }
    template = "analysis/export_status.html#status" if request.htmx else "analysis/export_status.html"
    return render(request, template, context)


@require_GET
@staff_required
def export_download(request, pk: int):
    job = (
        ExportJob.objects.filter(
            pk=pk, study__in=Study.objects.visible_to(request.user), status=ExportStatus.DONE
        )
        .select_related("study")
        .first()
    )
    if job is None or not job.file:
        raise Http404("No such finished export.")
    name = exports.safe_filename(f"{job.study.slug}-report-{job.pk}.zip")
    return FileResponse(
        job.file.open("rb"), as_attachment=True, filename=name, content_type="application/zip"
    )
