"""The idle sweep: abandoned participants give their unanswered pairs back."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotation.actions import do_expire_idle_participants, do_submit_answer
from annotation.models import Participant, ParticipantStatus
from annotation.tasks import expire_idle_participants
from studies.models import PlannedPair
from tests.annotation.factories import at_trials, main_trials, make_running_study

pytestmark = pytest.mark.django_db


def pool_total(study) -> int:
    return sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))


def idle_for(participant, minutes):
    Participant.objects.filter(pk=participant.pk).update(
        last_seen_at=timezone.now() - timedelta(minutes=minutes)
    )


@pytest.fixture
def study():
    return make_running_study(idle_timeout_minutes=30)


def test_an_idle_participant_is_abandoned_and_all_their_pairs_return_to_the_pool(study):
    participant = at_trials(study)
    for trial in main_trials(participant)[:5]:
        do_submit_answer(participant, trial.token, "left")
    answered = {t.planned_pair_id for t in main_trials(participant)[:5] if t.planned_pair_id}
    before = pool_total(study)
    idle_for(participant, 31)
    report = do_expire_idle_participants(timezone.now())
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ABANDONED
    assert report.participants == 1
    assert answered  # an abandoned list is never analysed: answered pairs return too
    assert report.pairs_released == study.regular_trials_per_participant
    assert pool_total(study) == before - report.pairs_released


def test_active_participants_and_finished_ones_are_left_alone(study):
    recent = at_trials(study, "recent")
    idle_for(recent, 29)
    admitted_long_ago = at_trials(study, "done")
    Participant.objects.filter(pk=admitted_long_ago.pk).update(status=ParticipantStatus.COMPLETED)
    idle_for(admitted_long_ago, 600)
    assert do_expire_idle_participants(timezone.now()).participants == 0


def test_a_second_sweep_releases_nothing_more(study):
    participant = at_trials(study)
    idle_for(participant, 45)
    do_expire_idle_participants(timezone.now())
    before = pool_total(study)
    assert do_expire_idle_participants(timezone.now()).participants == 0
    assert pool_total(study) == before


def test_an_abandoned_participant_who_comes_back_sees_the_expired_page_and_cannot_answer(client, study):
    participant = at_trials(study)
    idle_for(participant, 31)
    do_expire_idle_participants(timezone.now())
    page = client.get(f"/p/{study.slug}/?PROLIFIC_PID={participant.panel_id}", follow=True)
    assert b'data-step="expired"' in page.content and b"Return submission" in page.content
    result = do_submit_answer(participant, main_trials(participant)[0].token, "left")
    assert result.reason == "abandoned"


def test_a_zero_timeout_never_expires(study):
    study.idle_timeout_minutes = 0
    study.save(update_fields=["idle_timeout_minutes"])
    participant = at_trials(study)
    idle_for(participant, 10_000)
    assert do_expire_idle_participants(timezone.now()).participants == 0


def test_the_command_and_the_task_run_the_same_sweep(study):
    first, second = at_trials(study, "one"), at_trials(study, "two")
    idle_for(first, 31)
    out = StringIO()
    call_command("expire_idle_participants", stdout=out)
    assert "1 idle participant(s) abandoned" in out.getvalue()
    idle_for(second, 31)
    assert expire_idle_participants.apply().get()["participants"] == 1
