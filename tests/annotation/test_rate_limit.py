"""Participant rate limits: per participant once entered, per client address before; the
address is the forwarded one only behind a trusted proxy."""

import time

import pytest
from django.test import Client, RequestFactory

from annotation.models import Answer, Participant, RefusedSubmission
from config.client_address import client_address
from tests import services
from tests.annotation.factories import at_trials, main_trials, make_running_study

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.7"


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_a_participant_who_floods_the_pages_is_told_to_wait_and_nothing_else_runs(client, settings):
    settings.SKETCHQ_PARTICIPANT_RATE = "3/min"
    study = make_running_study("rate-limited")
    url = f"/p/{study.slug}/?pid=FLOOD"
    first = client.get(url)  # no cookie yet: counted by address; the entry sets one
    assert first.status_code == 302
    assert all(client.get(f"/p/{study.slug}/task/").status_code == 200 for _ in range(3))
    flooded = client.post(f"/p/{study.slug}/consent/", {"decision": "accept"})
    assert flooded.status_code == 429 and 1 <= int(flooded["Retry-After"]) <= 61
    page = flooded.content.decode()
    assert "Please wait" in page and f'url=/p/{study.slug}/task/"' in page  # goes back by itself
    assert Participant.objects.get(panel_id="FLOOD").status == "consenting"  # the post did not run


def test_the_limit_counts_each_participant_separately(client, settings):
    settings.SKETCHQ_PARTICIPANT_RATE = "2/min"
    study = make_running_study("rate-per-participant")
    client.get(f"/p/{study.slug}/?pid=A")
    assert client.get(f"/p/{study.slug}/task/").status_code == 200
    assert client.get(f"/p/{study.slug}/task/").status_code == 200
    assert client.get(f"/p/{study.slug}/task/").status_code == 429
    other = Client()  # a new browser: its own participant, its own count
    assert other.get(f"/p/{study.slug}/?pid=B").status_code == 302
    assert other.get(f"/p/{study.slug}/task/").status_code == 200


