"""Where a participant's request comes from, as a network: the cap on new entries counts
per network prefix (/24 for IPv4, /48 for IPv6), because one person can hold many
addresses of one network but rarely many networks.

The client's address comes from ``config.client_address`` (the one place that reads it, with
the trusted-proxy rule shared by the rate limits and the login throttles).
"""

from __future__ import annotations

import ipaddress

from config.client_address import client_address

IPV4_PREFIX = 24
IPV6_PREFIX = 48
#: Addresses that do not tell clients apart: loopback (tests, the demo's simulated crowd),
#: private and shared-carrier ranges (an untrusted reverse proxy in front of the app).
UNDISTINGUISHED = [
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "::1/128")
] + [ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10")]


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
