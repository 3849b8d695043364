"""Scale-out: two gunicorn instances on different ports, one PostgreSQL, one Redis.

Nothing a participant needs lives in a web process: the participant cookie is signed with the
shared secret key, the state is in PostgreSQL, and the rate-limit counters are in Redis (pages)
and in the participant row (answers). A participant whose requests alternate between the
instances (as behind a round-robin proxy) gets every answer stored once, in order, and one
shared rate limit for their answers and one for their other pages.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection

from annotation.models import Answer, Participant, ParticipantStatus
from tests import services
from tests.annotation.factories import make_running_study, unbiased_choice

pytestmark = [
    services.requires_postgres(),
    services.requires_redis(),
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r'name="token" value="([\w-]+)"')
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
RATE = 120  # per participant and hour: the flow below stays under it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def two_instances():
    cache_url = services.redis_url()
    redis.Redis.from_url(cache_url).flushdb()  # this run's database number only
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "CACHE_URL": cache_url,
        "CELERY_BROKER_URL": "",
        "SECRET_KEY": secrets.token_urlsafe(40),  # the same for both, as in any deployment
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PARTICIPANT_THROTTLE": f"{RATE}/hour",
    }
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1"]
            + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    try:
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.2)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


def test_a_participant_alternating_between_two_instances_has_every_answer_stored_once_in_order(
    two_instances,
):
    if time.time() % 3600 > 3540:  # keep the hourly rate window from rolling over mid-test
        time.sleep(3600 - time.time() % 3600 + 1)
    study = make_running_study("scale-out")
    browser = requests.Session()  # cookies ignore ports: one browser for both instances
    sent = 0
    counted = {"pages": 0, "answers": 0}  # the participant's two rate limits

    def call(method, path, **kwargs):
        nonlocal sent
        base = two_instances[sent % 2]
        sent += 1
        counted["answers" if path.endswith("/answer/") else "pages"] += 1
        return browser.request(method, base + path, timeout=30, allow_redirects=False, **kwargs)

    entry = call("GET", f"/p/{study.slug}/?PROLIFIC_PID=SCALE-1")
    assert entry.status_code == 302
    sent, counted["pages"] = 0, 0  # the entry counted against the address; from here on, the participant
    page = call("GET", f"/p/{study.slug}/task/").text
    headers = {"X-CSRFToken": CSRF.search(page).group(1), "HX-Request": "true"}
    call("POST", f"/p/{study.slug}/consent/", data={"decision": "accept"}, headers=headers)
    page = call("POST", f"/p/{study.slug}/instructions/", data={}, headers=headers).text
    participant = Participant.objects.get(study=study, panel_id="SCALE-1")
    trials = {t.token: t for t in participant.trials.select_related("gold_pair")}
    answered = []
    while (found := TOKEN.search(page)) is not None:
        trial = trials[found.group(1)]
        data = {"token": trial.token, "choice": unbiased_choice(trial)}
        first = call("POST", f"/p/{study.slug}/answer/", data=data, headers=headers)
        again = call("POST", f"/p/{study.slug}/answer/", data=data, headers=headers)  # the other one
        assert first.status_code == again.status_code == 200
        answered.append(trial)
        page = again.text
        if 'data-step="feedback"' in page:
            page = call("GET", f"/p/{study.slug}/task/", headers=headers).text
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    stored = list(Answer.objects.filter(trial__participant=participant).order_by("pk"))
    assert len(stored) == len(answered) == participant.n_practice + participant.n_trials
    assert [a.trial_id for a in stored] == [t.pk for t in answered]  # once each, in order
    order = [(a.trial.is_practice, a.trial.position) for a in stored]
    practice = [(True, i) for i in range(participant.n_practice)]
    assert order == practice + [(False, i) for i in range(participant.n_trials)]

    # One rate limit for the participant's pages (in Redis) and one for their answers (in their row),
    # whichever instance counts them.
    assert counted["pages"] < RATE and counted["answers"] < RATE
    statuses = [call("GET", f"/p/{study.slug}/task/").status_code for _ in range(RATE - counted["pages"] + 2)]
    assert statuses.count(429) == 2 and statuses[-2:] == [429, 429]
    data = {"token": answered[-1].token, "choice": unbiased_choice(answered[-1])}  # a replay, counted too
    replays = [
        call("POST", f"/p/{study.slug}/answer/", data=data, headers=headers)
        for _ in range(RATE - counted["answers"] + 2)
    ]
    assert [r.status_code for r in replays].count(429) == 2 and replays[-1].status_code == 429
    assert 1 <= int(replays[-1].headers["Retry-After"]) <= 3601
    assert Answer.objects.filter(trial__participant=participant).count() == len(answered)
