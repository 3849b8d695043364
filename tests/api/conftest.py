"""The participant persona for the API permission matrix.

Participants never have accounts: what a participant's browser holds is a session that
names its participant, exactly as /p/<slug>/ stores it. The matrix sends that cookie.
(tests/annotation covers how a real entry creates it.)
"""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from annotation.views import SESSION_PREFIX


@pytest.fixture
def participant_client(db):
    session = SessionStore()
    session[f"{SESSION_PREFIX}some-study"] = 1
    session.save()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client
