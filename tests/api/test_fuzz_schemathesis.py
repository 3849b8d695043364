"""schemathesis against our own OpenAPI schema: no request it generates gets a 500, and every
status it gets is documented in the schema.

Bounded: 30 examples per operation (6 before the schema documented its errors), as a researcher with a token, on a small
real world (sample sketches and a scored study), so that paths hit real rows too.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, status_code_conformance

from config.wsgi import application
from tests.factories import make_scored_study

schema = schemathesis.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: the WSGI handler must not close the test transaction's
    connection between requests (on PostgreSQL it would, autocommit being off)."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


@pytest.fixture
def token(researcher):
    make_scored_study(owner=researcher)
    return Token.objects.create(user=researcher).key


@pytest.mark.fuzz
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_api_request_gets_a_server_error(case, token):
    response = case.call_wsgi(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=(not_a_server_error, status_code_conformance))
