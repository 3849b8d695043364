"""The study page's set-up aids: feasible sizes, "Fit to data", and the checklist.

Kept out of ``studies/admin.py`` so the study admin stays a list of fields and buttons.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from scoring.models import SketchScore
from sketches.models import Sketch
from studies.actions import do_fit_to_data
from studies.errors import StudyConfigError
from studies.feasibility import feasible_sizes, propose_fit
from studies.models import GoldPair, Panel, Study


def feasible_html(study: Study) -> str:
    if study is None or study.pk is None:
        return "Save the study with categories and scorers to see what the data allow."
    sizes = feasible_sizes(study)
    if not sizes["cells"]:
        return "Choose categories and scorers to see what the data allow."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                c["category"],
                c["scorer"],
                c["n_sketches"],
                ", ".join(map(str, c["candidates"])) or "no scores",
                c["max_balanced_pairs"],
            )
            for c in sizes["cells"]
        ),
    )
    values, notes = propose_fit(study, sizes)
    gold, people = sizes["gold"], sizes["participants"]
    return format_html(
        "<p data-feasible>Pairs per cell: at most <b>{}</b> balanced over {} levels, {} natural "
        "(asked {}). Gold pairs: {} automatic available + {} curated, {} needed per participant. "
        "Participants the plan can serve (each pair once): <b>{}</b> of {} targeted "
        "({} at the feasible maximum).</p>"
        "<table><tr><th>category</th><th>method</th><th>sketches</th><th>candidate pairs per level</th>"
        "<th>max balanced</th></tr>{}</table><p>{}</p>",
        sizes["max_pairs_per_cell"]["balanced"],
        sizes["levels"],
        sizes["max_pairs_per_cell"]["natural"],
        sizes["pairs_per_cell"]["requested"],
        gold["max_automatic"],
        gold["curated"],
        gold["needed_per_participant"],
        people["served_each_pair_once"],
        people["target"],
        people["served_at_max"],
        rows,
        "“Fit to data” would change: " + "; ".join(notes) if notes else "The configuration fits the data.",
    )


def checklist(study: Study) -> list[tuple[str, bool, str]]:
    """(item, done, detail) for: scored, plan frozen, gold reviewed, links set, pilot run."""
    categories = list(study.categories.all())
    scorers = list(study.scorers.all())
    n_sketches = Sketch.objects.filter(category__in=categories, split=study.split).count()
    scored = [
        s.name
        for s in scorers
        if SketchScore.objects.filter(
            scorer=s, sketch__category__in=categories, sketch__split=study.split
        ).count()
        >= n_sketches
    ]
    is_scored = bool(scorers and categories and n_sketches and len(scored) == len(scorers))
    gold = GoldPair.objects.filter(study=study)
    accepted = gold.filter(review=GoldPair.Review.ACCEPTED).count()
    candidates = gold.filter(review=GoldPair.Review.CANDIDATE).count()
    if study.panel == Panel.PROLIFIC:
        links = bool(study.completion_code and study.prolific_study_id)
        links_detail = (
            "completion code and Prolific study id set"
            if links
            else "set the completion code and the study's Prolific id"
        )
    else:
        links = bool(study.completion_code or study.completion_url)
        links_detail = "completion code or URL set" if links else "set a completion code or URL"
    completed = study.participants.filter(status="completed").count() if study.pk else 0
    return [
        (
            "scored",
            is_scored,
            f"{len(scored)} of {len(scorers)} methods have a score for all {n_sketches} {study.split} sketches",
        ),
        (
            "plan frozen",
            study.plan_frozen_at is not None,
            f"{study.plan_frozen_at:%Y-%m-%d %H:%M}" if study.plan_frozen_at else "freeze it (or launch)",
        ),
        (
            "gold reviewed",
            bool(accepted and not candidates),
            f"{candidates} model-suggested pair(s) still to review ({accepted} accepted)"
            if candidates
            else f"{accepted} accepted gold pairs"
            if accepted
            else "add or review the gold pairs",
        ),
        ("links set", links, links_detail),
        (
            "pilot run",
            completed > 0,
            f"{completed} participant(s) completed"
            if completed
            else "run a pilot: launch as pilot and do the task yourself",
        ),
    ]


def checklist_html(study: Study) -> str:
    if study is None or study.pk is None:
        return "–"
    return format_html(
        '<ul data-checklist style="margin:0;padding-left:1em">{}</ul>',
        format_html_join(
            "",
            '<li data-item="{}" data-done="{}">{} {}: <small>{}</small></li>',
            (
                (name, "yes" if done else "no", "✔" if done else "✘", name, detail)
                for name, done, detail in checklist(study)
            ),
        ),
    )


def fit_view(model_admin, request, object_id):
    if request.method != "POST":
        raise Http404("post to fit the study to the data")
    study = model_admin.get_object(request, str(object_id))
    if study is None or not model_admin.has_change_permission(request, study):
        raise Http404("no such study")
    try:
        _, notes = do_fit_to_data(study)
    except StudyConfigError as error:
        for line in error.messages:
            messages.error(request, f"Fit to data refused: {line}")
    else:
        messages.success(
            request, "Fitted to the data: " + ("; ".join(notes) if notes else "nothing had to change.")
        )
    return HttpResponseRedirect(reverse("admin:studies_study_change", args=[study.pk]))
