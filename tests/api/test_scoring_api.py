"""Scorers and scoring runs through the API."""

import pytest

from scoring.models import Scorer, ScoringRun, SketchScore
from tests.api.matrix import PERSONAS, Case, check
from tests.factories import SAMPLE_SCORER_CATEGORIES, make_sketches, make_trained_scorer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_media")]

DENIED = (401, 403)
ANY_RESEARCHER = {"researcher": 200, "other_researcher": 200, "participant": DENIED, "anonymous": DENIED}


@pytest.fixture
def _media(settings, tmp_path):
    from scoring import checkpoints

    settings.MEDIA_ROOT = tmp_path / "media"
    checkpoints.clear_cache()


@pytest.fixture
def world(db):
    sketches = [s for name in SAMPLE_SCORER_CATEGORIES for s in make_sketches(name, 10)]
    categories = list(dict.fromkeys(s.category for s in sketches))
    return {"scorer": make_trained_scorer("api-gacl-cos", categories)}


CASES = [
    Case("GET", lambda w: "/api/scorers/", ANY_RESEARCHER),
    Case("GET", lambda w: f"/api/scorers/{w['scorer'].name}/", ANY_RESEARCHER),
    Case(
        "POST",
        lambda w: "/api/scorers/",
        {**ANY_RESEARCHER, "researcher": 400, "other_researcher": 400},
        data=lambda w: {"name": "Not A Slug!"},
    ),
    Case("GET", lambda w: "/api/scoring-runs/", ANY_RESEARCHER),
    Case(
        "POST",
        lambda w: "/api/scoring-runs/",
        {**ANY_RESEARCHER, "researcher": 400, "other_researcher": 400},
        data=lambda w: {"scorer": "no-such-scorer"},
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[f"{c.method}-{i}" for i, c in enumerate(CASES)])
def test_scoring_endpoints_follow_the_permission_matrix(case, persona, world, users, participant_client):
    check(case, persona, world, users, participant_client)


def test_a_scoring_run_started_through_the_api_scores_every_sketch(
    api, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(
            "/api/scoring-runs/", {"scorer": "api-gacl-cos", "categories": ["pig"]}, format="json"
        )
    assert started.status_code == 202, started.data
    run = api.get(f"/api/scoring-runs/{started.data['id']}/").data
    assert run["status"] == "done" and run["done"] == run["total"] == 10
    assert SketchScore.objects.filter(scorer=world["scorer"], sketch__category__slug="pig").count() == 10


def test_scoring_a_category_the_scorer_does_not_know_is_refused_and_writes_nothing(api, world):
    make_sketches("ambulance", 3)
    response = api.post(
        "/api/scoring-runs/", {"scorer": "api-gacl-cos", "categories": ["ambulance"]}, format="json"
    )
    assert response.status_code == 400 and "ambulance" in response.data["detail"][0]
    assert ScoringRun.objects.count() == 0


def test_a_training_request_with_bad_input_is_refused_and_writes_nothing(api, world):
    for body in (
        {"name": "x", "categories": ["no-such-category"]},
        {"name": "x", "epochs": 0},
        {"name": "api-gacl-cos"},
        {"name": "x", "variant": "bogus"},
    ):
        assert api.post("/api/scorers/", body, format="json").status_code == 400, body
    assert Scorer.objects.count() == 1


def test_a_training_job_started_through_the_api_is_queued(api, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(
            "/api/scorers/", {"name": "api-new", "categories": ["pig", "face"], "epochs": 1}, format="json"
        )
    assert response.status_code == 202, response.data
    assert response.data["status"] == "pending" and len(callbacks) == 1  # the train_scorer task, after commit
