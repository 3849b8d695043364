"""Studies through the API: the same actions as the admin, and who may see what."""

import pytest

from studies.models import PlannedPair, Study
from tests.api.matrix import PERSONAS, Case, check
from tests.factories import make_scored_study

pytestmark = pytest.mark.django_db

DENIED = (401, 403)
HIDDEN = 404  # another researcher's study does not exist for you


@pytest.fixture
def world(researcher, view_only_user):
    study = make_scored_study(owner=researcher)
    study.shared_with.add(view_only_user)
    return {"study": study}


def study_url(world, suffix=""):
    return f"/api/studies/{world['study'].slug}/{suffix}"


OWNED = {"researcher": 200, "other_researcher": HIDDEN, "participant": DENIED, "anonymous": DENIED}
CASES = [
    Case("GET", lambda w: "/api/studies/", {**OWNED, "other_researcher": 200}),
    Case("GET", lambda w: study_url(w), OWNED),
    Case("GET", lambda w: study_url(w, "plan/"), OWNED),
    Case("PATCH", lambda w: study_url(w), OWNED, data=lambda w: {"question": "Which is better drawn?"}),
    Case("POST", lambda w: study_url(w, "freeze/"), OWNED),
    Case(
        "POST",
        lambda w: study_url(w, "launch/"),
        {**OWNED, "researcher": (200, 400)},
        data=lambda w: {"pilot": True},
    ),
    Case("POST", lambda w: study_url(w, "pause/"), {**OWNED, "researcher": (200, 400)}),
    Case("POST", lambda w: study_url(w, "resume/"), {**OWNED, "researcher": (200, 400)}),
    Case("POST", lambda w: study_url(w, "close/"), OWNED),
    Case("POST", lambda w: study_url(w, "clone/"), {**OWNED, "researcher": 201}),
    Case("POST", lambda w: study_url(w, "entry-links/"), OWNED, data=lambda w: {"ids": ["worker-1"]}),
    Case("DELETE", lambda w: study_url(w), {**OWNED, "researcher": (204, 400)}),
    Case(
        "POST",
        lambda w: "/api/studies/",
        {**OWNED, "researcher": 201, "other_researcher": 201},
        data=lambda w: {
            "name": "Created in the matrix",
            "slug": "created-in-the-matrix",
            "categories": [c.slug for c in w["study"].categories.all()],
            "scorers": [s.name for s in w["study"].scorers.all()],
        },
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[f"{c.method}-{i}" for i, c in enumerate(CASES)])
def test_study_endpoints_follow_the_permission_matrix(case, persona, world, users, participant_client):
    check(case, persona, world, users, participant_client)


def test_the_list_shows_only_your_studies_and_those_shared_with_you(api, world, other_researcher):
    theirs = make_scored_study("their-study", owner=other_researcher)
    assert [s["slug"] for s in api.get("/api/studies/").data["results"]] == [world["study"].slug]
    theirs.shared_with.add(world["study"].owner)
    assert {s["slug"] for s in api.get("/api/studies/").data["results"]} == {
        world["study"].slug,
        "their-study",
    }


def test_a_researcher_scripts_a_study_from_creation_to_close(api, world):
    template = world["study"]
    body = {
        "name": "Scripted study",
        "slug": "scripted",
        "categories": [c.slug for c in template.categories.all()],
        "scorers": [s.name for s in template.scorers.all()],
        "pairs_per_cell": 40,
        "n_levels": 4,
        "trials_per_participant": 40,
        "practice_trials": 3,
        "sentinels_per_participant": 4,
        "max_sentinel_mistakes": 2,
        "duplicates_per_participant": 4,
        "min_duplicate_distance": 10,
        "auto_gold_pairs": 0,
        "degradation_gold_pairs": 8,
        "seed": 7,
        "completion_code": "ABC123",
    }
    created = api.post("/api/studies/", body, format="json")
    assert created.status_code == 201, created.data
    assert created.data["owner"] == "researcher" and created.data["state"] == "draft"
    preview = api.get("/api/studies/scripted/plan/").data
    assert preview["frozen"] is False and preview["problems"] == []
    launched = api.post("/api/studies/scripted/launch/", {"pilot": False}, format="json")
    assert launched.status_code == 200, launched.data
    assert launched.data["state"] == "live" and launched.data["plan_frozen_at"]
    assert PlannedPair.objects.filter(study__slug="scripted").count() == 2 * 2 * 40
    assert api.post("/api/studies/scripted/pause/").data["state"] == "paused"
    assert api.post("/api/studies/scripted/resume/").data["state"] == "live"
    assert api.post("/api/studies/scripted/close/").data["state"] == "closed"


def test_an_infeasible_launch_is_refused_with_the_reasons_and_writes_nothing(api, world):
    api.patch(study_url(world), {"pairs_per_cell": 100000}, format="json")
    response = api.post(study_url(world, "launch/"), {}, format="json")
    assert response.status_code == 400
    assert any("short by" in message for message in response.data["detail"]), response.data
    study = Study.objects.get(pk=world["study"].pk)
    assert study.state == "draft" and study.plan_frozen_at is None
    assert PlannedPair.objects.filter(study=study).count() == 0


def test_an_illegal_transition_is_refused(api, world):
    api.post(study_url(world, "close/"))
    response = api.post(study_url(world, "launch/"), {}, format="json")
    assert response.status_code == 400 and Study.objects.get(pk=world["study"].pk).state == "closed"


def test_plan_fields_are_read_only_once_the_plan_is_frozen(api, world):
    assert api.post(study_url(world, "freeze/")).status_code == 200
    response = api.patch(study_url(world), {"pairs_per_cell": 10}, format="json")
    assert response.status_code == 400 and "pairs_per_cell" in response.data
    assert api.patch(study_url(world), {"question": "Which one?"}, format="json").status_code == 200


def test_a_double_freeze_is_refused_cleanly(api, world):
    assert api.post(study_url(world, "freeze/")).status_code == 200
    again = api.post(study_url(world, "freeze/"))
    assert again.status_code == 400 and "already frozen" in again.data["detail"][0]


def test_garbage_input_gets_a_400_not_a_500(api, world):
    assert (
        api.post(
            "/api/studies/", {"name": "x", "slug": "bad slug!", "categories": ["nope"]}, format="json"
        ).status_code
        == 400
    )
    assert api.patch(study_url(world), {"level_edges": "oops"}, format="json").status_code == 400
    assert api.post(study_url(world, "launch/"), {"pilot": "maybe"}, format="json").status_code == 400


def test_the_plan_endpoint_gives_the_power_planner_and_refuses_bad_assumptions(api, world):
    plan = api.get(study_url(world, "plan/")).data
    power = plan["power"]
    assert power["problems"] == [] and power["method"].startswith("analytic")
    assert len(power["levels"]) == world["study"].n_levels
    assert all(lv["cell_width"] is None or 0 < lv["cell_width"] < 1 for lv in power["levels"])
    assert power["differences"] and power["differences"][0]["expected_width"] > 0
    more = api.get(study_url(world, "plan/") + "?participants=400&target_width=0.05").data["power"]
    assert more["assumptions"]["participants"] == 400
    assert more["differences"][0]["expected_width"] < power["differences"][0]["expected_width"]
    bad = api.get(study_url(world, "plan/") + "?participants=many")
    assert bad.status_code == 400 and "participants must be a whole number" in bad.data["messages"][0]


def test_adaptive_settings_are_editable_checked_recorded_and_locked_after_the_freeze(api, world):
    settings = {"sampling_mode": "adaptive", "adaptive_target": "agreement", "adaptive_control_share": 0.3}
    assert api.patch(study_url(world), settings, format="json").status_code == 200
    bad = api.patch(study_url(world), {"adaptive_control_share": 1.5}, format="json")
    assert bad.status_code == 400 and "adaptive_control_share" in bad.data
    assert api.patch(study_url(world), {"adaptive_target": "vibes"}, format="json").status_code == 400
    assert Study.objects.get(pk=world["study"].pk).adaptive_control_share == 0.3
    assert api.post(study_url(world, "freeze/")).status_code == 200
    summary = Study.objects.get(pk=world["study"].pk).plan_summary
    assert summary["mode"] == "adaptive" and summary["adaptive"]["target"] == "agreement"
    assert summary["adaptive"]["control_share"] == 0.3
    locked = api.patch(study_url(world), {"adaptive_refit_every": 10}, format="json")
    assert locked.status_code == 400 and "adaptive_refit_every" in locked.data


def test_bot_checks_are_validated_and_editable_after_launch(api, world):
    bad = api.patch(
        study_url(world), {"bot_checks": {"too_fast_median_ms": "fast", "nope": 1}}, format="json"
    )
    assert bad.status_code == 400 and "must be a number or null" in str(bad.data["bot_checks"])
    assert Study.objects.get(pk=world["study"].pk).bot_checks == {}
    assert api.post(study_url(world, "launch/"), {"pilot": True}, format="json").status_code == 200
    good = api.patch(
        study_url(world), {"bot_checks": {"too_fast_median_ms": 500, "same_side_share": None}}, format="json"
    )
    assert good.status_code == 200, good.data
    assert good.data["bot_checks"] == {"too_fast_median_ms": 500, "same_side_share": None}
    assert (
        api.patch(study_url(world), {"exclude_flagged": False}, format="json").data["exclude_flagged"]
        is False
    )
