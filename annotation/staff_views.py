"""Staff-only pages: a preview of the trial screen exactly as participants see it."""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotation.steps import trial_context
from sketches.models import Sketch
from sketches.staff import staff_required
from studies.models import GoldPair, PlannedPair, Study

PREVIEW_TOKEN = "preview"


def _preview_pairs(study: Study) -> list[tuple[int, int]]:
    """A few pairs to show: the plan's first, else gold pairs, else two sketches of the study."""
    planned = (
        PlannedPair.objects.filter(study=study).order_by("order").values_list("sketch_a_id", "sketch_b_id")
    )
    pairs = list(planned[:50]) or list(
        GoldPair.objects.filter(study=study).order_by("pk").values_list("better_id", "worse_id")[:50]
    )
    if pairs:
        return pairs
    sketch_ids = list(
        Sketch.objects.filter(category__in=study.categories.all(), split=study.split)
        .order_by("pk")
        .values_list("pk", flat=True)[:20]
    )
    return list(zip(sketch_ids[::2], sketch_ids[1::2]))


def _category_name(sketch_id: int) -> str:
    return Sketch.objects.filter(pk=sketch_id).values_list("category__name", flat=True).first() or ""


@staff_required
@require_http_methods(["GET", "POST"])
def preview(request, slug: str):
    """The trial screen with real pairs of the study; answering shows the next one, storing nothing."""
    study = get_object_or_404(Study.objects.visible_to(request.user), slug=slug)
    pairs = _preview_pairs(study)
    if not pairs:
        raise Http404("This study has no sketches to preview yet.")
    raw = request.GET.get("n")
    number = int(raw) if raw and raw.isdigit() else 0
    if request.method == "POST" and not request.htmx:
        return HttpResponseRedirect(f"{reverse('annotation:preview', args=[slug])}?n={number}", status=303)
    number %= len(pairs)
    left, right = pairs[number]
    following = pairs[(number + 1) % len(pairs)]
    svg = lambda pk: reverse("sketches:svg", args=[pk])  # noqa: E731 - staff may see sketch ids
    context = trial_context(
        question=study.question,
        allow_none=study.allow_no_difference,
        token=PREVIEW_TOKEN,
        left_url=svg(left),
        right_url=svg(right),
        answer_url=f"{reverse('annotation:preview', args=[slug])}?n={number + 1}",
        done=number,
        total=len(pairs),
        label=f"Preview {number + 1} of {len(pairs)}",
        prefetch=[svg(following[0]), svg(following[1])],
        category=_category_name(left) if study.show_category else "",
    )
    context |= {
        "study": study,
        "step_template": "annotation/steps/trial.html",
        "step_name": "trial",
        "preview": True,
    }
    template = "annotation/task.html#step" if request.htmx else "annotation/task.html"
    return render(request, template, context)
