"""Staff-only views: the q-vs-θ figure, and live progress fragments polled by the admin (htmx)."""

from __future__ import annotations

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from scoring import evaluation, figures, selectors
from scoring.actions import do_settle_scoring_run
from scoring.figures import FORMATS, q_theta_figure
from scoring.models import JobStatus, Scorer, ScoringRun
from sketches import leases
from sketches.models import Category, Split
from sketches.staff import staff_required

#: Categories drawn when the request names none (one scorer / several side by side),
#: and at most when it names many.
DEFAULT_CATEGORIES = 8
DEFAULT_CATEGORIES_COMPARED = 4
MAX_CATEGORIES = 12
MAX_COMPARE = 3
FINISHED = (JobStatus.DONE, JobStatus.FAILED)


def _bad(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain")


@require_GET
@staff_required(perm="scoring.view_scorer")
def scorer_figure(request, pk: int, fmt: str):
    """q against θ per category; ``?compare=<id>`` adds scorers side by side (GACL beside softmax).

    ``?category=<slug>`` (repeatable) picks categories; ``?source=heldout`` draws the
    held-out outputs saved at training, ``?source=scores`` the stored SketchScore rows
    (``&split=test`` for one split); the default uses held-out outputs where a scorer has them.
    """
    if fmt not in FORMATS:
        raise Http404(f"no figure format {fmt!r}")
    scorer = get_object_or_404(Scorer, pk=pk)
    try:
        compare_ids = [int(v) for v in request.GET.getlist("compare")][:MAX_COMPARE]
    except ValueError:
        return _bad("compare must be scorer ids")
    others = {s.pk: s for s in Scorer.objects.filter(pk__in=compare_ids)}
    missing = [i for i in compare_ids if i not in others]
    if missing:
        return _bad(f"no scorer with id {', '.join(map(str, missing))}")
    scorers = [scorer] + [others[i] for i in compare_ids if i != scorer.pk]
    source = request.GET.get("source", "auto")
    split = request.GET.get("split") or None
    if source not in ("auto", "heldout", "scores") or (split and split not in Split.values):
        return _bad("source must be auto, heldout or scores; split must be train, val or test")
    categories = _categories(
        request, scorer, DEFAULT_CATEGORIES if len(scorers) == 1 else DEFAULT_CATEGORIES_COMPARED
    )
    if isinstance(categories, HttpResponse):
        return categories
    panels = []
    for s in scorers:
        panel = selectors.heldout_panel(s) if source in ("auto", "heldout") else None
        if panel is None and source == "heldout":
            return _bad(f"scorer {s.name!r} has no held-out outputs (it was not trained here, or failed)")
        panels.append(panel or selectors.scores_panel(s, categories, split))
    image = q_theta_figure(panels, [c.name for c in categories], fmt=fmt)
    response = HttpResponse(image, content_type=FORMATS[fmt])
    response["Cache-Control"] = "private, max-age=60"
    return response


def _categories(request, scorer: Scorer, default: int):
    slugs = request.GET.getlist("category")
    trained = list(scorer.categories.order_by("slug"))
    if not slugs:
        return trained[:default] or _bad(f"scorer {scorer.name!r} has no categories")
    found = {c.slug: c for c in Category.objects.filter(slug__in=slugs)}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        return _bad(f"unknown category: {', '.join(unknown)}")
    return [found[s] for s in dict.fromkeys(slugs)][:MAX_CATEGORIES]


def _fragment(request, template: str, context: dict, finished: bool):
    response = TemplateResponse(request, template, context)
    if request.htmx and finished and request.GET.get("polling"):
        # The page was polling a job that has just finished: reload it to show the results.
        response["HX-Refresh"] = "true"
    return response


@require_GET
@staff_required(perm="scoring.view_scorer")
def scorer_progress(request, pk: int):
    scorer = get_object_or_404(Scorer, pk=pk)
    return _fragment(
        request, "scoring/progress.html#scorer-progress", {"scorer": scorer}, scorer.status in FINISHED
    )


@require_GET
@staff_required(perm="scoring.view_scoringrun")
def run_progress(request, pk: int):
    run = get_object_or_404(ScoringRun.objects.select_related("scorer"), pk=pk)
    if do_settle_scoring_run(run) != leases.HELD:  # on read: a run whose workers died is re-queued
        run.refresh_from_db()
    return _fragment(request, "scoring/progress.html#run-progress", {"run": run}, run.status in FINISHED)


@require_GET
@staff_required(perm="scoring.view_scorer")
def sanity_figure(request, pk: int, fmt: str):
    """The scorer's sanity report as a small figure, beside its softmax baseline when one exists."""
    if fmt not in FORMATS:
        raise Http404(f"no figure format {fmt!r}")
    scorer = get_object_or_404(Scorer, pk=pk)
    report = evaluation.report_of(scorer)
    if not report:
        raise Http404(
            f"scorer {scorer.name!r} has no sanity report yet (manage.py evaluate_scorer {scorer.name})"
        )
    reports = [(scorer.name, report)]
    baseline = evaluation.softmax_baseline(scorer)
    if baseline is not None:
        reports.append((baseline.name, evaluation.report_of(baseline)))
    return HttpResponse(figures.sanity_figure(reports, fmt), content_type=FORMATS[fmt])
