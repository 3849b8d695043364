"""The participant persona for the API permission matrix.

Participants never have accounts: what a participant's browser holds is a signed cookie
naming its participant, exactly as /p/<slug>/ sets it. The matrix sends that cookie.
(tests/annotation covers how a real entry creates it.)
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotation import identity


@pytest.fixture
def participant_client(db):
    client = Client()
    client.cookies[identity.cookie_name("some-study")] = identity.participant_cookie_value("some-study", 1)
    return client


@pytest.fixture
def users(researcher, other_researcher, no_permissions_user, view_only_user):
    """The signed-in personas of the matrix."""
    return {
        "researcher": researcher,
        "other_researcher": other_researcher,
        "no_permissions": no_permissions_user,
        "view_only_shared": view_only_user,
    }


@pytest.fixture
def api(researcher):
    """An API client authenticated as the researcher."""
    client = APIClient()
    client.force_authenticate(researcher)
    return client


@pytest.fixture
def no_permissions_user(db):
    """Staff (may sign in to the admin) but granted no model permission."""
    from django.contrib.auth.models import User

    return User.objects.create_user("noperms", "noperms@example.org", "noperms-password-1", is_staff=True)


@pytest.fixture
def view_only_user(db):
    """Staff with only the research apps' ``view_*`` permissions; worlds share their studies with it."""
    from django.contrib.auth.models import Permission, User

    from tests.factories import RESEARCHER_APPS

    user = User.objects.create_user("viewer", "viewer@example.org", "viewer-password-1", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=RESEARCHER_APPS, codename__startswith="view_")
    )
    return user
