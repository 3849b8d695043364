"""NUL characters and absurd JSON nesting get a 400 at the edge, never a database error or a 500.

Run against PostgreSQL (DATABASE_URL) these requests raised psycopg ``DataError`` before the
edge checks; a JSON body nested 5,000 deep raised ``RecursionError`` on any database.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from annotation.models import Answer, Participant
from studies.models import Study
from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    return make_running_study("edge-study")


@pytest.fixture
def api(researcher):
    client = APIClient()
    client.force_authenticate(researcher)
    return client


def entered(client, study):
    client.get(f"/p/{study.slug}/?PROLIFIC_PID=EDGE-1&STUDY_ID=S1")
    return Participant.objects.get(panel_id="EDGE-1")


@pytest.mark.parametrize(
    "query",
    [
        "?PROLIFIC_PID=EDGE-2&STUDY_ID=S%00X",
        "?PROLIFIC_PID=EDGE-2&SESSION_ID=%00",
        "?pid=%00",
        "?PROLIFIC_PID=EDGE-2&%00=1",
    ],
)
def test_a_nul_in_the_entry_link_is_a_400_and_creates_nobody(client, study, query):
    response = client.get(f"/p/{study.slug}/{query}")
    assert response.status_code == 400 and b"NUL" in response.content
    assert not Participant.objects.filter(panel_id="EDGE-2").exists()


@pytest.mark.parametrize("field", ["token", "choice", "client_ms"])
def test_a_nul_in_an_answer_form_field_is_a_400(client, study, field):
    participant = entered(client, study)
    form = {"token": "abc", "choice": "left", "client_ms": "900", field: "x\x00y"}
    response = client.post(f"/p/{study.slug}/answer/", form)
    assert response.status_code == 400 and b"form field" in response.content
    assert not Answer.objects.filter(trial__participant=participant).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/studies/%00/",
        "/api/categories/pig%00/",
        "/api/scorers/%00x/",
        "/api/results/%00/",
        "/api/participants/?study=%00",
        "/api/sketches/?category=%00",
        "/api/studies/?search=%00",
        "/admin/studies/study/?q=%00",
    ],
)
def test_a_nul_in_a_lookup_or_filter_is_a_400(api, admin_client, url):
    client = admin_client if url.startswith("/admin/") else api
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)
    if url.startswith("/api/"):
        assert "NUL" in response.json()["detail"]


def test_a_nul_in_a_json_string_or_key_is_a_400_and_writes_nothing(api):
    for body in ({"name": "Pig\x00study", "slug": "nul-study"}, {"name\x00": "x", "slug": "nul-study"}):
        response = api.post("/api/studies/", json.dumps(body), content_type="application/json")
        assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert not Study.objects.filter(slug="nul-study").exists()


@pytest.mark.parametrize("depth", [40, 5000, 100_000])
def test_json_nested_absurdly_deep_is_a_400(api, depth):
    body = "[" * depth + "]" * depth
    response = api.post("/api/studies/", body, content_type="application/json")
    assert response.status_code == 400 and "levels deep" in response.json()["detail"]
    nested = '{"a":' * depth + "1" + "}" * depth
    response = api.post("/api/scorers/", nested, content_type="application/json")
    assert response.status_code == 400 and "levels deep" in response.json()["detail"]


def test_ordinary_json_and_unicode_still_pass(api):
    response = api.post("/api/studies/", {"name": "Étude ✓", "slug": "etude"}, format="json")
    assert response.status_code in (201, 400)
    assert "NUL" not in json.dumps(response.json()) and "levels deep" not in json.dumps(response.json())


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (b"token=abc&choice=le%00ft", True),
        (b"token=abc&ch%00oice=left", True),
        (b"token=abc&choice=le\x00ft", True),
        (b"token=abc&choice=left&note=100%25%2000", False),  # "%25" then "00": a literal "%00", no NUL
        (b"token=abc&choice=left", False),
    ],
)
def test_a_form_encoded_body_is_checked_as_the_browser_sent_it(client, study, body, refused):
    """Answers come form-encoded: the raw body holds a NUL or "%00" exactly when the form does."""
    from django.http import QueryDict

    assert ("\x00" in "".join(k + v for k, vs in QueryDict(body).lists() for v in vs)) == refused
    entered(client, study)
    response = client.post(f"/p/{study.slug}/answer/", body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code == 400) == refused
    if refused:
        assert b"form field" in response.content
