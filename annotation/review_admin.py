"""Admin pages for reviewing participants and sketches, and for the Prolific round trip.

* ``/admin/annotation/participant/<id>/review/``: every answer of one participant (both
  sketches, the choice, the check results, timings), their figures, the analysis override and
  the panel decision forms, and the review log.
* ``/admin/annotation/participant/sketch/<sketch_id>/``: every judgement on one sketch, with
  both thumbnails of each pair, and who made it.
* ``/admin/annotation/studylinks/<id>/prolific/``: the study's outcome codes to paste into
  Prolific, the submissions export, and the buttons that sync submissions, read places, send
  decisions and pay bonuses through the API.

Every change calls an action (``annotation.review``, ``annotation.prolific.sync``); bad input
and refused Prolific calls come back as messages and change nothing.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from annotation.actions import ReviewError, do_review
from annotation.models import AnalysisOverride, Answer, Participant
from annotation.outcomes import outcome_url, participant_outcome
from annotation.panel_models import PanelDecision, PanelSubmission, RejectionCategory
from annotation.prolific import export, sync
from annotation.prolific.client import ProlificError
from sketches.models import Sketch
from sketches.templatetags.sketch_tags import sketch_thumbnail
from studies.models import Study
from studies.outcomes import Outcome, resolve_codes


class OverrideForm(forms.Form):
    decision = forms.ChoiceField(choices=AnalysisOverride.choices, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class PanelDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=PanelDecision.choices, required=False)
    rejection_category = forms.ChoiceField(choices=[("", "—")] + RejectionCategory.choices, required=False)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Sent to the participant with a rejection (at least 100 characters).",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="reason (for the log)"
    )


class BonusForm(forms.Form):
    amount = forms.CharField(max_length=12, help_text="In the study currency, e.g. 1.50")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


FORMS = {"override": OverrideForm, "panel": PanelDecisionForm, "bonus": BonusForm}


def _answers(participant: Participant):
    return (
        Answer.objects.filter(trial__participant=participant)
        .select_related("trial")
        .order_by("-trial__is_practice", "trial__position")
    )


def participant_review(model_admin, request, object_id):
    participant = model_admin.get_object(request, str(object_id))
    if participant is None:
        raise Http404("no such participant")
    forms_ = {name: form() for name, form in FORMS.items()}
    if request.method == "POST":
        if not model_admin.has_change_permission(request, participant):
            messages.error(request, "You may not review this participant.")
            return HttpResponseRedirect(request.path)
        which = request.POST.get("form", "")
        if which not in FORMS:
            raise Http404("no such form")
        bound = FORMS[which](request.POST)
        forms_[which] = bound
        if bound.is_valid():
            data = bound.cleaned_data
            try:
                kind = {"override": "analysis", "panel": "panel", "bonus": "bonus"}[which]
                category = data.get("rejection_category", "")
                do_review(participant, kind, {**data, "category": category}, request.user)
            except ReviewError as error:
                for line in error.messages:
                    messages.error(request, f"Nothing changed: {line}")
            else:
                messages.success(request, "Recorded, with your reason, in the review log.")
                return HttpResponseRedirect(request.path)
    rows = []
    for answer in _answers(participant):
        trial = answer.trial
        rows.append(
            {
                "trial": trial,
                "answer": answer,
                "left": sketch_thumbnail(trial.left_sketch_id, 72),
                "right": sketch_thumbnail(trial.right_sketch_id, 72),
                "left_url": reverse("admin:annotation_sketch_judgements", args=[trial.left_sketch_id]),
                "right_url": reverse("admin:annotation_sketch_judgements", args=[trial.right_sketch_id]),
            }
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Review of {participant.panel_id} in {participant.study.name}",
        "participant": participant,
        "outcome": participant_outcome(participant) or "in progress",
        "analysed": Participant.objects.filter(pk=participant.pk).analysable().exists(),
        "submission": PanelSubmission.objects.filter(
            study=participant.study, panel_id=participant.panel_id
        ).first(),
        "rows": rows,
        "log": participant.review_decisions.select_related("decided_by"),
        "forms": forms_,
    }
    return TemplateResponse(request, "admin/annotation/participant/review.html", context)


def sketch_judgements(model_admin, request, sketch_id):
    sketch = get_object_or_404(Sketch.objects.select_related("category"), pk=sketch_id)
    visible = Study.objects.visible_to(request.user)
    answers = Answer.objects.filter(
        Q(trial__left_sketch=sketch) | Q(trial__right_sketch=sketch),
        trial__participant__study__in=visible,
        trial__is_practice=False,
    )
    rows = []
    for answer in answers.select_related("trial__participant__study").order_by("created_at"):
        trial = answer.trial
        other = trial.right_sketch_id if trial.left_sketch_id == sketch.pk else trial.left_sketch_id
        rows.append(
            {
                "answer": answer,
                "trial": trial,
                "participant": trial.participant,
                "left": sketch_thumbnail(trial.left_sketch_id, 72),
                "right": sketch_thumbnail(trial.right_sketch_id, 72),
                "chose_this": answer.chosen_sketch_id == sketch.pk,
                "other_url": reverse("admin:annotation_sketch_judgements", args=[other]),
                "review_url": reverse("admin:annotation_participant_review", args=[trial.participant_id]),
            }
        )
    wins = sum(1 for r in rows if r["chose_this"])
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Every judgement on sketch {sketch.pk} ({sketch.category.name})",
        "sketch": sketch,
        "thumbnail": sketch_thumbnail(sketch.pk, 160),
        "rows": rows,
        "wins": wins,
    }
    return TemplateResponse(request, "admin/annotation/participant/sketch.html", context)


PROLIFIC_ACTIONS = {
    "sync": ("Sync submissions (returns give their pairs back)", sync.do_sync_submissions),
    "read": ("Read places and status", sync.do_read_study),
    "send": ("Send approve / reject decisions", sync.do_send_decisions),
    "pay": ("Pay bonuses", sync.do_pay_bonuses),
}


def prolific_page(model_admin, request, object_id):
    study = model_admin.get_object(request, str(object_id))
    if study is None:
        raise Http404("no such study")
    download = request.GET.get("download")
    if download in ("decisions", "bonuses", "approve", "questions"):
        rows = export.submission_rows(study)
        body = {
            "questions": lambda: export.questions_csv(study),
            "decisions": lambda: export.decisions_csv(study),
            "bonuses": lambda: export.bonus_lines(rows),
            "approve": lambda: export.approve_ids(rows),
        }[download]()
        response = HttpResponse(
            body, content_type="text/csv" if download in ("decisions", "questions") else "text/plain"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{study.slug}-{download}.{"csv" if download in ("decisions", "questions") else "txt"}"'
        )
        return response
    if request.method == "POST":
        if not request.user.has_perm("annotation.change_participant"):
            messages.error(request, "You may not act on this study's submissions.")
            return HttpResponseRedirect(request.path)
        action = request.POST.get("action", "")
        if action not in PROLIFIC_ACTIONS:
            raise Http404("no such action")
        label, run = PROLIFIC_ACTIONS[action]
        try:
            result = run(study)
        except ProlificError as error:
            messages.error(request, f"{label}: nothing changed. {error}")
        else:
            data = result.as_dict() if hasattr(result, "as_dict") else result
            messages.success(request, f"{label}: {data}")
        return HttpResponseRedirect(request.path)
    codes = resolve_codes(study)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Prolific: {study.name}",
        "study": study,
        "codes": [
            {"code": c, "url": outcome_url(study, c.code, c.url), "label": label}
            for c, label in ((codes[key], name) for key, name in Outcome.choices)
        ],
        "rows": export.submission_rows(study),
        "actions": [(key, label) for key, (label, _) in PROLIFIC_ACTIONS.items()],
        "api_enabled": bool(settings.PROLIFIC_API_TOKEN),
    }
    return TemplateResponse(request, "admin/annotation/studylinks/prolific.html", context)
