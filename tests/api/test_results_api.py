"""Results through the API: participants with QA, agreement, rankings and export jobs."""

import io
import zipfile

import pytest

from analysis.models import ExportJob
from tests.analysis.factories import answered_study
from tests.api.matrix import PERSONAS, Case, check

pytestmark = pytest.mark.django_db

DENIED = (401, 403)
OWNED = {"researcher": 200, "other_researcher": 404, "participant": DENIED, "anonymous": DENIED}


@pytest.fixture
def world(researcher, view_only_user):
    study, workers = answered_study(owner=researcher)
    study.shared_with.add(view_only_user)
    return {"study": study, "workers": workers}


CASES = [
    Case("GET", lambda w: f"/api/participants/?study={w['study'].slug}", OWNED),
    Case("GET", lambda w: f"/api/results/{w['study'].slug}/agreement/", OWNED),
    Case("GET", lambda w: f"/api/results/{w['study'].slug}/rankings/", OWNED),
    Case("GET", lambda w: "/api/exports/", {**OWNED, "other_researcher": 200}),
    Case(
        "POST",
        lambda w: "/api/exports/",
        {**OWNED, "researcher": 202, "other_researcher": 400},
        data=lambda w: {"study": w["study"].slug},
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[f"{c.method}-{i}" for i, c in enumerate(CASES)])
def test_results_endpoints_follow_the_permission_matrix(
    case, persona, world, users, django_capture_on_commit_callbacks, participant_client
):
    with django_capture_on_commit_callbacks(execute=False):
        check(case, persona, world, users, participant_client)


def test_participants_come_with_their_screening_and_qa(api, world):
    rows = api.get(f"/api/participants/?study={world['study'].slug}").data["results"]
    statuses = {row["panel_id"]: row["status"] for row in rows}
    assert "blocked" in statuses.values() and "completed" in statuses.values()
    completed = next(r for r in rows if r["status"] == "completed")
    assert completed["quality"]["trials"] > 0 and completed["quality"]["left_rate"] is not None
    assert api.get("/api/participants/").status_code == 400  # the study is required


def test_agreement_matches_the_report_and_the_scope_toggle_changes_it(api, world):
    from analysis.reports import build_report

    default = api.get(f"/api/results/{world['study'].slug}/agreement/").data
    report = build_report(world["study"])
    assert [r["n"] for r in default["by_method"]] == [r["n"] for r in report.agreement.by_method]
    everyone = api.get(f"/api/results/{world['study'].slug}/agreement/?scope=all").data
    assert sum(r["n"] for r in everyone["by_method"]) > sum(r["n"] for r in default["by_method"])
    assert api.get(f"/api/results/{world['study'].slug}/agreement/?scope=bogus").status_code == 400


def test_rankings_list_every_category_with_correlations(api, world):
    data = api.get(f"/api/results/{world['study'].slug}/rankings/").data
    assert {r["category"] for r in data["rankings"]} == {c.slug for c in world["study"].categories.all()}
    assert all(r["correlations"] for r in data["rankings"])


def test_an_export_job_runs_and_its_zip_downloads(api, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post("/api/exports/", {"study": world["study"].slug}, format="json")
    assert started.status_code == 202
    job = api.get(f"/api/exports/{started.data['id']}/").data
    assert job["status"] == "done" and job["download_url"]
    download = api.get(job["download_url"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert any(name.endswith("answers.csv") for name in archive.namelist())
    assert ExportJob.objects.get(pk=job["id"]).sha256 == job["sha256"]
