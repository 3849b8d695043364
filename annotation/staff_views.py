"""Staff-only pages: a preview of the trial screen exactly as participants see it."""

from __future__ import annotations

from types import SimpleNamespace

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotation.steps import trial_context
from annotation.trial_screens import screen_context
from annotation.trial_types import OPTION_SIDES
from sketches.models import Sketch
from sketches.staff import staff_required
from studies.models import GoldPair, PlannedPair, Study

PREVIEW_TOKEN = "preview"


def _preview_sets(study: Study) -> list[tuple[int, ...]]:
    """A few trials to show, each the sketches on screen in option order: the plan's first
    (a pair, a best-of-K set or a single sketch), else gold pairs, else sketches of the study."""
    k = study.sketches_per_trial
    planned = (
        PlannedPair.objects.filter(study=study)
        .order_by("order")
        .values_list("sketch_a_id", "sketch_b_id", "sketch_c_id", "sketch_d_id")
    )
    sets = [tuple(pk for pk in row if pk is not None) for row in planned[:50]]
    if not sets:
        gold = GoldPair.objects.filter(study=study).order_by("pk").values_list("better_id", "worse_id")[:50]
        sets = [(better,) for better, _ in gold] if k == 1 else list(gold)
    if sets:
        return sets
    sketch_ids = list(
        Sketch.objects.filter(category__in=study.categories.all(), split=study.split)
        .order_by("pk")
        .values_list("pk", flat=True)[: 10 * k]
    )
    return [tuple(sketch_ids[i : i + k]) for i in range(0, len(sketch_ids) - k + 1, k)]


def _category_name(sketch_id: int) -> str:
    return Sketch.objects.filter(pk=sketch_id).values_list("category__name", flat=True).first() or ""


@staff_required
@require_http_methods(["GET", "POST"])
def preview(request, slug: str):
    """The trial screen with real trials of the study, in its trial type's layout; answering
    shows the next one, storing nothing."""
    study = get_object_or_404(Study.objects.visible_to(request.user), slug=slug)
    sets = _preview_sets(study)
    if not sets:
        raise Http404("This study has no sketches to preview yet.")
    raw = request.GET.get("n")
    number = int(raw) if raw and raw.isdigit() else 0
    if request.method == "POST" and not request.htmx:
        return HttpResponseRedirect(f"{reverse('annotation:preview', args=[slug])}?n={number}", status=303)
    number %= len(sets)
    shown = sets[number]
    following = sets[(number + 1) % len(sets)]
    svg = lambda pk: reverse("sketches:svg", args=[pk])  # noqa: E731 - staff may see sketch ids
    category = _category_name(shown[0]) if study.show_category else ""
    context = trial_context(
        question=study.question,
        allow_none=study.allow_no_difference,
        token=PREVIEW_TOKEN,
        left_url=svg(shown[0]),
        right_url=svg(shown[1]) if len(shown) > 1 else "",
        answer_url=f"{reverse('annotation:preview', args=[slug])}?n={number + 1}",
        done=number,
        total=len(sets),
        label=f"Preview {number + 1} of {len(sets)}",
        prefetch=[svg(pk) for pk in following],
        category=category,
    )
    # best of K and single: the options layout participants see (annotation.trial_screens)
    on_screen = dict(zip(OPTION_SIDES, shown))
    trial = SimpleNamespace(**{f"{side}_sketch_id": on_screen.get(side) for side in OPTION_SIDES})
    context |= screen_context(study, trial, lambda side: svg(on_screen[side]), category)
    context |= {
        "study": study,
        "step_template": "annotation/steps/trial.html",
        "step_name": "trial",
        "preview": True,
    }
    template = "annotation/task.html#step" if request.htmx else "annotation/task.html"
    return render(request, template, context)
