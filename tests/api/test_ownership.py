"""Who owns the shared objects (sketches/README.md, "Ownership"), in the API and the admin alike.

Categories: read by all, changed by superusers only. Import batches: private to the uploader.
Scorers and runs: read by all; retrain, delete and cancel by the creator only. Studies: owner and
shared_with, and sharing offers colleagues (group members), never every user. Another
researcher's study slug answers exactly like a missing one.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from scoring.models import JobStatus, Scorer, ScoringRun
from sketches.models import Category, ImportBatch
from tests.factories import make_scored_study, make_scorer, make_sketches

pytestmark = pytest.mark.django_db


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_researcher_cannot_rename_a_category_other_studies_use(researcher, other_researcher):
    study = make_scored_study(owner=researcher)
    pig = study.categories.get(slug="pig")
    assert other_researcher.has_perm("sketches.change_category")  # the model permission is not enough
    client = admin_client(other_researcher)
    response = client.post(
        f"/admin/sketches/category/{pig.pk}/change/", {"name": "renamed", "slug": "renamed"}
    )
    assert response.status_code == 403
    assert Category.objects.get(pk=pig.pk).name == "pig"
    assert client.get("/admin/sketches/category/").status_code == 200  # still readable
    assert api_client(other_researcher).get("/api/categories/pig/").status_code == 200


def test_another_researchers_upload_is_hidden_in_the_api_and_the_admin(researcher, other_researcher):
    sketch = make_sketches("pig", 1)[0]
    batch = ImportBatch.objects.create(
        filename="grant-proposal-secret.ndjson",
        messages=["line 3: confidential-label"],
        status="done",
        created_by=researcher,
    )
    sketch.import_batch = batch
    sketch.save(update_fields=["import_batch"])

    mine = api_client(researcher)
    assert mine.get(f"/api/imports/{batch.pk}/").data["filename"] == "grant-proposal-secret.ndjson"
    theirs = api_client(other_researcher)
    hidden, missing = theirs.get(f"/api/imports/{batch.pk}/"), theirs.get("/api/imports/999999/")
    assert hidden.status_code == missing.status_code == 404 and hidden.data == missing.data
    assert theirs.get("/api/imports/").data["count"] == 0

    client = admin_client(other_researcher)
    for url in ("/admin/sketches/importbatch/", f"/admin/sketches/sketch/{sketch.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200 and b"grant-proposal-secret" not in page.content, url
    assert client.get(f"/admin/sketches/importbatch/{batch.pk}/change/").status_code == 302  # "doesn't exist"
    own = admin_client(researcher).get(f"/admin/sketches/sketch/{sketch.pk}/change/")
    assert b"grant-proposal-secret" in own.content


def test_sharing_offers_colleagues_not_every_user(researcher, other_researcher):
    colleague = User.objects.create_user("colleague", is_staff=True)
    colleague.groups.add(Group.objects.get(name="researchers"))
    page = admin_client(researcher).get("/admin/studies/study/add/").content.decode()
    assert ">colleague</option>" in page
    assert ">other</option>" not in page  # not in any of the researcher's groups


def test_sharing_keeps_whoever_a_study_is_already_shared_with(researcher, other_researcher):
    study = make_scored_study(owner=researcher)
    study.shared_with.add(other_researcher)
    page = admin_client(researcher).get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert ">other</option>" in page


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/studies/{slug}/", None),
        ("get", "/api/participants/?study={slug}", None),
        ("get", "/api/results/{slug}/agreement/", None),
        ("post", "/api/exports/", {"study": "{slug}"}),
        ("patch", "/api/studies/mine/", {"qualification_study": "{slug}"}),
    ],
)
def test_another_researchers_slug_answers_like_a_missing_one(researcher, other_researcher, method, url, body):
    make_scored_study("theirs", owner=other_researcher)
    make_scored_study("mine", owner=researcher)
    client = api_client(researcher)

    def ask(slug):
        data = {k: v.format(slug=slug) for k, v in body.items()} if body else None
        response = getattr(client, method)(url.format(slug=slug), data=data, format="json")
        return response.status_code, str(getattr(response, "data", "")).replace(slug, "SLUG")

    assert ask("theirs") == ask("no-such-study")


def test_only_the_creator_retrains_or_deletes_a_scorer_or_cancels_its_run(researcher, other_researcher):
    scorer = make_scorer("their-scorer", status=JobStatus.FAILED, created_by=other_researcher)
    run = ScoringRun.objects.create(
        scorer=make_scorer("shared", created_by=other_researcher), created_by=other_researcher
    )
    client = admin_client(researcher)
    client.post(f"/admin/scoring/scorer/{scorer.pk}/train-again/")
    assert Scorer.objects.get(pk=scorer.pk).status == JobStatus.FAILED
    assert client.post(f"/admin/scoring/scorer/{scorer.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/scoring/scoringrun/", {"action": "cancel", "_selected_action": [run.pk]})
    assert ScoringRun.objects.get(pk=run.pk).status == JobStatus.PENDING
    assert client.get(f"/admin/scoring/scorer/{scorer.pk}/change/").status_code == 200  # readable

    owner = admin_client(other_researcher)
    owner.post("/admin/scoring/scoringrun/", {"action": "cancel", "_selected_action": [run.pk]})
    assert ScoringRun.objects.get(pk=run.pk).status == JobStatus.FAILED
