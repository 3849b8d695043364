"""The trial type through the admin and the API: clear messages for bad settings, locked with the plan."""

import pytest
from django.urls import reverse

from studies.models import Study
from tests.factories import make_scored_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(researcher):
    return make_scored_study("types", owner=researcher)


def _url(study, suffix=""):
    return f"/api/studies/{study.slug}/{suffix}"


def test_the_api_sets_best_of_k_and_records_it_in_the_plan_summary(api, study):
    response = api.patch(_url(study), {"trial_type": "best_of_k", "options_per_trial": 4}, format="json")
    assert response.status_code == 200, response.data
    assert api.post(_url(study, "freeze/")).status_code == 200
    study.refresh_from_db()
    assert study.plan_summary["trial_type"] == "best_of_k" and study.plan_summary["sketches_per_trial"] == 4


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"trial_type": "best_of_k", "options_per_trial": 5}, "options_per_trial", "less than or equal to 4"),
        (
            {"trial_type": "best_of_k", "options_per_trial": 1},
            "options_per_trial",
            "greater than or equal to 2",
        ),
        ({"trial_type": "triple"}, "trial_type", "not a valid choice"),
        ({"trial_type": "single", "allow_no_difference": True}, "trial_type", "yes or no"),
    ],
)
def test_the_api_refuses_bad_trial_settings_with_a_message_and_changes_nothing(
    api, study, body, field, words
):
    response = api.patch(_url(study), body, format="json")
    assert response.status_code == 400
    assert words in " ".join(str(m) for m in response.data[field])
    study.refresh_from_db()
    assert study.trial_type == "pair"


def test_the_trial_type_is_locked_once_the_plan_is_frozen(api, study):
    assert api.post(_url(study, "freeze/")).status_code == 200
    response = api.patch(_url(study), {"trial_type": "single"}, format="json")
    assert response.status_code == 400 and "cannot change" in str(response.data["trial_type"])
    assert Study.objects.get(pk=study.pk).trial_type == "pair"


def test_the_admin_shows_the_trial_type_and_refuses_single_with_abstain(researcher_client, study):
    url = reverse("admin:studies_study_change", args=[study.pk])
    page = researcher_client.get(url)
    assert b'name="trial_type"' in page.content and b'name="options_per_trial"' in page.content
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if hasattr(value, "__iter__") and not isinstance(value, str | dict):
            data[name] = [getattr(v, "pk", v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = getattr(value, "pk", value)
    data.update({"trial_type": "single", "allow_no_difference": "on", "level_edges": ""})
    data.update({"gold_pairs-TOTAL_FORMS": 0, "gold_pairs-INITIAL_FORMS": 0})
    response = researcher_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "yes or no" in " ".join(errors.get("trial_type", []))
    assert Study.objects.get(pk=study.pk).trial_type == "pair"
