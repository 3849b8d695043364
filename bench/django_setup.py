"""Set Django up for a benchmark on a throw-away database.

Default: a fresh SQLite file in a temp folder. With BENCH_DATABASE_URL set (e.g. a
PostgreSQL database you may drop), that is used instead.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PARTICIPANT_THROTTLE", "1000000/min")  # benches measure speed, not the limit
    os.environ.setdefault("PARTICIPANT_ENTRY_THROTTLE", "1000000/min")  # hundreds enter from one address
    os.environ.setdefault("ALLOW_PLAIN_HTTP", "1")  # plain HTTP on loopback, no TLS redirect
    os.environ.pop("CELERY_BROKER_URL", None)
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='sketchq-bench-')}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
