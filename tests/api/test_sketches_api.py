import pytest
from rest_framework.test import APIClient

from sketches.models import ImportBatch, Sketch
from tests.api.matrix import PERSONAS, Case, check
from tests.factories import make_sketches

pytestmark = pytest.mark.django_db

DENIED = (401, 403)


@pytest.fixture
def world(db):
    sketches = make_sketches("pig", 4) + make_sketches("face", 2)
    return {"sketch": sketches[0]}


CASES = [
    Case(
        "GET",
        lambda w: "/api/sketches/",
        {"researcher": 200, "other_researcher": 200, "participant": DENIED, "anonymous": DENIED},
    ),
    Case(
        "GET",
        lambda w: f"/api/sketches/{w['sketch'].pk}/",
        {"researcher": 200, "other_researcher": 200, "participant": DENIED, "anonymous": DENIED},
    ),
    Case(
        "GET",
        lambda w: "/api/categories/",
        {"researcher": 200, "other_researcher": 200, "participant": DENIED, "anonymous": DENIED},
    ),
    Case(
        "GET",
        lambda w: "/api/imports/",
        {"researcher": 200, "other_researcher": 200, "participant": DENIED, "anonymous": DENIED},
    ),
    Case(
        "DELETE",
        lambda w: f"/api/sketches/{w['sketch'].pk}/",
        {"researcher": 405, "other_researcher": 405, "participant": DENIED, "anonymous": DENIED},
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[f"{c.method}-{i}" for i, c in enumerate(CASES)])
def test_corpus_endpoints_follow_the_permission_matrix(case, persona, world, users, participant_client):
    check(case, persona, world, users, participant_client)


def test_sketches_filter_by_category_and_split(api, world):
    response = api.get("/api/sketches/", {"category": "face"})
    assert response.status_code == 200 and response.data["count"] == 2
    assert response.data["results"][0]["svg_url"].endswith(".svg")
    split = Sketch.objects.first().split
    response = api.get("/api/sketches/", {"split": split})
    assert response.data["count"] == Sketch.objects.filter(split=split).count()


def test_an_upload_starts_an_import_job_that_reports_back(
    api, sample_dir, django_capture_on_commit_callbacks
):
    with (
        (sample_dir / "cactus.ndjson").open("rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api.post("/api/imports/", {"file": handle, "skip_invalid": "false"}, format="multipart")
    assert response.status_code == 202, response.data
    batch = api.get(f"/api/imports/{response.data['id']}/").data
    assert batch["status"] == "done" and batch["n_new"] == 60


def test_a_bad_upload_is_refused_with_a_clear_message_and_nothing_written(api, tmp_path):
    path = tmp_path / "x.exe"
    path.write_bytes(b"MZ")
    with path.open("rb") as handle:
        response = api.post("/api/imports/", {"file": handle}, format="multipart")
    assert response.status_code == 400
    assert "Upload a .ndjson, .jsonl or .npz file." in str(response.data)
    assert ImportBatch.objects.count() == 0


def test_a_token_authenticates_a_script(researcher, world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=researcher)
    client = APIClient()
    assert client.get("/api/sketches/").status_code in DENIED
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/sketches/").status_code == 200


def test_the_schema_and_docs_render(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
