"""simulate_crowd --base-url: the same simulated workers against a real running server over HTTP."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from annotation.models import Participant
from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_crowd_goes_through_a_running_server_with_cookies_and_csrf(live_server, capsys):
    study = make_running_study("http-crowd", break_every=10)
    call_command(
        "simulate_crowd", "--study", study.slug, "--participants", "1", "--spammers", "1", "--seed", "4",
        "--base-url", live_server.url,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "2 simulated participants" in out and "not recognised" not in out
    people = Participant.objects.filter(study=study)
    assert people.count() == 2
    completed = people.filter(status="completed")
    assert completed.exists()
    for person in completed:
        assert person.trials.filter(is_practice=False, answer__client_response_ms__gt=0).count() == 30


def test_a_bad_base_url_is_refused_before_anything_is_sent():
    from django.core.management import CommandError

    study = make_running_study("http-crowd-bad")
    with pytest.raises(CommandError, match="--base-url must look like"):
        call_command("simulate_crowd", "--study", study.slug, "--participants", "1", "--base-url", "ftp:/x")
    with pytest.raises(CommandError, match="cannot reach"):
        call_command("simulate_crowd", "--study", study.slug, "--participants", "1", "--base-url",
                     "http://127.0.0.1:9")  # fmt: skip
    assert not Participant.objects.filter(study=study).exists()
