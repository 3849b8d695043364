"""Fixtures for the analysis tests: one answered study per module (rolled back after it)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction

from tests.analysis.factories import answered_study


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Pages cache results by the study's answer fingerprint; ids repeat across tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def answered(django_db_setup, django_db_blocker):
    """(study, workers) shared by a module's read-only tests; owned by user "owner"."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = User.objects.create_user("owner", "owner@example.org", "owner-password-1", is_staff=True)
        from tests.factories import grant_researcher_permissions

        grant_researcher_permissions(owner)
        study, workers = answered_study(owner=owner)
        yield study, workers
        transaction.set_rollback(True)
