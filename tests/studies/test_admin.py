"""The study admin for the researcher persona: pages render, buttons call the actions, others see nothing."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from studies.forms import GoldPairForm
from studies.models import PlannedPair, Study, StudyState
from tests.factories import make_scored_study


@pytest.fixture
def study(researcher):
    return make_scored_study(owner=researcher)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def action_url(study, action):
    return reverse("admin:studies_study_action", args=[study.pk, action])


def test_the_changelist_shows_a_researcher_their_own_studies_only(researcher_client, study, other_researcher):
    make_scored_study("someone-elses", owner=other_researcher)
    page = researcher_client.get(reverse("admin:studies_study_changelist"))
    assert page.status_code == 200
    assert b"pig-face-study" in page.content and b"someone-elses" not in page.content


def test_another_researcher_cannot_open_the_study_its_plan_or_its_buttons(client, study, other_researcher):
    client.force_login(other_researcher)
    assert (
        client.get(reverse("admin:studies_study_change", args=[study.pk])).status_code == 302
    )  # "doesn't exist"
    assert client.get(reverse("admin:studies_study_plan", args=[study.pk])).status_code == 404
    assert client.post(action_url(study, "launch_live")).status_code == 404
    study.refresh_from_db()
    assert study.state == StudyState.DRAFT


def test_a_shared_study_is_visible_to_the_researcher_it_is_shared_with(client, study, other_researcher):
    study.shared_with.add(other_researcher)
    client.force_login(other_researcher)
    assert client.get(reverse("admin:studies_study_change", args=[study.pk])).status_code == 200


def test_an_outsider_gets_the_login_page(client, outsider, study):
    client.force_login(outsider)
    page = client.get(reverse("admin:studies_study_plan", args=[study.pk]))
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_the_change_form_offers_the_plan_preview_and_the_draft_buttons(researcher_client, study):
    page = researcher_client.get(reverse("admin:studies_study_change", args=[study.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("Plan preview", "Freeze the plan", "Launch as pilot", "Launch live", "Close", "Clone"):
        assert label in html
    assert 'name="pairs_per_cell"' in html


def test_the_dry_run_preview_shows_counts_per_category_method_and_level(researcher_client, study):
    page = researcher_client.get(reverse("admin:studies_study_plan", args=[study.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "Dry run" in html
    assert html.count('<th class="num">(') == 3 and "[0, 0.25]" in html
    assert "10 / 10" in html and "test-softmax" in html and "face" in html
    assert not PlannedPair.objects.exists()


def test_the_dry_run_lists_what_is_short(researcher_client, study):
    study.pairs_per_cell = 1000
    study.save()
    html = researcher_client.get(reverse("admin:studies_study_plan", args=[study.pk])).content.decode()
    assert "cannot be frozen or launched" in html and "short by" in html and "Freeze this plan" not in html


def test_freezing_from_the_button_stores_the_plan_and_locks_the_sampling_fields(researcher_client, study):
    response = researcher_client.post(action_url(study, "freeze_plan"))
    assert response.status_code == 302
    assert any("Plan frozen: 160 pairs in 4 cells" in m for m in messages_of(response))
    page = researcher_client.get(reverse("admin:studies_study_change", args=[study.pk])).content.decode()
    assert 'name="pairs_per_cell"' not in page and 'name="trials_per_participant"' in page
    preview = researcher_client.get(reverse("admin:studies_study_plan", args=[study.pk])).content.decode()
    assert "Frozen plan: 160 planned pairs stored" in preview


def test_a_refused_launch_shows_every_reason_and_changes_nothing(researcher_client, study):
    study.completion_code = ""
    study.save()
    response = researcher_client.post(action_url(study, "launch_live"))
    assert any(
        "Launch live refused: a Prolific study needs its completion code" in m for m in messages_of(response)
    )
    study.refresh_from_db()
    assert study.state == StudyState.DRAFT and study.plan_frozen_at is None


def test_launch_pause_resume_and_close_from_the_buttons(researcher_client, study):
    for action, state in (
        ("launch_pilot", "pilot"),
        ("pause", "paused"),
        ("resume", "pilot"),
        ("launch_live", "live"),
        ("close", "closed"),
    ):
        response = researcher_client.post(action_url(study, action))
        assert response.status_code == 302, action
        study.refresh_from_db()
        assert study.state == state, messages_of(response)
    page = researcher_client.get(reverse("admin:studies_study_change", args=[study.pk])).content.decode()
    assert "Launch live" not in page and 'name="trials_per_participant"' not in page


def test_buttons_only_accept_post(researcher_client, study):
    assert researcher_client.get(action_url(study, "launch_live")).status_code == 405
    assert researcher_client.post(action_url(study, "explode")).status_code == 404


def test_cloning_from_the_button_opens_the_new_draft(researcher_client, study):
    response = researcher_client.post(action_url(study, "clone"))
    clone = Study.objects.get(slug="pig-face-study-copy")
    assert response["Location"] == reverse("admin:studies_study_change", args=[clone.pk])
    assert clone.owner.username == "researcher"


def test_the_changelist_actions_report_success_and_refusal_per_study(researcher_client, study, researcher):
    broken = make_scored_study("broken", owner=researcher, completion_code="")
    response = researcher_client.post(
        reverse("admin:studies_study_changelist"),
        {"action": "launch_live", "_selected_action": [study.pk, broken.pk]},
    )
    texts = messages_of(response)
    assert any(t.startswith("pig-face-study:") and "live" in t for t in texts)
    assert any(t.startswith("broken: Launch live refused") for t in texts)


def test_adding_a_study_in_the_admin_makes_the_researcher_its_owner(researcher_client, study):
    form = researcher_client.get(reverse("admin:studies_study_add"))
    assert form.status_code == 200
    data = {
        "name": "Screening",
        "slug": "screening",
        "question": "Select the sketch with better visual quality",
        "categories": [c.pk for c in study.categories.all()],
        "scorers": [s.pk for s in study.scorers.all()],
        "split": "test",
        "pairs_per_cell": 40,
        "n_levels": 4,
        "level_edges": "null",
        "sampling_mode": "balanced",
        "trial_type": "pair",
        "options_per_trial": 3,
        "adaptive_target": "ranking",
        "adaptive_random_start": 0.2,
        "adaptive_control_share": 0.2,
        "adaptive_target_width": 0,
        "adaptive_refit_every": 200,
        "auto_gold_pairs": 30,
        "trials_per_participant": 40,
        "practice_trials": 3,
        "sentinels_per_participant": 4,
        "max_sentinel_mistakes": 2,
        "duplicates_per_participant": 4,
        "min_duplicate_agreement": 0.7,
        "min_duplicate_distance": 10,
        "degradation_gold_pairs": 8,
        "screening_rule": "auto",
        "sequential_screening": "on",
        "screening_alpha": 0.02,
        "too_fast_ms": 350,
        "too_fast_share": 0.2,
        "too_fast_block_after": 50,
        "break_every": 100,
        "idle_timeout_minutes": 60,
        "seed": 1,
        "target_participants": 10,
        "panel": "generic",
        "new_entries_per_network_hour": 10,
        "completion_code": "X1",
        "gold_pairs-TOTAL_FORMS": 0,
        "gold_pairs-INITIAL_FORMS": 0,
    }
    response = researcher_client.post(reverse("admin:studies_study_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Study.objects.get(slug="screening").owner.username == "researcher"


def test_the_form_explains_a_trial_list_that_cannot_hold_its_duplicates(researcher_client, study):
    page = researcher_client.get(reverse("admin:studies_study_change", args=[study.pk]))
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data.update(
        {
            "categories": [c.pk for c in study.categories.all()],
            "scorers": [s.pk for s in study.scorers.all()],
            "shared_with": [],
            "trials_per_participant": 20,
            "level_edges": "[0, 0.5, 0.4, 1]",
            "n_levels": 3,
            "completion_url": "",
            "qualification_study": "",
            "gold_pairs-TOTAL_FORMS": 0,
            "gold_pairs-INITIAL_FORMS": 0,
        }
    )
    response = researcher_client.post(reverse("admin:studies_study_change", args=[study.pk]), data)
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors)
    assert "short by 2" in errors and "strictly increasing" in errors
    study.refresh_from_db()
    assert study.trials_per_participant == 40


def test_a_curated_gold_pair_needs_two_sketches_of_one_category(study):
    pig = study.categories.get(slug="pig").sketches.first()
    face = study.categories.get(slug="face").sketches.first()
    assert "same category" in str(GoldPairForm({"better": pig.pk, "worse": face.pk}).errors)
    assert "two different sketches" in str(GoldPairForm({"better": pig.pk, "worse": pig.pk}).errors)


def test_the_plan_page_shows_the_power_planner_and_recomputes_with_other_assumptions(
    researcher_client, study
):
    url = reverse("admin:studies_study_plan", args=[study.pk])
    html = researcher_client.get(url).content.decode()
    assert (
        "Power and budget planner" in html
        and 'id="power-levels"' in html
        and 'id="power-differences"' in html
    )
    assert f'name="participants" value="{study.target_participants}"' in html
    more = researcher_client.get(url, {"participants": 500}).content.decode()
    assert 'name="participants" value="500"' in more
    bad = researcher_client.get(url, {"icc": "lots", "target_width": "2"})
    text = bad.content.decode()
    assert (
        bad.status_code == 200 and "icc must be a number" in text and "target width must be in (0, 1)" in text
    )
    assert not PlannedPair.objects.exists()


def test_the_admin_deletes_a_draft_with_its_plan(researcher_client, study):
    researcher_client.post(action_url(study, "freeze_plan"))
    assert PlannedPair.objects.filter(study=study).exists()
    url = reverse("admin:studies_study_delete", args=[study.pk])
    assert researcher_client.get(url).status_code == 200
    response = researcher_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Study.objects.filter(pk=study.pk).exists() and not PlannedPair.objects.exists()


@pytest.mark.parametrize("launch", ["launch_pilot", "launch_live"])
def test_the_admin_refuses_to_delete_a_launched_study_as_the_api_does(researcher_client, study, launch):
    researcher_client.post(action_url(study, "freeze_plan"))
    researcher_client.post(action_url(study, launch))
    study.refresh_from_db()
    assert study.state != StudyState.DRAFT
    change = researcher_client.get(reverse("admin:studies_study_change", args=[study.pk]))
    assert reverse("admin:studies_study_delete", args=[study.pk]).encode() not in change.content
    url = reverse("admin:studies_study_delete", args=[study.pk])
    assert researcher_client.post(url, {"post": "yes"}).status_code == 403
    bulk = researcher_client.post(
        reverse("admin:studies_study_changelist"),
        {"action": "delete_selected", "_selected_action": [study.pk], "post": "yes"},
    )
    assert bulk.status_code == 403
    assert Study.objects.filter(pk=study.pk).exists() and PlannedPair.objects.filter(study=study).exists()


def test_the_delete_rule_is_one_action_with_one_message(study):
    from studies.actions import StudyConfigError, do_delete_study, do_freeze_plan, do_launch_study

    do_freeze_plan(study)
    do_launch_study(study, pilot=True)
    with pytest.raises(StudyConfigError) as refused:
        do_delete_study(study)
    assert refused.value.messages == [
        "only drafts can be deleted; 'pig-face-study' is pilot (close it instead)"
    ]
    assert Study.objects.filter(pk=study.pk).exists()
