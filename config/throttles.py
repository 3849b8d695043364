"""DRF throttles that count the client address the way the rest of SketchQ does.

DRF's own ``get_ident`` trusts ``NUM_PROXIES`` hops of X-Forwarded-For; SketchQ has one rule for
that instead (``config.client_address``: the header is read only from ``TRUSTED_PROXIES``), shared
by the participant rate limits, the entry caps and the admin login lockout (``AXES_CLIENT_IP_CALLABLE``).
"""

from __future__ import annotations

from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from config.client_address import client_address


class _ByClientAddress:
    def get_ident(self, request):
        return client_address(request)


class AnonByAddressThrottle(_ByClientAddress, AnonRateThrottle):
    pass


class UserOrAddressThrottle(_ByClientAddress, UserRateThrottle):
    """Per user when signed in (DRF's rule), else per client address."""


class ScopedByAddressThrottle(_ByClientAddress, ScopedRateThrottle):
    pass
