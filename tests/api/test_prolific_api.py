"""The panel-side API: codes and submissions, review decisions, Prolific calls, and study fitting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from annotation.models import Participant, ParticipantStatus
from annotation.panel_models import ReviewDecision
from studies.models import Study
from studies.outcomes import PanelTerms
from tests.annotation.factories import at_trials, make_running_study
from tests.annotation.fake_prolific import TOKEN, FakeProlific
from tests.factories import make_scored_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    with FakeProlific() as server:
        settings.PROLIFIC_API_TOKEN, settings.PROLIFIC_API_URL = TOKEN, server.url
        settings.PROLIFIC_API_RETRIES, settings.PROLIFIC_API_TIMEOUT = 1, 2
        yield server


@pytest.fixture
def study(researcher, fake):
    study = make_running_study("api-prolific", owner=researcher, target_participants=5)
    Study.objects.filter(pk=study.pk).update(prolific_study_id=fake.study_id)
    study.refresh_from_db()
    PanelTerms.objects.create(study=study, reward=Decimal("2.00"))
    return study


def test_it_lists_codes_and_submissions(api, study):
    at_trials(study, "PID-1")
    body = api.get(f"/api/prolific/{study.slug}/").json()
    assert {c["outcome"] for c in body["codes"]} == {
        "completed",
        "screened_out",
        "interrupted",
        "declined",
        "no_places",
    }
    completed = next(c for c in body["codes"] if c["outcome"] == "completed")
    assert completed["url"] == "https://app.prolific.com/submissions/complete?cc=C0DE1234"
    assert [r["participant_id"] for r in body["submissions"]] == ["PID-1"]


def test_a_sync_through_the_api_releases_returned_pairs_and_a_failure_answers_502(api, study, fake):
    at_trials(study, "PID-1")
    fake.add("PID-1", "RETURNED")
    fake.fail("/submissions/", 503, times=2)  # one retry allowed: both attempts fail
    failed = api.post(f"/api/prolific/{study.slug}/sync/")
    assert failed.status_code == 502 and "HTTP 503" in failed.json()["detail"][0]
    assert Participant.objects.get(panel_id="PID-1").status == ParticipantStatus.ACTIVE
    done = api.post(f"/api/prolific/{study.slug}/sync/")
    assert done.status_code == 200 and done.json()["returned"] == ["PID-1"]
    assert Participant.objects.get(panel_id="PID-1").status == ParticipantStatus.RETURNED
    places = api.get(f"/api/prolific/{study.slug}/places/").json()
    assert places["total_available_places"] == 10


def test_review_decisions_through_the_api_are_audited_and_bad_ones_refused(api, study):
    at_trials(study, "PID-1")
    bad = api.post(
        f"/api/prolific/{study.slug}/review/",
        {"panel_id": "PID-1", "kind": "bonus", "amount": "x", "reason": "r"},
    )
    assert bad.status_code == 400 and not ReviewDecision.objects.exists()
    ok = api.post(
        f"/api/prolific/{study.slug}/review/",
        {"panel_id": "PID-1", "kind": "bonus", "amount": "0.75", "reason": "Helpful feedback."},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["bonus"] == "0.75"
    assert ReviewDecision.objects.get().decided_by_name == "researcher"


def test_another_researchers_study_is_not_found(other_researcher, study):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other_researcher)
    assert client.get(f"/api/prolific/{study.slug}/").status_code == 404
    assert client.post(f"/api/prolific/{study.slug}/sync/").status_code == 404


def test_the_plan_endpoint_shows_feasible_sizes_and_fit_proposes_then_applies(api, researcher):
    study = make_scored_study("too-big", owner=researcher, pairs_per_cell=5000, trials_per_participant=1000)
    plan = api.get(f"/api/studies/{study.slug}/plan/").json()
    feasible = plan["feasible"]["max_pairs_per_cell"]["balanced"]
    assert plan["problems"] and 0 < feasible < 5000
    proposal = api.post(f"/api/studies/{study.slug}/fit/", {}, format="json").json()
    assert proposal["proposal"]["pairs_per_cell"] == feasible and proposal["problems"] == []
    applied = api.post(f"/api/studies/{study.slug}/fit/", {"apply": True}, format="json")
    assert applied.status_code == 200
    launched = api.post(f"/api/studies/{study.slug}/launch/", {"pilot": True}, format="json")
    assert launched.status_code == 200, launched.json()


def test_questionnaire_answers_are_in_the_api(api, study):
    from annotation.questionnaires import do_answer_questions
    from studies.questionnaires import Question

    question = Question.objects.create(
        study=study, phase="pre", kind="choice", text="Device?", choices=["phone", "pc"]
    )
    participant = at_trials(study, "PID-Q")
    do_answer_questions(participant, "pre", {f"q{question.pk}": "pc"})
    rows = api.get(f"/api/prolific/{study.slug}/").json()["questionnaire"]
    assert rows == [
        {
            "participant_id": "PID-Q",
            "phase": "pre",
            "question": "Device?",
            "kind": "choice",
            "attempt": 1,
            "answer": "pc",
            "correct": None,
        }
    ]
