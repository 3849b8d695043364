"""The Content-Security-Policy header, built once per process instead of once per response.

django-csp's middleware rebuilds the policy string from the settings on every response (about
a tenth of a participant answer's CPU, issue 13). :class:`PrecomputedCSPMiddleware` sends the
same header, built once from ``CONTENT_SECURITY_POLICY`` (and ``…_REPORT_ONLY``), whenever a
response has nothing of its own: no nonce used, no ``csp_update``/``csp_replace``/``csp``
decorator, no exemption. Anything else goes through django-csp unchanged. The policy is built
again when a test overrides those settings.
"""

from __future__ import annotations

from functools import cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

#: Response attributes set by django-csp's decorators: a response with any of them is built per request.
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)
_SETTINGS = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY", "DEBUG")


@cache
def policy_headers() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(header, value, excluded path prefixes) for each policy that is set, as django-csp builds it."""
    headers = []
    for header, setting, report_only in (
        (HEADER, "CONTENT_SECURITY_POLICY", False),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
    ):
        value = build_policy(report_only=report_only)
        if value:
            prefixes = tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())
            headers.append((header, value, prefixes))
    return tuple(headers)


@receiver(setting_changed)
def _forget_policy(*, setting, **kwargs) -> None:
    if setting in _SETTINGS:
        policy_headers.cache_clear()


class PrecomputedCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the plain policy's header built once (see the module)."""

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, a) for a in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        if response.status_code in (404, 500) and settings.DEBUG:
            return response  # django-csp leaves Django's debug pages alone
        path = request.path_info
        for header, value, prefixes in policy_headers():
            if header not in response and not (prefixes and path.startswith(prefixes)):
                response[header] = value
        # As django-csp does: a nonce asked for after the header is written is an error, not a silent gap.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
