"""The participant persona for the API permission matrix.

Participants never have accounts: what a participant's browser holds is a session that
names its participant, exactly as /p/<slug>/ stores it. The matrix sends that cookie.
(tests/annotation covers how a real entry creates it.)
"""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from rest_framework.test import APIClient

from annotation.views import SESSION_PREFIX


@pytest.fixture
def participant_client(db):
    session = SessionStore()
    session[f"{SESSION_PREFIX}some-study"] = 1
    session.save()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


@pytest.fixture
def users(researcher, other_researcher):
    """The signed-in personas of the matrix."""
    return {"researcher": researcher, "other_researcher": other_researcher}


@pytest.fixture
def api(researcher):
    """An API client authenticated as the researcher."""
    client = APIClient()
    client.force_authenticate(researcher)
    return client
