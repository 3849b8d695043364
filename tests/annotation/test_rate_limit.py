import pytest

from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_a_participant_who_floods_the_pages_gets_429_and_nothing_else_runs(client, settings):
    settings.SKETCHQ_PARTICIPANT_RATE = "3/min"
    study = make_running_study("rate-limited")
    url = f"/p/{study.slug}/?pid=FLOOD"
    first = client.get(url)  # no session yet: counted by address; the entry starts one
    assert first.status_code == 302
    assert all(client.get(url).status_code != 429 for _ in range(3))  # 3 per session
    flooded = client.get(url)
    assert flooded.status_code == 429 and flooded["Retry-After"] == "60"
    assert "slow down" in flooded.content.decode()


def test_the_limit_counts_each_session_separately(client, settings):
    from django.test import Client

    settings.SKETCHQ_PARTICIPANT_RATE = "2/min"
    study = make_running_study("rate-per-session")
    first = client
    first.get(f"/p/{study.slug}/?pid=A")  # no session yet: counted by address
    assert first.get(f"/p/{study.slug}/task/").status_code == 200
    assert first.get(f"/p/{study.slug}/task/").status_code == 200
    assert first.get(f"/p/{study.slug}/task/").status_code == 429
    other = Client()  # a new browser: its own session, its own count
    assert other.get(f"/p/{study.slug}/?pid=B").status_code == 302
    assert other.get(f"/p/{study.slug}/task/").status_code == 200
