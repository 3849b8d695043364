"""The researcher's side: panel links, the participant admin and the trial-screen preview."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import RefusedSubmission
from annotation.panels import prolific_link
from annotation.text import render_markdown
from tests.annotation.factories import admitted, at_trials, make_running_study

pytestmark = pytest.mark.django_db

PLACEHOLDERS = "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"


@pytest.fixture
def study(researcher):
    return make_running_study(owner=researcher)


def test_the_prolific_link_carries_prolifics_placeholders(rf, settings, study):
    settings.ALLOWED_HOSTS = ["studies.example.org"]
    request = rf.get("/", HTTP_HOST="studies.example.org", secure=True)
    assert prolific_link(study, request) == f"https://studies.example.org/p/{study.slug}/{PLACEHOLDERS}"


def test_a_generic_panel_gets_a_pid_link(rf, study):
    study.panel = "generic"
    assert prolific_link(study, rf.get("/")).endswith(f"/p/{study.slug}/?pid=PARTICIPANT_ID")


def test_the_study_links_admin_shows_the_link_the_code_and_the_preview(researcher_client, study):
    response = researcher_client.get("/admin/annotation/studylinks/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f"http://testserver/p/{study.slug}/{PLACEHOLDERS}".replace("&", "&amp;") in body
    assert "C0DE1234" in body and reverse("annotation:preview", args=[study.slug]) in body
    detail = researcher_client.get(f"/admin/annotation/studylinks/{study.pk}/change/")
    assert "https://app.prolific.com/submissions/complete?cc=C0DE1234" in detail.content.decode()


def test_researchers_see_only_the_participants_of_their_own_studies(client, other_researcher, study):
    admitted(study, "mine")
    client.force_login(other_researcher)
    response = client.get("/admin/annotation/participant/")
    assert response.status_code == 200 and "mine" not in response.content.decode()
    assert study.name not in client.get("/admin/annotation/studylinks/").content.decode()


def test_the_participant_admin_lists_status_and_quality(researcher_client, study):
    participant = at_trials(study, "worker-1")
    RefusedSubmission.objects.create(participant=participant, token="x", reason="not_current")
    listing = researcher_client.get("/admin/annotation/participant/?status__exact=active").content.decode()
    assert "worker-1" in listing and "0 / 30" in listing
    detail = researcher_client.get(f"/admin/annotation/participant/{participant.pk}/change/").content.decode()
    assert f"/admin/annotation/trial/?participant__id__exact={participant.pk}" in detail
    trials = researcher_client.get(f"/admin/annotation/trial/?participant__id__exact={participant.pk}")
    assert (
        trials.status_code == 200 and "34 trials" in trials.content.decode()
    )  # 30 + 3 practice + the example
    assert "not_current" in researcher_client.get("/admin/annotation/refusedsubmission/").content.decode()


def test_the_preview_shows_the_participants_trial_screen_to_staff_only(researcher_client, outsider, study):
    url = reverse("annotation:preview", args=[study.slug])
    page = researcher_client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and 'data-step="trial"' in body and study.question in body
    assert "Answers are not stored" in body and 'name="choice" value="left"' in body
    following = researcher_client.post(
        f"{url}?n=1", {"token": "preview", "choice": "left"}, HTTP_HX_REQUEST="true"
    )
    assert "Preview 2 of" in following.content.decode()
    anonymous = Client()
    refused = anonymous.get(url)  # the one staff gate: 403 with a sign-in link, as on every staff page
    assert refused.status_code == 403 and b"sign in" in refused.content
    anonymous.force_login(outsider)
    refused = anonymous.get(url)
    assert refused.status_code == 403 and b"not a researcher" in refused.content


@pytest.mark.parametrize(
    ("config", "expected", "absent"),
    [
        (
            {"trial_type": "best_of_k", "options_per_trial": 3, "allow_no_difference": True},
            ['alt="Sketch 1"', 'alt="Sketch 2"', 'alt="Sketch 3"', 'name="choice" value="3"', 'value="none"'],
            ['alt="Sketch 4"', 'value="left"'],
        ),
        (
            {"trial_type": "single"},
            [
                'alt="The sketch"',
                'name="choice" value="yes"',
                'name="choice" value="no"',
                "Is this a good drawing",
            ],
            ['alt="Left sketch"', 'value="left"'],
        ),
    ],
)
def test_the_preview_shows_a_best_of_k_or_single_study_in_its_own_layout(
    researcher, researcher_client, config, expected, absent
):
    from studies.models import PlannedPair

    study = make_running_study(f"preview-{config['trial_type']}", owner=researcher, **config)
    url = reverse("annotation:preview", args=[study.slug])
    body = researcher_client.get(url).content.decode()
    assert all(text in body for text in expected) and not any(text in body for text in absent)
    first = PlannedPair.objects.filter(study=study).order_by("order").first()
    shown = [first.sketch_a_id, first.sketch_b_id, first.sketch_c_id]
    for pk in shown[: study.sketches_per_trial]:  # the plan's first trial, in option order
        assert reverse("sketches:svg", args=[pk]) in body
    following = researcher_client.post(
        f"{url}?n=1", {"token": "preview", "choice": expected[-2].split('"')[-2]}, HTTP_HX_REQUEST="true"
    )
    assert "Preview 2 of" in following.content.decode()


def test_the_preview_of_someone_elses_study_is_not_found(client, other_researcher, study):
    client.force_login(other_researcher)
    assert client.get(reverse("annotation:preview", args=[study.slug])).status_code == 404


def test_markdown_from_researchers_cannot_inject_html_or_script_links():
    html = render_markdown(
        "**Hi** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    assert "<strong>Hi</strong>" in html
    assert "<script" not in html and "javascript:" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_the_demo_step_links_to_the_running_study(study):
    from annotation import demo

    said = []
    links = dict(demo.run(said.append))
    take_part = links["Take part (as a worker)"]
    assert take_part.startswith(f"/p/{study.slug}/?PROLIFIC_PID=") and "&STUDY_ID=" in take_part
    assert links["Link for Prolific"].endswith(
        "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert links["Trial screen preview"] == f"/p/{study.slug}/preview/"
    assert said and study.slug in said[0]


def test_the_demo_step_says_so_when_there_is_no_study(db):
    from annotation import demo

    said = []
    assert demo.run(said.append) is None and "no study" in said[0]
