"""Where a participant's request comes from, as a network: the cap on new entries counts
per network prefix (/24 for IPv4, /48 for IPv6), because one person can hold many
addresses of one network but rarely many networks.

``client_address`` is the one place this app reads the client's address; the rate limit's
proxy handling belongs here too when it is unified.
"""

from __future__ import annotations

import ipaddress

IPV4_PREFIX = 24
IPV6_PREFIX = 48
#: Addresses that do not tell clients apart: loopback (tests, the demo's simulated crowd),
#: private and shared-carrier ranges (an untrusted reverse proxy in front of the app).
UNDISTINGUISHED = [
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "::1/128")
] + [ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10")]


def client_address(request) -> str:
    """The client's address as the web server saw it (``REMOTE_ADDR``)."""
    return request.META.get("REMOTE_ADDR", "") or ""


def network_of(address: str) -> str | None:
    """``"203.0.113.0/24"`` for ``"203.0.113.9"``; None for a missing, malformed or
    undistinguished (loopback, private) address, which the cap does not count."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in UNDISTINGUISHED if net.version == ip.version):
        return None
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def client_network(request) -> str | None:
    return network_of(client_address(request))