def test_answers_count_in_the_participant_row_and_a_flood_of_them_is_told_to_wait(
    client, settings, monkeypatch
):
    """Accepted, replayed and refused answers all count; the one over the rate stores and logs
    nothing and gets the same "please wait" 429 as any page. No answer asks the cache."""
    from annotation import ratelimit

    settings.SKETCHQ_PARTICIPANT_RATE = "3/min"
    study = make_running_study("rate-answers")
    participant = at_trials(study)
    assert client.get(f"/p/{study.slug}/?pid={participant.panel_id}").status_code == 302
    first, second = main_trials(participant)[:2]

    def no_cache(*args):
        raise AssertionError("an answer went to the cache's counter")

    monkeypatch.setattr(ratelimit, "count", no_cache)
    url, htmx = f"/p/{study.slug}/answer/", {"HTTP_HX_REQUEST": "true"}
    time = _early_in_a_minute(monkeypatch)
    assert client.post(url, {"token": first.token, "choice": "left"}, **htmx).status_code == 200  # stored
    assert client.post(url, {"token": first.token, "choice": "left"}, **htmx).status_code == 200  # replayed
    refused_before = RefusedSubmission.objects.count()
    assert (
        client.post(url, {"token": "no-such-token", "choice": "left"}, **htmx).status_code == 200
    )  # refused
    assert RefusedSubmission.objects.count() == refused_before + 1
    flooded = client.post(url, {"token": second.token, "choice": "left"}, **htmx)
    assert flooded.status_code == 429 and flooded["Retry-After"] == str(int(60 - time % 60) + 1)
    assert "Please wait" in flooded.content.decode()
    assert not Answer.objects.filter(trial=second).exists()  # nothing stored, nothing logged
    assert RefusedSubmission.objects.count() == refused_before + 1
    participant.refresh_from_db()
    assert (participant.answer_window, participant.answers_in_window) == (int(time // 60) * 60, 3)
    assert participant.current_position == 1

    time = _early_in_a_minute(monkeypatch, minutes_later=1)  # the next window: answering again
    assert client.post(url, {"token": second.token, "choice": "left"}, **htmx).status_code == 200
    assert Answer.objects.filter(trial=second).exists()
    participant.refresh_from_db()
    assert (participant.answer_window, participant.answers_in_window) == (int(time // 60) * 60, 1)


def _early_in_a_minute(monkeypatch, minutes_later: int = 0) -> float:
    """Make the answer path's clock read a few seconds into a fixed minute (no window rolls over
    mid-test); the Unix time it reads."""
    import datetime as dt

    from django.utils import timezone

    at = (int(time.time() // 60) + 10 + minutes_later) * 60 + 5.25
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime.fromtimestamp(at, dt.UTC))
    return at


def test_answers_and_the_other_pages_each_have_the_whole_rate(client, settings):
    settings.SKETCHQ_PARTICIPANT_RATE = "2/min"
    study = make_running_study("rate-answers-and-pages")
    participant = at_trials(study)
    client.get(f"/p/{study.slug}/?pid={participant.panel_id}")
    trials = main_trials(participant)
    assert [client.get(f"/p/{study.slug}/task/").status_code for _ in range(3)] == [200, 200, 429]
    statuses = [
        client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": "left"}).status_code
        for trial in trials[:3]
    ]
    assert statuses == [303, 303, 429]
    assert client.get(f"/p/{study.slug}/task/").status_code == 429  # the pages' window is still spent


def test_an_answer_without_a_participant_cookie_counts_against_its_address(client, settings):
    study = make_running_study("rate-answer-no-cookie")
    limit = int(settings.SKETCHQ_ENTRY_RATE.split("/")[0])
    statuses = [
        client.post(f"/p/{study.slug}/answer/", {"token": "t", "choice": "left"}).status_code
        for _ in range(limit + 2)
    ]
    assert statuses.count(429) == 2 and statuses[-2:] == [429, 429]


@pytest.mark.parametrize(
    ("loaded", "now", "expected", "after"),
    [
        ((0, 0), 125.5, 0, (120, 1)),  # the first answer opens a window
        ((120, 1), 179.9, 0, (120, 2)),
        ((120, 3), 150.2, 30, (120, 3)),  # over the rate: counts nothing, waits out the window
        ((120, 3), 180.0, 0, (180, 1)),  # a new window
        ((60, 3), 130.0, 0, (120, 1)),  # a stale window counts nothing against this one
    ],
)
def test_the_row_counter_is_a_fixed_window(loaded, now, expected, after):
    from annotation import ratelimit

    row = Participant(answer_window=loaded[0], answers_in_window=loaded[1])
    assert ratelimit.count_answer(row, "3/min", now) == expected
    assert (row.answer_window, row.answers_in_window) == after


def test_a_prolific_launch_of_500_people_in_a_minute_behind_the_proxy_gets_through(settings):
    settings.SKETCHQ_TRUSTED_PROXIES = [PROXY]
    study = make_running_study("launch-500", target_participants=1000)
    # Someone hammering the link from one address only spends that address's allowance.
    flooder = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.66")
    limit = int(settings.SKETCHQ_ENTRY_RATE.split("/")[0])
    statuses = [flooder.get(f"/p/{study.slug}/").status_code for _ in range(limit + 5)]
    assert statuses.count(429) == 5
    for i in range(500):
        # each from its own network, as a real launch is (the entry cap counts per /24 network)
        newcomer = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"203.{i // 250}.{i % 250}.9")
        response = newcomer.get(f"/p/{study.slug}/?PROLIFIC_PID=launch-{i:03d}&STUDY_ID=S&SESSION_ID=s{i}")
        assert response.status_code == 302, (i, response.status_code)
    assert Participant.objects.filter(study=study).count() == 500


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR="203.0.113.5")
    settings.SKETCHQ_TRUSTED_PROXIES = []
    assert client_address(request) == "192.0.2.9"
    settings.SKETCHQ_TRUSTED_PROXIES = [PROXY]  # a proxy is trusted, but this request did not come from it
    assert client_address(request) == "192.0.2.9"


def test_behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client(settings):
    settings.SKETCHQ_TRUSTED_PROXIES = ["10.0.0.0/24", "172.28.0.0/16"]
    forged_then_real = "1.2.3.4, 203.0.113.5, 172.28.0.3"  # client-sent, then what the two proxies saw
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR=forged_then_real)
    assert client_address(request) == "203.0.113.5"
    garbage = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_address(garbage) == "10.0.0.7"


@services.requires_redis()
def test_on_redis_a_count_is_one_atomic_command_and_the_counter_goes_with_its_window(settings):
    """Two web processes (two cache clients) share one counter; it carries its window's expiry
    from the first request on, and each count is a single command (one round trip)."""
    import redis
    from django.core.cache.backends.redis import RedisCache

    from annotation import ratelimit

    url = services.redis_url()
    server = redis.Redis.from_url(url)
    processes = [RedisCache(url, {}) for _ in range(2)]
    key = "ratelimit:participant:test-atomic:1"
    raw_key = processes[0].make_key(key)
    server.delete(raw_key)
    before = server.info("commandstats")
    for n in range(1, 7):
        with settings_cache(settings, processes[n % 2]):
            assert ratelimit.count(key, 60) == n
        assert 0 < server.ttl(raw_key) <= 61
    after = server.info("commandstats")
    incr_calls = after.get("cmdstat_incr", {}).get("calls", 0) - before.get("cmdstat_incr", {}).get(
        "calls", 0
    )
    evalsha = after.get("cmdstat_evalsha", {}).get("calls", 0) - before.get("cmdstat_evalsha", {}).get(
        "calls", 0
    )
    assert evalsha >= 6 and incr_calls >= 6  # the INCR runs inside the script, one EVALSHA per count
    server.delete(raw_key)


class settings_cache:
    """Make ``caches["default"]`` this backend for the block (a stand-in for one web process)."""

    def __init__(self, settings, backend):
        self.backend = backend

    def __enter__(self):
        from django.core.cache import caches

        self.previous = caches["default"]
        caches["default"] = self.backend

    def __exit__(self, *exc):
        from django.core.cache import caches

        caches["default"] = self.previous
