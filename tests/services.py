"""Which real services this test run has, and markers that skip (or fail) without them.

Tests that exist to check PostgreSQL, Redis or a Celery worker use the real thing.
On a laptop without them they are skipped; CI sets SKETCHQ_REQUIRE_SERVICES=1 so
that a missing service fails the run instead of silently skipping.
"""

from __future__ import annotations

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


def has_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def redis_url() -> str:
    return os.environ.get("CELERY_BROKER_URL", "")


def has_redis() -> bool:
    url = redis_url()
    return url.startswith("redis://") and _reachable(url, 6379)


def has_chromium() -> bool:
    return shutil.which("chromium") is not None


def _need(available: bool, what: str):
    if available:
        return pytest.mark.skipif(False, reason=f"{what} is available")
    if REQUIRE:
        return pytest.mark.usefixtures("_fail_missing_service")
    return pytest.mark.skip(reason=f"{what} is not available here")


def requires_postgres():
    return _need(has_postgres(), "PostgreSQL (set DATABASE_URL)")


def requires_redis():
    return _need(has_redis(), "Redis (set CELERY_BROKER_URL)")


def requires_chromium():
    return _need(has_chromium(), "Debian's chromium")
