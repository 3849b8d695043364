"""Password guessing is throttled on /api/token/ and locked out on /admin/login/, with the
counters in storage every process shares (the database, or Redis through CACHE_URL)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from tests import services
from tests.conftest import RESEARCHER_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def token_rate() -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"].split("/")[0])


def test_wrong_passwords_on_the_token_endpoint_are_throttled(researcher):
    client = APIClient()
    statuses = [
        client.post("/api/token/", {"username": "researcher", "password": f"guess-{i}"}).status_code
        for i in range(token_rate() + 3)
    ]
    assert statuses[: token_rate()].count(429) == 0
    assert statuses[token_rate() :] == [429] * 3
    refused = client.post("/api/token/", {"username": "researcher", "password": RESEARCHER_PASSWORD})
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_the_right_password_still_gets_a_token_within_the_rate(researcher):
    response = APIClient().post("/api/token/", {"username": "researcher", "password": RESEARCHER_PASSWORD})
    assert response.status_code == 200 and len(response.json()["token"]) == 40


def test_the_admin_login_locks_an_address_out_after_repeated_failures(client, researcher):
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/admin/login/", {"username": "researcher", "password": f"guess-{i}"})
        assert response.status_code == 200 and b"Please enter the correct username" in response.content
    locked = client.post("/admin/login/", {"username": "researcher", "password": "last-guess"})
    assert locked.status_code == 429
    # Now even the right password is refused from this address until the cool-off ends.
    again = client.post("/admin/login/", {"username": "researcher", "password": RESEARCHER_PASSWORD})
    assert again.status_code == 429 and b"too many" in again.content.lower()
    assert "_auth_user_id" not in client.session


def test_a_successful_login_before_the_limit_resets_the_count(client, researcher):
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": "researcher", "password": f"guess-{i}"})
    ok = client.post("/admin/login/", {"username": "researcher", "password": RESEARCHER_PASSWORD})
    assert ok.status_code == 302
    client.logout()
    one_more = client.post("/admin/login/", {"username": "researcher", "password": "guess-x"})
    assert one_more.status_code == 200


def test_counters_are_shared_storage_not_process_memory():
    """Throttle and lockout counters must be visible to every gunicorn worker and web process."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.CACHE_URL:
        assert backend.endswith("RedisCache") and settings.AXES_HANDLER.endswith("AxesCacheHandler")
    else:
        assert settings.AXES_HANDLER.endswith("AxesDatabaseHandler")


@services.requires_redis()
def test_with_cache_url_the_token_throttle_counts_in_redis(researcher, settings):
    import redis

    url = services.redis_url()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    from django.core.cache import caches

    caches["default"].clear()
    try:
        APIClient().post("/api/token/", {"username": "researcher", "password": "guess"})
        keys = redis.Redis.from_url(url).keys("*throttle_token*")
        assert keys, "the token throttle did not write its counter to Redis"
    finally:
        caches["default"].clear()
