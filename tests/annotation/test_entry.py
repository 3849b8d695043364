"""Entering a study from the panel link: who gets in, who is refused, and resuming."""

from __future__ import annotations

import pytest

from annotation.actions import EntryRefused, do_accept_consent, do_enter_study
from annotation.models import Participant, ParticipantStatus
from studies.actions import do_close_study, do_pause_study
from tests.annotation.factories import admitted, make_running_study

pytestmark = pytest.mark.django_db

PROLIFIC = "?PROLIFIC_PID=PID-A&STUDY_ID=S1&SESSION_ID=SES1"


@pytest.fixture
def study():
    return make_running_study()


def test_the_prolific_link_creates_a_participant_and_shows_the_consent_page(client, study):
    response = client.get(f"/p/{study.slug}/{PROLIFIC}", follow=True)
    participant = Participant.objects.get()
    assert (participant.panel_id, participant.prolific_study_id, participant.prolific_session_id) == (
        "PID-A",
        "S1",
        "SES1",
    )
    assert participant.index == 0 and participant.status == ParticipantStatus.CONSENTING
    assert response.redirect_chain[-1][0] == f"/p/{study.slug}/task/"
    assert b'data-step="consent"' in response.content and b"I agree, start" in response.content


def test_a_generic_panel_id_works_and_indices_count_up_per_study(client, study):
    client.get(f"/p/{study.slug}/?pid=worker-7")
    client.get(f"/p/{study.slug}/?pid=worker-8")
    assert list(Participant.objects.order_by("index").values_list("panel_id", "index")) == [
        ("worker-7", 0),
        ("worker-8", 1),
    ]


def test_the_same_panel_id_resumes_from_a_new_browser(client, django_user_model, study):
    participant = admitted(study, "PID-A")
    from django.test import Client

    response = Client().get(f"/p/{study.slug}/{PROLIFIC}", follow=True)
    assert b'data-step="instructions"' in response.content
    assert Participant.objects.count() == 1 and Participant.objects.get().pk == participant.pk


def test_a_reload_without_the_id_resumes_from_the_session(client, study):
    client.get(f"/p/{study.slug}/{PROLIFIC}")
    response = client.get(f"/p/{study.slug}/", follow=True)
    assert b'data-step="consent"' in response.content


def test_a_link_without_any_id_gets_a_clear_page(client, study):
    response = client.get(f"/p/{study.slug}/")
    assert response.status_code == 400
    assert b"missing your participant id" in response.content
    assert not Participant.objects.exists()


def test_an_overlong_id_is_refused_without_writing(client, study):
    response = client.get(f"/p/{study.slug}/?pid={'x' * 65}")
    assert response.status_code == 400 and not Participant.objects.exists()


def test_an_unknown_study_is_a_friendly_404(client, db):
    response = client.get("/p/no-such-study/?pid=x")
    assert response.status_code == 404 and b"There is no such study" in response.content


@pytest.mark.parametrize(("change", "text"), [(do_pause_study, b"paused"), (do_close_study, b"has closed")])
def test_new_participants_are_turned_away_from_a_paused_or_closed_study(client, study, change, text):
    change(study)
    response = client.get(f"/p/{study.slug}/?pid=new")
    assert text in response.content and not Participant.objects.exists()


def test_a_full_study_turns_new_participants_away_but_lets_admitted_ones_back(client, study):
    study.target_participants = 1
    study.save(update_fields=["target_participants"])
    admitted(study, "first")
    assert b"This study is full" in client.get(f"/p/{study.slug}/?pid=second").content
    response = client.get(f"/p/{study.slug}/?pid=first", follow=True)
    assert b'data-step="instructions"' in response.content


def test_consent_is_refused_when_the_last_place_went_to_someone_else(study):
    study.target_participants = 1
    study.save(update_fields=["target_participants"])
    waiting = do_enter_study(study, "slow")
    admitted(study, "fast")
    with pytest.raises(EntryRefused) as refused:
        do_accept_consent(waiting)
    assert refused.value.reason == "full"
    assert not waiting.trials.exists()


def test_a_qualification_study_admits_only_its_qualified_completers(client, study):
    main = make_running_study("main-study", qualification_study=study)
    passed = admitted(study, "passed")
    Participant.objects.filter(pk=passed.pk).update(status=ParticipantStatus.COMPLETED, qualified=True)
    failed = admitted(study, "failed")
    Participant.objects.filter(pk=failed.pk).update(status=ParticipantStatus.COMPLETED, qualified=False)
    for panel_id in ("failed", "stranger"):
        response = client.get(f"/p/{main.slug}/?pid={panel_id}")
        assert response.status_code == 403 and b"invited participants" in response.content
    assert client.get(f"/p/{main.slug}/?pid=passed").status_code == 302
    assert list(main.participants.values_list("panel_id", flat=True)) == ["passed"]
