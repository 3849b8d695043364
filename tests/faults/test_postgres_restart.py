"""PostgreSQL restarted mid-study: the next answer is stored and none is lost.

Restarts the real local cluster (CI runs nothing else at the same time). The answers
go through a real threaded server, whose request cycle reconnects after the restart
(CONN_HEALTH_CHECKS), exactly like gunicorn would.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.db.models import F

from annotation.actions import do_accept_consent, do_finish_instructions, do_submit_answer
from annotation.models import Answer, Participant
from tests import services
from tests.annotation.factories import main_trials, make_running_study, right_choice

pytestmark = [
    services.requires_postgres(),
    services.may_restart_postgres(),
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
]


def restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        timeout=120,
    )
    for _ in range(60):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("PostgreSQL did not come back")


def post_answer(browser: requests.Session, base: str, slug: str, token: str) -> requests.Response:
    return browser.post(
        f"{base}/p/{slug}/answer/",
        data={"token": token, "choice": "left", "client_ms": "900"},
        headers={"X-CSRFToken": browser.cookies.get("csrftoken", ""), "Referer": f"{base}/p/{slug}/task/"},
        timeout=30,
    )


def test_an_answer_sent_after_postgres_restarts_is_stored_and_none_is_lost(live_server):
    study = make_running_study("pg-restart")
    browser = requests.Session()
    assert browser.get(f"{live_server.url}/p/{study.slug}/?pid=PID-RESTART", timeout=30).status_code == 200
    participant = do_finish_instructions(do_accept_consent(Participant.objects.get(panel_id="PID-RESTART")))
    for trial in participant.trials.filter(
        is_practice=True, position__lt=F("participant__n_practice")
    ).order_by("position"):
        do_submit_answer(participant, trial.token, right_choice(trial))
    assert browser.get(f"{live_server.url}/p/{study.slug}/task/", timeout=30).status_code == 200
    trials = main_trials(participant)

    first = post_answer(browser, live_server.url, study.slug, trials[0].token)
    assert first.status_code == 200
    restart_postgres()
    connection.close()  # this test's own connection died with the server

    second = post_answer(browser, live_server.url, study.slug, trials[1].token)
    assert second.status_code == 200, second.text[:500]
    answered = set(
        Answer.objects.filter(trial__participant=participant, trial__is_practice=False).values_list(
            "trial__position", flat=True
        )
    )
    assert answered == {0, 1}
    assert Participant.objects.get(pk=participant.pk).current_position == 2
