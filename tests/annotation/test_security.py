"""What a participant can reach and what the pages give away."""

from __future__ import annotations

import re

import pytest
from django.db.models import F
from django.test import Client

from annotation.models import Answer, Participant
from annotation.pictures import svg_of_uri
from tests.annotation.factories import main_trials, make_running_study, right_choice

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def study():
    return make_running_study()


def active_client(study, panel_id):
    client = Client()
    client.get(f"/p/{study.slug}/?PROLIFIC_PID={panel_id}")
    client.post(f"/p/{study.slug}/consent/", {"decision": "accept"})
    client.post(f"/p/{study.slug}/instructions/", {})
    participant = Participant.objects.get(panel_id=panel_id)
    for trial in participant.trials.filter(
        is_practice=True, position__lt=F("participant__n_practice")
    ).order_by("position"):
        client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": right_choice(trial)})
    return client, participant


def test_a_participant_gets_their_own_stimuli_as_svg(study):
    client, participant = active_client(study, "A")
    trial = main_trials(participant)[0]
    response = client.get(f"/p/{study.slug}/s/{trial.token}/left.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.count(b"<path") == trial.left_sketch.stroke_count
    assert (
        b"<title>" not in response.content
        and str(trial.left_sketch_id).encode() + b"<" not in response.content
    )


def test_a_stimulus_is_reached_by_its_unguessable_token_only(study):
    """The token is the capability (96 random bits, shown only to its participant): no cookie is
    needed, and no other URL reaches the sketch."""
    client_a, _ = active_client(study, "A")
    _, b = active_client(study, "B")
    b_trial = main_trials(b)[0]
    assert Client().get(f"/p/{study.slug}/s/{b_trial.token}/left.svg").status_code == 200
    for token in ("A" * 16, b_trial.token[:-1] + ("x" if b_trial.token[-1] != "x" else "y")):
        assert client_a.get(f"/p/{study.slug}/s/{token}/left.svg").status_code == 404
    page = client_a.get(f"/p/{study.slug}/task/").content.decode()
    assert b_trial.token not in page and not any(t.token in page for t in main_trials(b))


def test_participant_a_cannot_answer_the_trials_of_b(study):
    client_a, _ = active_client(study, "A")
    client_b, b = active_client(study, "B")
    b_trial = main_trials(b)[0]
    client_a.post(f"/p/{study.slug}/answer/", {"token": b_trial.token, "choice": "left"}, **HTMX)
    assert not Answer.objects.filter(trial=b_trial).exists()
    assert b.refused_submissions.count() == 0
    assert Participant.objects.get(panel_id="A").refused_submissions.get().reason == "unknown_token"
    assert client_b.get(f"/p/{study.slug}/s/{b_trial.token}/left.svg").status_code == 200


def test_stimuli_are_not_served_from_the_staff_sketch_urls_to_participants(study):
    client, participant = active_client(study, "A")
    trial = main_trials(participant)[0]
    assert client.get(f"/sketches/{trial.left_sketch_id}.svg").status_code == 403
    page = client.get(f"/p/{study.slug}/task/").content.decode()
    assert "/sketches/" not in page


def test_the_session_of_one_study_does_not_open_another(study):
    other = make_running_study("other-study")
    client, participant = active_client(study, "A")
    trial = main_trials(participant)[0]
    assert client.get(f"/p/{other.slug}/s/{trial.token}/left.svg").status_code == 404
    assert client.get(f"/p/{other.slug}/task/").status_code == 403


def _picture_frame(uri: str) -> str:
    """An inline picture with its drawn strokes blanked: the SVG around them must not differ."""
    return re.sub(r'<path d="[^"]*"/>', "", svg_of_uri(uri).decode())


def normalised(html: str) -> str:
    """The page with everything that differs by design blanked: tokens, CSRF values, counters,
    the strokes of the inline pictures."""
    html = re.sub(r'src="(data:[^"]*)"', lambda m: f'src="{_picture_frame(m.group(1))}"', html)
    html = re.sub(r"/s/[\w-]+/", "/s/T/", html)
    html = re.sub(r'name="token" value="[\w-]+"', 'name="token" value="T"', html)
    html = re.sub(r'(csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"', r'\1"C"', html)
    return re.sub(r"\d+", "N", html)


def test_a_sentinel_a_duplicate_and_a_regular_trial_have_identical_markup(study):
    client, participant = active_client(study, "A")
    pages = {}
    for trial in main_trials(participant):
        for htmx in (False, True):
            page = client.get(f"/p/{study.slug}/task/", **(HTMX if htmx else {})).content.decode()
            pages.setdefault((trial.kind, htmx), normalised(page))
        client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": right_choice(trial)})
        if len(pages) == 6:
            break
    assert len(pages) == 6
    for htmx in (False, True):
        assert pages[("sentinel", htmx)] == pages[("regular", htmx)] == pages[("duplicate", htmx)]


def test_no_page_or_response_mentions_scores_levels_plans_or_trial_kinds(study):
    client, participant = active_client(study, "A")
    texts = []
    for trial in main_trials(participant)[:12]:
        texts.append(client.get(f"/p/{study.slug}/task/").content.decode())
        texts.append(client.get(f"/p/{study.slug}/s/{trial.token}/right.svg").content.decode())
        response = client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": "left"}, **HTMX)
        texts.append(response.content.decode() + str(dict(response.headers)))
    blob = "\n".join(texts).lower()
    for word in ("sentinel", "duplicate", "gold", "level", "planned", "regular", "q=", "score"):
        assert word not in blob, word
