"""The Content-Security-Policy header built once per process is exactly django-csp's own."""

from __future__ import annotations

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE
from csp.decorators import csp_exempt, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from config.csp import PrecomputedCSPMiddleware

REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report/"}}


def plain(request):
    return HttpResponse("ok")


def with_nonce(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")


@csp_update({"img-src": ["https://example.org"]})
def updated(request):
    return HttpResponse("ok")


@csp_exempt()
def exempt(request):
    return HttpResponse("ok")


def headers(middleware_class, view, path="/p/s/task/"):
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    return response.get(HEADER), response.get(HEADER_REPORT_ONLY), request


@pytest.mark.parametrize("view", [plain, with_nonce, updated, exempt])
def test_every_response_gets_the_header_django_csp_would_send(view):
    ours, ours_ro, _ = headers(PrecomputedCSPMiddleware, view)
    theirs, theirs_ro, _ = headers(CSPMiddleware, view)
    assert ours == theirs and ours_ro == theirs_ro
    assert (ours is None) == (view is exempt)
    if view is updated:
        assert "https://example.org" in ours


def test_a_page_that_uses_a_nonce_gets_its_own_nonce_in_the_header():
    policy = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        request = RequestFactory().get("/p/s/task/")
        response = PrecomputedCSPMiddleware(with_nonce)(request)
        nonce = response.content.decode().split("nonce='")[1].split("'")[0]
        assert f"'nonce-{nonce}'" in response[HEADER]
        assert "nonce" not in headers(PrecomputedCSPMiddleware, plain)[0]


def test_the_header_follows_the_settings_and_the_excluded_prefixes():
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=REPORT_ONLY):
        ours = headers(PrecomputedCSPMiddleware, plain)
        assert ours[:2] == headers(CSPMiddleware, plain)[:2] and "report-uri /csp-report/" in ours[1]
    assert headers(PrecomputedCSPMiddleware, plain)[1] is None
    policy = {"EXCLUDE_URL_PREFIXES": ["/p/"], "DIRECTIVES": {"default-src": ["'none'"]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        assert headers(PrecomputedCSPMiddleware, plain)[0] is None
        assert headers(PrecomputedCSPMiddleware, plain, "/admin/")[0] == "default-src 'none'"
    assert "default-src 'self'" in headers(PrecomputedCSPMiddleware, plain)[0]


def test_a_nonce_asked_for_after_the_header_is_written_is_an_error():
    _, _, request = headers(PrecomputedCSPMiddleware, plain)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
