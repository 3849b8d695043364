"""The participant's pages: entry, the task page, its form posts, and the stimuli.

Thin shells over ``annotation.actions``. The task page always shows ``current_step``.
Form posts answer an htmx request with the next screen's fragment (no reload) and a
plain browser with a redirect to the task page, so everything works without JavaScript.
"""

from __future__ import annotations

import logging

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation import panels
from annotation.actions import (
    REFUSED,
    EntryRefused,
    do_accept_consent,
    do_decline_consent,
    do_end_break,
    do_enter_study,
    do_finish_instructions,
    do_submit_answer,
    do_touch,
)
from annotation.models import Participant, RefusalReason, Trial
from annotation.outcomes import NOTICE_OUTCOMES, outcome_context
from annotation.questionnaires import QuestionError, do_answer_questions
from annotation.steps import current_step, feedback_trial
from sketches import render as sketch_render
from studies.errors import StudyConfigError
from studies.models import Study

logger = logging.getLogger(__name__)

STIMULUS_CACHE_SECONDS = 24 * 3600
SESSION_PREFIX = "annotation:participant:"
REFUSAL_NOTICES = {
    RefusalReason.NOT_CURRENT: "That answer was for an earlier screen (another tab?). Here is where you are now.",
    RefusalReason.UNKNOWN_TOKEN: "That answer did not match a trial of yours. Here is where you are now.",
    RefusalReason.INVALID_CHOICE: "Please choose one of the offered answers.",
}
NOTICE_PAGES = {
    "missing_id": (
        400,
        "We could not tell who you are",
        "This link is missing your participant id. Please open the study again from {panel}.",
    ),
    "bad_id": (
        400,
        "We could not read your participant id",
        "Please open the study again from {panel}, using the link exactly as given.",
    ),
    "not_open": (200, "This study has not opened yet", "Please come back later."),
    "paused": (
        200,
        "This study is paused",
        "No new participants can start right now. Please try again later.",
    ),
    "closed": (
        200,
        "This study has closed",
        "Thank you for your interest. No more answers are being collected.",
    ),
    "full": (200, "This study is full", "All places have been taken. Thank you for your interest."),
    "not_qualified": (
        403,
        "This study is for invited participants",
        "It is open only to people who completed an earlier study of ours.",
    ),
    "unavailable": (
        503,
        "This study is not available right now",
        "Something is wrong on our side; the researchers have been told. Please try again later.",
    ),
    "no_session": (403, "Your session has ended", "Please open the study again from {panel}."),
    "not_found": (404, "There is no such study", "Please check the link you were given."),
}


def notice_page(request, reason: str, study: Study | None = None) -> HttpResponse:
    status, title, text = NOTICE_PAGES[reason]
    panel = panels.panel_name(study) if study else "the panel you came from"
    context = {"study": study, "title": title, "text": text.format(panel=panel), "reason": reason}
    if study is not None and reason in ("missing_id", "bad_id", "closed", "full", "not_qualified", "paused"):
        context["return_instructions"] = panels.return_instructions(study)
    if study is not None and reason in NOTICE_OUTCOMES:
        context["outcome"] = outcome_context(study, NOTICE_OUTCOMES[reason])
        context["panel_name"] = panel
    return render(request, "annotation/notice.html", context, status=status)


def _study(slug: str) -> Study | None:
    return Study.objects.filter(slug=slug).first()


def _session_participant(request, slug: str) -> Participant | None:
    """The participant this browser entered the study ``slug`` as (one query, with the study)."""
    pk = request.session.get(f"{SESSION_PREFIX}{slug}")
    if pk is None:
        return None
    return Participant.objects.select_related("study").filter(pk=pk, study__slug=slug).first()


def _remember(request, participant: Participant) -> None:
    key = f"{SESSION_PREFIX}{participant.study.slug}"
    if request.session.get(key) != participant.pk:
        request.session[key] = participant.pk


def _show_step(request, participant: Participant, *, feedback_for=None, notice: str = "", upcoming=()):
    step = current_step(participant, feedback_for=feedback_for, notice=notice, upcoming=upcoming)
    context = step.context | {"step_template": step.template, "step_name": step.name}
    template = "annotation/task.html#step" if request.htmx else "annotation/task.html"
    return render(request, template, context)


def _after_post(request, participant: Participant, *, feedback_for=None, notice: str = "", upcoming=()):
    if request.htmx:
        return _show_step(request, participant, feedback_for=feedback_for, notice=notice, upcoming=upcoming)
    url = reverse("annotation:task", args=[participant.study.slug])
    if feedback_for is not None:
        url += f"?after={feedback_for.token}"
    return HttpResponseRedirect(url, status=303)


