"""Settings for pytest: the real settings, with a random secret key per run.

Tests run with production-like settings (DEBUG off), so they need a secret key;
a random one per run, never a fixed fallback.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(40))
# Playwright's sync API runs an event loop in the test thread; the ORM calls in
# browser tests are still synchronous, so Django's async guard must be relaxed.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The test client and live servers speak plain HTTP: opt out of the HTTPS defaults, exactly as a
# private plain-HTTP deployment would (tests/config/test_security.py checks the defaults).
os.environ.setdefault("ALLOW_PLAIN_HTTP", "1")

from config.settings import *  # noqa: E402,F403

# Fast hashing: the persona fixtures create users with passwords in every test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The participant rate limit has its own test (tests/annotation/test_rate_limit.py); elsewhere
# replay storms and simulated crowds must not trip it.
SKETCHQ_PARTICIPANT_RATE = "1000000/min"
