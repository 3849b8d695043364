"""Deploy checks and security headers."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

# Only what the README tells an operator to set; everything else takes its default.
PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "sketchq.example.org",
    "DATABASE_URL": "postgres://sketchq:secret@db.example.org:5432/sketchq",
}


def bare_environment() -> dict:
    """The process environment without any SketchQ or Django variable."""
    names = set(re.findall(r"^([A-Z_]+)=", (Path(settings.BASE_DIR) / ".env.example").read_text(), re.M))
    names |= {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {k: v for k, v in os.environ.items() if k not in names}


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**bare_environment(), **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_only_secret_key_allowed_hosts_and_database_url():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={**bare_environment(), **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
    "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
    "getattr(s, 'SECURE_PROXY_SSL_HEADER', None) is not None]))"
)


def test_https_defaults_are_on_when_debug_is_off():
    result = run_python(SHOW, PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, 31_536_000, True, True, True]


def test_allow_plain_http_opts_out_of_every_https_default():
    result = run_python(SHOW, {**PRODUCTION_ENV, "ALLOW_PLAIN_HTTP": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, 0, False, False, False]


@pytest.mark.parametrize(
    "key", ["abc", "x" * 60, "django-insecure-" + secrets.token_urlsafe(50), secrets.token_urlsafe(30)]
)
def test_a_weak_secret_key_stops_start_up_when_debug_is_off(key):
    result = run_python("import django; django.setup()", {**PRODUCTION_ENV, "SECRET_KEY": key})
    assert result.returncode != 0 and "SECRET_KEY is too weak" in result.stderr


def test_the_health_check_is_not_redirected_to_https():
    result = run_python(
        "import django; django.setup(); from django.test import Client; "
        "print(Client(SERVER_NAME='sketchq.example.org').get('/healthz/').status_code, "
        "Client(SERVER_NAME='sketchq.example.org').get('/admin/login/').status_code)",
        {**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///:memory:"},
    )
    healthz, admin = result.stdout.split()[-2:]
    assert admin == "301" and healthz != "301", result.stdout + result.stderr


@pytest.mark.django_db
def test_responses_carry_the_security_headers(client):
    response = client.get("/admin/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
