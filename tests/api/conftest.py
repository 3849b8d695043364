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
def users(researcher, other_researcher):
    """The signed-in personas of the matrix."""
    return {"researcher": researcher, "other_researcher": other_researcher}


@pytest.fixture
def api(researcher):
    """An API client authenticated as the researcher."""
    client = APIClient()
    client.force_authenticate(researcher)
    return client
