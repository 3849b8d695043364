"""Admin pages for gold review and the screening planner (``StudyAdmin`` mounts them).

Gold review (``/admin/studies/study/<id>/gold/``): every gold pair as two large
thumbnails, the better one first, with its category. Accept, reject or swap each with one
click or one key (A, R, S on the focused pair; J/K move). "Accept all shown" accepts only
the candidates that were on the page, and only once the reviewer ticks that they looked.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse

from studies import actions
from studies.errors import StudyConfigError
from studies.models import GoldPair, Study, StudyState
from studies.sampling import InfeasiblePlan
from studies.screening_planner import WORKER_TYPES, plan_screening

PER_PAGE = 40
FILTERS = {
    "candidate": GoldPair.Review.CANDIDATE,
    "accepted": GoldPair.Review.ACCEPTED,
    "rejected": GoldPair.Review.REJECTED,
}
PLANNER_WORKERS = 200


def gold_review_context(request, study: Study, can_change: bool) -> dict:
    shown = request.GET.get("show", "candidate" if _has_candidates(study) else "all")
    pairs = GoldPair.objects.filter(study=study).select_related("better__category").order_by("review", "pk")
    if shown in FILTERS:
        pairs = pairs.filter(review=FILTERS[shown])
    page = Paginator(pairs, PER_PAGE).get_page(request.GET.get("page"))
    counts = {
        key: GoldPair.objects.filter(study=study, review=value).count() for key, value in FILTERS.items()
    }
    reviewable = can_change and study.state in (StudyState.DRAFT, StudyState.PILOT, StudyState.PAUSED)
    return {
        "study": study,
        "page": page,
        "shown": shown,
        "counts": counts,
        "reviewable": reviewable,
        "candidates_shown": [g.pk for g in page if g.review == GoldPair.Review.CANDIDATE],
        "decide_url": reverse("admin:studies_study_gold_decide", args=[study.pk]),
        "title": f"Gold review: {study.name}",
    }


def _has_candidates(study: Study) -> bool:
    return GoldPair.objects.filter(study=study, review=GoldPair.Review.CANDIDATE).exists()


def decide(request, study: Study):
    """POST: ``gold`` + ``decision`` (accept/reject/swap), or ``bulk`` with the ids shown."""
    back = request.POST.get("next") or reverse("admin:studies_study_gold", args=[study.pk])
    if not back.startswith("/"):
        back = reverse("admin:studies_study_gold", args=[study.pk])
    try:
        if "bulk" in request.POST:
            if request.POST.get("looked") != "yes":
                raise StudyConfigError('tick "I have looked at every pair shown" before accepting them all')
            ids = [int(v) for v in request.POST.getlist("shown") if v.isdigit()]
            n = actions.do_accept_gold_seen(study, ids, request.user)
            messages.success(request, f"Accepted {n} candidate gold pair(s) you looked at.")
        else:
            raw = request.POST.get("gold", "")
            if not raw.isdigit():
                raise StudyConfigError("no gold pair given")
            decision = request.POST.get("decision", "")
            pair = actions.do_review_gold(study, int(raw), decision, request.user)
            messages.success(request, f"Gold pair {pair.pk}: {decision}ed.")
    except StudyConfigError as error:
        for line in error.messages:
            messages.error(request, f"Gold review refused: {line}")
    return redirect(back)


def planner_context(study: Study) -> dict:
    """The screening planner's table for the change form (simulation of the study's settings)."""
    try:
        plan = plan_screening(
            study.screening_rules(),
            study.trials_per_participant,
            study.min_duplicate_distance,
            n_workers=PLANNER_WORKERS,
            seed=study.seed,
        )
    except (InfeasiblePlan, ValueError, ZeroDivisionError) as error:  # unfinished settings: say why
        return {"planner_error": str(error) or error.__class__.__name__}
    rows = [
        {
            "kind": kind.replace("_", "-"),
            "excluded": outcome.excluded,
            "passing": outcome.passing,
            "undecided": outcome.undecided,
            "median_stop": outcome.median_stop,
            "assumption": WORKER_TYPES[kind],
        }
        for kind, outcome in plan.outcomes.items()
    ]
    return {
        "planner": {
            "rows": rows,
            "verdict": plan.verdict,
            "can_tell": plan.can_tell,
            "workers": PLANNER_WORKERS,
            "rule": study.effective_screening_rule,
        }
    }
