"""``make test``: find PostgreSQL and Redis on 127.0.0.1, then run pytest against them.

Run as ``python -m tests.with_services [pytest arguments]``. Variables already set are kept
(CI sets ``DATABASE_URL`` and ``CELERY_BROKER_URL`` itself). Otherwise:

- PostgreSQL: if ``127.0.0.1:5432`` accepts a login (user ``$PGUSER`` or ``postgres``,
  password ``$PGPASSWORD`` if set), ``DATABASE_URL`` names a throwaway database
  ``sketchq_make_test_<random>``; pytest-django creates ``test_<that name>`` and drops it at
  the end, so nothing of the developer's data is read or written.
- Redis: if ``127.0.0.1:6379`` answers PING, ``CELERY_BROKER_URL`` is
  ``redis://127.0.0.1:6379/15`` (``SKETCHQ_TEST_REDIS_DB`` overrides 15): not DB 0, where a
  development worker would take the test run's tasks.

What was not found is passed on in ``SKETCHQ_SERVICES_MISSING`` so that a skipped test says
exactly why (``tests/services.py``).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from urllib.parse import quote

HOST = "127.0.0.1"
PG_PORT, REDIS_PORT = 5432, 6379
DEFAULT_REDIS_DB = 15


def find_postgres(env: dict[str, str]) -> tuple[str | None, str]:
    """(a DATABASE_URL for a throwaway database, or None; what was found)."""
    import psycopg

    user = env.get("PGUSER") or "postgres"
    password = env.get("PGPASSWORD") or ""
    try:
        psycopg.connect(
            host=HOST,
            port=PG_PORT,
            user=user,
            password=password or None,
            dbname="postgres",
            connect_timeout=2,
        ).close()
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"no PostgreSQL login as {user!r} on {HOST}:{PG_PORT} ({first_line}); set DATABASE_URL"
    auth = quote(user) + (f":{quote(password)}" if password else "")
    name = f"sketchq_make_test_{secrets.token_hex(4)}"
    return (
        f"postgres://{auth}@{HOST}:{PG_PORT}/{name}",
        f"PostgreSQL on {HOST}:{PG_PORT} (database test_{name})",
    )


def find_redis(env: dict[str, str]) -> tuple[str | None, str]:
    """(a CELERY_BROKER_URL on a test-only DB number, or None; what was found)."""
    db = env.get("SKETCHQ_TEST_REDIS_DB") or str(DEFAULT_REDIS_DB)
    try:
        with socket.create_connection((HOST, REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as error:
        return (
            None,
            f"nothing answers on {HOST}:{REDIS_PORT} ({error.strerror or error}); set CELERY_BROKER_URL",
        )
    if not reply.startswith(b"+PONG"):
        return None, f"{HOST}:{REDIS_PORT} answered {reply[:40]!r} to PING, not Redis; set CELERY_BROKER_URL"
    return f"redis://{HOST}:{REDIS_PORT}/{db}", f"Redis on {HOST}:{REDIS_PORT} (DB {db})"


def prepare(env: dict[str, str]) -> list[str]:
    """Fill in DATABASE_URL / CELERY_BROKER_URL in ``env`` where unset; return what it says."""
    said, missing = [], {}
    for variable, service, find in (
        ("DATABASE_URL", "postgres", find_postgres),
        ("CELERY_BROKER_URL", "redis", find_redis),
    ):
        if env.get(variable):
            said.append(f"{variable} is set: keeping it")
            continue
        url, what = find(env)
        if url:
            env[variable] = url
            said.append(f"using {what}")
        else:
            missing[service] = what
            said.append(f"{service}: {what}")
    if missing:
        env["SKETCHQ_SERVICES_MISSING"] = json.dumps(missing)
    return said


def main(argv: list[str]) -> None:
    env = dict(os.environ)
    for line in prepare(env):
        print(f"make test: {line}", flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "pytest", *argv], env)


if __name__ == "__main__":
    main(sys.argv[1:])
