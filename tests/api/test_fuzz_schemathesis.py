"""schemathesis against our own OpenAPI schema: no request it generates gets a 500.

Bounded: a few examples per operation, as a researcher with a token, on a small
real world (sample sketches and a scored study), so that paths hit real rows too.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from tests.factories import make_scored_study

schema = schemathesis.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def token(researcher):
    make_scored_study(owner=researcher)
    return Token.objects.create(user=researcher).key


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_api_request_gets_a_server_error(case, token):
    response = case.call_wsgi(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=(not_a_server_error,))
