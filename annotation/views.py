"""The participant's pages: entry, the task page, its form posts, and the stimuli.

Thin shells over ``annotation.actions``. The task page always shows ``current_step``.
Form posts answer an htmx request with the next screen's fragment (no reload) and a
plain browser with a redirect to the task page, so everything works without JavaScript.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation import identity, panels, ratelimit, telemetry
from annotation.actions import (
    RATE_LIMITED,
    REFUSED,
    REPLAYED,
    EntryRefused,
    QuestionError,
    do_accept_consent,
    do_answer_questions,
    do_decline_consent,
    do_end_break,
    do_enter_study,
    do_finish_instructions,
    do_mark_served,
    do_submit_answer,
    do_touch,
)
from annotation.hot_queries import stimulus_row
from annotation.models import Participant, ParticipantStatus, RefusalReason
from annotation.network import client_network
from annotation.outcomes import NOTICE_OUTCOMES, outcome_context
from annotation.steps import current_step, feedback_trial
from annotation.trial_html import pair_trial_fragment
from sketches import render as sketch_render
from studies.errors import StudyConfigError
from studies.models import Study

logger = logging.getLogger(__name__)

STIMULUS_CACHE_SECONDS = 24 * 3600
#: What a refused or stale answer tells the participant: with htmx in the fragment, without
#: JavaScript through ``?notice=<key>`` on the task page (only these keys are ever shown).
NOTICES = {
    "behind": "This tab was behind: that pair had already been answered (in another tab?). "
    "Nothing was lost or counted twice. Here is where you are now.",
    "ahead": "That answer was for a pair you have not reached yet, so it was not recorded. "
    "Here is where you are now.",
    "unknown": "That answer did not match a pair of yours, so it was not recorded. Here is where you are now.",
    "choice": "Please choose one of the offered answers.",
    "break": "You are on a break: your answer was not recorded. Carry on when you are ready.",
    "consent": "Please accept or decline to continue.",
    "questions": "Please answer the questions on this page.",
    "check_answers": "Please check your answers: some were missing or out of range.",
}
REFUSAL_NOTICES = {
    RefusalReason.UNKNOWN_TOKEN: "unknown",
    RefusalReason.INVALID_CHOICE: "choice",
    RefusalReason.ON_BREAK: "break",
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
    "bad_link": (
        403,
        "This link is not valid",
        "Please open the study again from {panel}, using your own link exactly as given.",
    ),
    "wrong_study": (
        403,
        "This link belongs to another study",
        "Please open this study from its own page on {panel}.",
    ),
    "network_busy": (
        429,
        "Too many people have just started from your network",
        "Please try again in an hour. If you share a network with other participants (a lab or a "
        "class), ask the researchers to raise the limit.",
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
    if study is not None and reason in (
        "missing_id",
        "bad_id",
        "bad_link",
        "wrong_study",
        "network_busy",
        "closed",
        "full",
        "not_qualified",
        "paused",
    ):
        context["return_instructions"] = panels.return_instructions(study)
    if study is not None and reason in NOTICE_OUTCOMES:
        context["outcome"] = outcome_context(study, NOTICE_OUTCOMES[reason])
        context["panel_name"] = panel
    return render(request, "annotation/notice.html", context, status=status)


def _study(slug: str) -> Study | None:
    return Study.objects.filter(slug=slug).first()


def _session_participant(request, slug: str) -> Participant | None:
    """The participant this browser entered the study ``slug`` as (its signed cookie; one query,
    with the study). The session table is never read on participant pages."""
    pk = identity.participant_id(request, slug)
    if pk is None:
        return None
    return Participant.objects.select_related("study").filter(pk=pk, study__slug=slug).first()


def _show_step(request, participant: Participant, *, feedback_for=None, notice: str = "", upcoming=()):
    step = current_step(participant, feedback_for=feedback_for, notice=notice, upcoming=upcoming)
    if step.name == "trial":
        do_mark_served(participant)  # the trial is being sent: its server clock starts now
    context = step.context | {"step_template": step.template, "step_name": step.name}
    if request.htmx:
        fragment = pair_trial_fragment(context)  # the answer's usual response, without the template engine
        if fragment is not None:
            return HttpResponse(fragment)
    template = "annotation/task.html#step" if request.htmx else "annotation/task.html"
    return render(request, template, context)


def _after_post(
    request, participant: Participant, *, feedback_for=None, notice: str = "", detail: str = "", upcoming=()
):
    """``notice``: a key of ``NOTICES`` (the only notices a URL may carry, for pages without
    JavaScript); ``detail``: a more precise text for the htmx fragment, shown in its place."""
    if request.htmx:
        text = detail or NOTICES.get(notice, "")
        return _show_step(request, participant, feedback_for=feedback_for, notice=text, upcoming=upcoming)
    url = reverse("annotation:task", args=[participant.study.slug])
    if feedback_for is not None:
        url += f"?after={feedback_for.token}"
    elif notice:
        url += f"?notice={notice}"
    return HttpResponseRedirect(url, status=303)


@require_GET
def entry(request, slug: str):
    """The link from the panel: ``?PROLIFIC_PID=&STUDY_ID=&SESSION_ID=`` or ``?pid=``."""
    study = _study(slug)
    if study is None:
        return notice_page(request, "not_found")
    panel_id = request.GET.get("PROLIFIC_PID") or request.GET.get("pid")
    if not panel_id and identity.participant_id(request, slug) is not None:
        return HttpResponseRedirect(reverse("annotation:task", args=[slug]))
    try:
        participant = do_enter_study(
            study,
            panel_id,
            prolific_study_id=request.GET.get("STUDY_ID", ""),
            prolific_session_id=request.GET.get("SESSION_ID", ""),
            signature=request.GET.get("sig"),
            network=client_network(request),
        )
    except EntryRefused as refused:
        return notice_page(request, refused.reason, study)
    response = HttpResponseRedirect(reverse("annotation:task", args=[slug]))
    identity.remember(response, slug, participant.pk)
    return response


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
        request,
        participant,
        feedback_for=feedback_trial(participant, request.GET.get("after", "")),
        notice=NOTICES.get(request.GET.get("notice", ""), ""),
    )


@require_POST
@_participant_view
def consent(request, participant: Participant):
    if request.POST.get("decision") == "decline":
        return _after_post(request, do_decline_consent(participant))
    if request.POST.get("decision") != "accept":
        return _after_post(request, participant, notice="consent")
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
    probe = request.POST.get("reference", "") if participant.study.instruction_probe else ""
    updated = do_finish_instructions(participant, probe)
    updated.study = participant.study
    return _after_post(request, updated)


@require_POST
@_participant_view
def questions(request, participant: Participant):
    """The pre- or post-task questions; a wrong comprehension answer asks once more."""
    phase = request.POST.get("phase", "")
    if phase not in ("pre", "post"):
        return _after_post(request, participant, notice="questions")
    try:
        updated = do_answer_questions(participant, phase, request.POST)
    except QuestionError as error:
        detail = "Please check your answers: " + "; ".join(error.problems.values())
        return _after_post(request, participant, notice="check_answers", detail=detail)
    updated.study = participant.study
    return _after_post(request, updated)


@require_POST
@_participant_view
def end_break(request, participant: Participant):
    return _after_post(request, do_end_break(participant))


@require_POST
def answer(request, slug: str):
    """The hot path: the action looks the cookie's participant up itself, under its lock, and counts
    the answer against the participant's rate in that row (no cache round trip; a request without
    a cookie was counted against its address by ``ratelimit.entry_rate_limited``)."""
    pk = identity.participant_id(request, slug)
    if pk is None:
        return _no_session(request, slug)
    post = request.POST
    measured = telemetry.parse(
        post.get("tm"), network=client_network(request), secret=settings.SECRET_KEY, study_key=slug
    )
    try:
        result = do_submit_answer(
            pk,
            post.get("token", ""),
            post.get("choice", ""),
            post.get("client_ms"),
            study_slug=slug,
            telemetry=measured,
            rate=settings.SKETCHQ_PARTICIPANT_RATE,
        )
    except Participant.DoesNotExist:  # no row to count in: the cache counts this cookie
        return ratelimit.refused_by_cache(request, slug) or _no_session(request, slug)
    if result.outcome == RATE_LIMITED:
        return ratelimit.too_many(request, result.retry_after, slug)
    now = result.participant
    if result.outcome == REFUSED:
        return _after_post(request, now, notice=_refusal_notice(result))
    if result.outcome == REPLAYED and not _is_retry(result, post.get("choice", "")):
        return _after_post(request, now, notice="behind")
    feedback_for = feedback_trial(now, result.trial.token) if result.trial.is_practice else None
    return _after_post(request, now, feedback_for=feedback_for, upcoming=result.upcoming)


def _refusal_notice(result) -> str:
    """Which notice a refusal shows; "" where the screen itself says it (blocked, finished, closed)."""
    if result.reason == RefusalReason.NOT_CURRENT:
        participant, trial = result.participant, result.trial
        in_practice = participant.status == ParticipantStatus.PRACTICE
        expected = participant.practice_position if in_practice else participant.current_position
        ahead = trial.is_practice == in_practice and trial.position > expected
        return "ahead" if ahead else "behind"
    return REFUSAL_NOTICES.get(result.reason, "")


def _is_retry(result, choice: str) -> bool:
    """The same answer to the pair just before the current one: a resend after a lost response,
    which needs no notice. Anything else replayed comes from a tab that was behind."""
    participant, trial = result.participant, result.trial
    if result.answer.choice != choice:
        return False
    if trial.is_practice:
        return participant.current_position == 0 and trial.position == participant.practice_position - 1
    return trial.position == participant.current_position - 1


@lru_cache(maxsize=1024)
def _svg(sketch_id: int, strokes_json: str) -> bytes:
    """Rendered once per sketch and process (a sketch's strokes never change after import)."""
    return sketch_render.svg(json.loads(strokes_json)).encode()


@require_GET
def stimulus(request, slug: str, token: str, side: str):
    """One sketch of one trial, under its opaque URL: the unguessable token is the authorisation
    (one plain query; no session, no participant row), and the browser keeps it for a day.
    Participant screens carry their pictures inline (``annotation.pictures``) and never link
    here; the URL stays for other readers of a trial (exports, checks)."""
    row = stimulus_row(slug, token, side)
    if row is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    response = HttpResponse(_svg(row[0], row[1]), content_type="image/svg+xml")
    response["Cache-Control"] = f"private, max-age={STIMULUS_CACHE_SECONDS}, immutable"
    return response
