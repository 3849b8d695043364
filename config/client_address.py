"""The client's address: ``REMOTE_ADDR``, or the forwarded one when the request came through a
trusted proxy (``SKETCHQ_TRUSTED_PROXIES``, env ``TRUSTED_PROXIES``).

Behind a reverse proxy every request arrives from the proxy's address, so anything counted per
address (rate limits, entry caps) would count everyone together. The proxy appends the address it
saw to ``X-Forwarded-For``; that header is read only when ``REMOTE_ADDR`` is a trusted proxy, from
the right, skipping further trusted proxies, so a client cannot choose its own address by sending
the header itself. With no trusted proxies configured the header is never read.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]):
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {entry!r} is not an address or network") from None
    return tuple(networks)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.SKETCHQ_TRUSTED_PROXIES))
    if not networks or not _trusted(remote, networks):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed([part for part in forwarded if part]):
        if not _trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # garbage where an address should be: count it as the proxy
    return remote
