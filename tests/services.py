"""Which real services this test run has, and markers that skip (or fail) without them.

Tests that exist to check PostgreSQL, Redis or a Celery worker use the real thing.
``make test`` finds them on 127.0.0.1 by itself (``tests/with_services.py``); where one is
missing the test is skipped with the exact reason (unset, not PostgreSQL, not answering...).
CI sets SKETCHQ_REQUIRE_SERVICES=1 so that a missing service fails the run instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

REQUIRE = os.environ.get("SKETCHQ_REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def _found_missing(service: str) -> str | None:
    """What ``make test`` found missing for ``service`` (tests/with_services.py), if it looked."""
    return json.loads(os.environ.get("SKETCHQ_SERVICES_MISSING") or "{}").get(service)


def has_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def postgres_missing() -> str:
    """Why this run has no PostgreSQL, in words."""
    found = _found_missing("postgres")
    if found:
        return f"PostgreSQL: {found}"
    if not os.environ.get("DATABASE_URL"):
        return (
            "PostgreSQL: DATABASE_URL is unset, so the tests run on SQLite (`make test` finds 127.0.0.1:5432)"
        )
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"PostgreSQL: DATABASE_URL points at {engine}, not PostgreSQL"


def redis_url() -> str:
    return os.environ.get("CELERY_BROKER_URL", "")


def has_redis() -> bool:
    url = redis_url()
    return url.startswith("redis://") and _reachable(url, 6379)


def redis_missing() -> str:
    """Why this run has no Redis, in words."""
    found = _found_missing("redis")
    if found:
        return f"Redis: {found}"
    url = redis_url()
    if not url:
        return "Redis: CELERY_BROKER_URL is unset (`make test` finds 127.0.0.1:6379)"
    if not url.startswith("redis://"):
        return f"Redis: CELERY_BROKER_URL is {urlparse(url).scheme}://..., not redis://"
    parsed = urlparse(url)
    return f"Redis: nothing answers at {parsed.hostname}:{parsed.port or 6379} (CELERY_BROKER_URL)"


def has_chromium() -> bool:
    return shutil.which("chromium") is not None


def _need(available: bool, missing: str):
    if available:
        return pytest.mark.skipif(False, reason="available")
    if REQUIRE:
        return pytest.mark.usefixtures("_fail_missing_service")
    return pytest.mark.skip(reason=missing)


def requires_postgres():
    return _need(has_postgres(), postgres_missing() if not has_postgres() else "")


def requires_redis():
    return _need(has_redis(), redis_missing() if not has_redis() else "")


def requires_chromium():
    return _need(has_chromium(), "Chromium: no `chromium` on PATH (Debian: apt-get install chromium)")


def may_restart_postgres():
    """The fault test that restarts the local PostgreSQL cluster runs only where that is wanted:
    CI, or a developer who sets SKETCHQ_RESTART_SERVICES=1 (``make test`` finds a developer's own
    PostgreSQL, which it must not restart uninvited)."""
    allowed = os.environ.get("SKETCHQ_RESTART_SERVICES") == "1"
    return pytest.mark.skipif(
        not allowed,
        reason="restarts the local PostgreSQL cluster: set SKETCHQ_RESTART_SERVICES=1 to allow it (CI does)",
    )
