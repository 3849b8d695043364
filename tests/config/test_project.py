"""Project-level checks: migrations, settings, the compose file."""

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests import services

ROOT = Path(settings.BASE_DIR)


@pytest.mark.django_db
def test_there_are_no_pending_migrations():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}")


def run_settings(env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    result = run_settings({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_settings_name_a_malformed_variable():
    result = run_settings({"DEBUG": "maybe", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0 and "DEBUG must be a boolean" in result.stderr


def test_settings_start_in_debug_without_a_secret_key():
    assert run_settings({"DEBUG": "1"}).returncode == 0


def test_tasks_run_in_process_without_a_broker():
    if os.environ.get("CELERY_BROKER_URL"):
        assert settings.CELERY_TASK_ALWAYS_EAGER is False
    else:
        assert settings.CELERY_TASK_ALWAYS_EAGER is True


def test_env_example_documents_every_variable_the_settings_read():
    source = (ROOT / "config" / "settings.py").read_text()
    documented = (ROOT / ".env.example").read_text()
    import re

    read = set(re.findall(r'env_(?:bool|int|list)\("([A-Z_]+)"', source))
    read |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    missing = sorted(name for name in read if f"{name}=" not in documented)
    assert not missing, f".env.example does not document {missing}"


def test_the_compose_file_is_valid_and_defines_the_five_services():
    import yaml  # PyYAML comes with the dev requirements (through schemathesis)

    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"db", "broker", "web", "worker", "worker-gpu"} <= set(spec["services"])
    for name in ("db", "broker", "web", "worker", "worker-gpu"):
        assert "healthcheck" in spec["services"][name], name
    assert spec["services"]["db"]["image"].startswith("postgres:16")
    assert spec["services"]["broker"]["image"].startswith("redis:7")
    assert "-Q gpu" in spec["services"]["worker-gpu"]["command"]
    devices = spec["services"]["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert "gunicorn" in spec["services"]["web"]["command"]
    for name in ("web", "worker", "worker-gpu"):  # throttles and lockouts shared across processes
        assert spec["services"][name]["environment"]["CACHE_URL"].startswith("redis://broker:6379/")


@pytest.mark.skipif(
    shutil.which("docker-compose") is None and not services.REQUIRE, reason="docker-compose is not installed"
)
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={**os.environ, "POSTGRES_PASSWORD": "check", "SECRET_KEY": "check"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_healthz_reports_the_database(client):
    response = client.get("/healthz/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_admin_index_follows_the_workflow(admin_client):
    import re

    page = admin_client.get("/admin/").content.decode()
    apps = re.findall(r'<caption>\s*<a href="/admin/(\w+)/"', page)
    research = [a for a in apps if a in ("sketches", "scoring", "studies", "annotation", "analysis")]
    assert research == ["sketches", "scoring", "studies", "annotation", "analysis"]
