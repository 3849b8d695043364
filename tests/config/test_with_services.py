"""`make test` finds PostgreSQL and Redis on 127.0.0.1 by itself, and a skip says exactly what is missing."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlparse

import pytest

from tests import services, with_services


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_variables_that_are_set_are_kept_as_ci_sets_them():
    env = {"DATABASE_URL": "postgres://ci@db/x", "CELERY_BROKER_URL": "redis://broker:6379/0"}
    said = with_services.prepare(env)
    assert env == {"DATABASE_URL": "postgres://ci@db/x", "CELERY_BROKER_URL": "redis://broker:6379/0"}
    assert said == ["DATABASE_URL is set: keeping it", "CELERY_BROKER_URL is set: keeping it"]


def test_a_local_postgres_gives_a_new_throwaway_database_each_run():
    url, what = with_services.find_postgres({})
    if url is None:
        pytest.skip(f"this machine has no local PostgreSQL login: {what}")
    again, _ = with_services.find_postgres({})
    names = [urlparse(u).path.lstrip("/") for u in (url, again)]
    assert all(n.startswith("sketchq_make_test_") for n in names) and names[0] != names[1]
    assert urlparse(url).hostname == "127.0.0.1" and f"test_{names[0]}" in what


def test_a_refused_postgres_login_says_who_and_where(monkeypatch):
    url, what = with_services.find_postgres({"PGUSER": "no_such_role_h7", "PGPASSWORD": "x"})
    if url is not None:
        pytest.skip("this PostgreSQL accepts any role")
    assert "no PostgreSQL login as 'no_such_role_h7' on 127.0.0.1:5432" in what
    assert what.endswith("set DATABASE_URL")


def test_a_local_redis_gets_a_test_only_db_number_not_db_0(monkeypatch):
    url, what = with_services.find_redis({})
    if url is None:
        pytest.skip(f"this machine has no local Redis: {what}")
    assert url == "redis://127.0.0.1:6379/15" and "DB 15" in what
    assert with_services.find_redis({"SKETCHQ_TEST_REDIS_DB": "9"})[0] == "redis://127.0.0.1:6379/9"


def test_a_silent_redis_port_is_named_in_the_reason_and_passed_to_the_skips(monkeypatch):
    port = closed_port()
    monkeypatch.setattr(with_services, "REDIS_PORT", port)
    env: dict[str, str] = {"DATABASE_URL": "sqlite:///x"}
    with_services.prepare(env)
    assert "CELERY_BROKER_URL" not in env
    reason = json.loads(env["SKETCHQ_SERVICES_MISSING"])["redis"]
    assert f"nothing answers on 127.0.0.1:{port}" in reason and reason.endswith("set CELERY_BROKER_URL")
    monkeypatch.setenv("SKETCHQ_SERVICES_MISSING", env["SKETCHQ_SERVICES_MISSING"])
    assert services.redis_missing() == f"Redis: {reason}"


def test_a_skip_without_make_test_says_the_variable_is_unset_not_that_the_service_is_missing(monkeypatch):
    monkeypatch.delenv("SKETCHQ_SERVICES_MISSING", raising=False)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    assert services.redis_missing() == "Redis: CELERY_BROKER_URL is unset (`make test` finds 127.0.0.1:6379)"
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/3")
    assert services.redis_missing().startswith("Redis: nothing answers at 127.0.0.1:")
    if not services.has_postgres():
        monkeypatch.delenv("DATABASE_URL", raising=False)
        assert "DATABASE_URL is unset" in services.postgres_missing()
