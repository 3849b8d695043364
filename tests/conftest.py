"""Shared fixtures: the three personas, real sketches, and service checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

from tests import services

# One browser harness (a session-wide Chromium) for every test folder that drives pages.
pytest_plugins = ["tests.browser.harness", "tests.celery_workers"]

SAMPLE_DIR = Path(settings.BASE_DIR) / "sketches" / "fixtures" / "quickdraw_sample"
RESEARCHER_PASSWORD = "researcher-password-1"


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Unit tests run Celery tasks in-process even when CI sets a broker.

    Tests marked ``real_celery`` talk to a real worker through Redis instead.
    """
    if request.node.get_closest_marker("real_celery"):
        yield
        return
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def _fail_missing_service():
    pytest.fail("a required service is missing and SKETCHQ_REQUIRE_SERVICES=1")


@pytest.fixture
def shared_data_dir() -> Path:
    """The shared Quick, Draw! corpus (../shared/data/quickdraw)."""
    path = Path(settings.SKETCHQ_DATA_DIR)
    if not path.is_dir():
        if services.REQUIRE:
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture
def sample_dir() -> Path:
    """A small real sample kept in the repo (first 60 sketches of 5 categories)."""
    return SAMPLE_DIR


@pytest.fixture
def researcher(db) -> User:
    user = User.objects.create_user(
        "researcher", "researcher@example.org", RESEARCHER_PASSWORD, is_staff=True
    )
    group, _ = Group.objects.get_or_create(name="researchers")
    user.groups.add(group)
    from tests.factories import grant_researcher_permissions

    grant_researcher_permissions(user)
    return user


@pytest.fixture
def other_researcher(db) -> User:
    user = User.objects.create_user("other", "other@example.org", RESEARCHER_PASSWORD, is_staff=True)
    from tests.factories import grant_researcher_permissions

    grant_researcher_permissions(user)
    return user


@pytest.fixture
def outsider(db) -> User:
    """Signed in, but neither staff nor researcher."""
    return User.objects.create_user("outsider", "outsider@example.org", "outsider-password-1")


@pytest.fixture
def researcher_client(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def imported_sample(db, sample_dir):
    """The in-repo sample imported through the real import path."""
    from sketches.actions import do_import_path

    reports = [do_import_path(path) for path in sorted(sample_dir.glob("*.ndjson"))]
    assert all(r.ok for r in reports), [r.errors for r in reports]
    return reports
