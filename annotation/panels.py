"""What differs between panels: the entry link, where to go when done, and how to return a task."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from studies import entry_links
from studies.models import Panel, Study

PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete?"
PROLIFIC_QUERY = "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
GENERIC_QUERY = "?pid=PARTICIPANT_ID"
SIGNED_QUERY = "?pid=PARTICIPANT_ID&sig=SIGNATURE"


def entry_path(study: Study) -> str:
    return reverse("annotation:entry", args=[study.slug])


def site_root(request) -> str:
    """``https://host`` as the request reached us (behind a TLS proxy: see BEHIND_TLS_PROXY)."""
    return request.build_absolute_uri("/").rstrip("/")


def participant_link(study: Study, root: str) -> str:
    """The study URL to paste into the panel, with the panel's placeholders for the ids.

    Prolific replaces ``{{%PROLIFIC_PID%}}`` etc. itself; a generic panel must put its
    participant id in place of ``PARTICIPANT_ID``.
    """
    if study.panel == Panel.PROLIFIC:
        query = PROLIFIC_QUERY
    else:
        query = SIGNED_QUERY if study.require_signed_entry else GENERIC_QUERY
    return root + entry_path(study) + query


def signed_participant_links(study: Study, root: str, panel_ids: list[str]) -> list[tuple[str, str]]:
    """``(id, link)`` for each id, signed with the study's entry key (``studies.entry_links``)."""
    return entry_links.signed_links(study.entry_secret, study.pk, root + entry_path(study), panel_ids)


def prolific_link(study: Study, request) -> str:
    """``participant_link`` on the host of this request (for admin pages and the API)."""
    return participant_link(study, site_root(request))


def completion_url(study: Study) -> str:
    """Where a finished participant goes: the study's URL, or Prolific's completion page."""
    if study.completion_url:
        return study.completion_url
    if study.panel == Panel.PROLIFIC and study.completion_code:
        return PROLIFIC_COMPLETE + urlencode({"cc": study.completion_code})
    return ""


def panel_name(study: Study) -> str:
    return "Prolific" if study.panel == Panel.PROLIFIC else "the panel you came from"


def return_instructions(study: Study) -> str:
    """How to give the task back without being penalised, in the panel's words."""
    if study.panel == Panel.PROLIFIC:
        return (
            "Please return your submission on Prolific: open the study in your Prolific "
            "submissions and choose \u201cReturn submission\u201d. Do not enter a completion code."
        )
    return "Please return or cancel the task on the panel you came from. Do not enter a completion code."