@require_GET
def entry(request, slug: str):
    """The link from the panel: ``?PROLIFIC_PID=&STUDY_ID=&SESSION_ID=`` or ``?pid=``."""
    study = _study(slug)
    if study is None:
        return notice_page(request, "not_found")
    panel_id = request.GET.get("PROLIFIC_PID") or request.GET.get("pid")
    if not panel_id:
        participant = _session_participant(request, slug)
        if participant is not None:
            return HttpResponseRedirect(reverse("annotation:task", args=[slug]))
    try:
        participant = do_enter_study(
            study,
            panel_id,
            prolific_study_id=request.GET.get("STUDY_ID", ""),
            prolific_session_id=request.GET.get("SESSION_ID", ""),
        )
    except EntryRefused as refused:
        return notice_page(request, refused.reason, study)
    _remember(request, participant)
    return HttpResponseRedirect(reverse("annotation:task", args=[slug]))


def _no_session(request, slug: str):
    study = _study(slug)
    return notice_page(request, "no_session", study) if study else notice_page(request, "not_found")


def _participant_view(handler):
    """Resolve the study and the session's participant, or show why we cannot."""

    def view(request, slug: str, **kwargs):
        participant = _session_participant(request, slug)
        if participant is not None:
            return handler(request, participant, **kwargs)
        return _no_session(request, slug)

    view.__name__ = view.__qualname__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


@require_GET
@_participant_view
def task(request, participant: Participant):
    """Whatever the participant should see now: resuming after a reload is just this page."""
    do_touch(participant)
    return _show_step(
        request, participant, feedback_for=feedback_trial(participant, request.GET.get("after", ""))
    )


@require_POST
@_participant_view
def consent(request, participant: Participant):
    if request.POST.get("decision") == "decline":
        return _after_post(request, do_decline_consent(participant))
    if request.POST.get("decision") != "accept":
        return _after_post(request, participant, notice="Please accept or decline to continue.")
    try:
        admitted = do_accept_consent(participant)
    except EntryRefused as refused:
        return notice_page(request, refused.reason, participant.study)
    except StudyConfigError as error:
        logger.error("study %s cannot admit participants: %s", participant.study.slug, error)
        return notice_page(request, "unavailable", participant.study)
    admitted.study = participant.study
    return _after_post(request, admitted)


@require_POST
@_participant_view
def instructions(request, participant: Participant):
    updated = do_finish_instructions(participant)
    updated.study = participant.study
    return _after_post(request, updated)


@require_POST
@_participant_view
def questions(request, participant: Participant):
    """The pre- or post-task questions; a wrong comprehension answer asks once more."""
    phase = request.POST.get("phase", "")
    if phase not in ("pre", "post"):
        return _after_post(request, participant, notice="Please answer the questions on this page.")
    try:
        updated = do_answer_questions(participant, phase, request.POST)
    except QuestionError as error:
        return _after_post(
            request, participant, notice="Please check your answers: " + "; ".join(error.problems.values())
        )
    updated.study = participant.study
    return _after_post(request, updated)


@require_POST
@_participant_view
def end_break(request, participant: Participant):
    return _after_post(request, do_end_break(participant))


@require_POST
def answer(request, slug: str):
    """The hot path: the action looks the session's participant up itself, under its lock."""
    pk = request.session.get(f"{SESSION_PREFIX}{slug}")
    if not isinstance(pk, int):
        return _no_session(request, slug)
    post = request.POST
    try:
        result = do_submit_answer(
            pk, post.get("token", ""), post.get("choice", ""), post.get("client_ms"), study_slug=slug
        )
    except Participant.DoesNotExist:
        return _no_session(request, slug)
    now = result.participant
    if result.outcome == REFUSED:
        return _after_post(request, now, notice=REFUSAL_NOTICES.get(result.reason, ""))
    feedback_for = feedback_trial(now, result.trial.token) if result.trial.is_practice else None
    return _after_post(request, now, feedback_for=feedback_for, upcoming=result.upcoming)


@require_GET
@_participant_view
def stimulus(request, participant: Participant, token: str, side: str):
    """One sketch of one of the participant's own trials, under its opaque URL."""
    field = "left_sketch" if side == "left" else "right_sketch"
    trial = (
        Trial.objects.filter(participant=participant, token=token)
        .select_related(field)
        .only(f"{field}__strokes")
        .first()
    )
    if trial is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    response = HttpResponse(sketch_render.svg(getattr(trial, field).strokes), content_type="image/svg+xml")
    response["Cache-Control"] = f"private, max-age={STIMULUS_CACHE_SECONDS}, immutable"
    return response
