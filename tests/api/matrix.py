"""A permission matrix for the API: every endpoint × persona, as in doccano's CRUDMixin.

Personas: ``researcher`` (owner), ``other_researcher`` (staff, not the owner),
``no_permissions`` (staff, no model permission at all), ``view_only_shared`` (staff with only
the ``view_*`` permissions, and every study of the world shared with it: the admin shows it
such a study read-only, and so must the API), ``participant`` (a browser that went through
/p/<slug>/, no account), ``anonymous``. Subclass ``PermissionMatrix`` with ``cases`` = list of
``Case(method, url_factory, expected={persona: status})``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rest_framework.test import APIClient

PERSONAS = (
    "researcher",
    "other_researcher",
    "no_permissions",
    "view_only_shared",
    "participant",
    "anonymous",
)
SIGNED_IN = ("researcher", "other_researcher", "no_permissions", "view_only_shared")
#: What the two restricted personas get where a case does not say otherwise: no permission
#: means 403 everywhere; view-only means what a read needs, never a write.
DENIED = 403


@dataclass
class Case:
    method: str
    url: Callable[[dict], str]
    expected: dict[str, int | tuple[int, ...]]
    data: Callable[[dict], dict] | None = None
    format: str = "json"
    name: str = field(default="")


def client_for(persona: str, users: dict, participant_client=None) -> APIClient:
    client = APIClient()
    if persona in SIGNED_IN:
        client.force_authenticate(users[persona])
    elif persona == "participant" and participant_client is not None:
        client.cookies = participant_client.cookies
    return client


def default_expectation(case: Case, persona: str):
    if persona == "no_permissions":
        return DENIED
    if persona == "view_only_shared":
        return case.expected["researcher"] if case.method in ("GET", "HEAD") else DENIED
    raise KeyError(persona)


def check(case: Case, persona: str, world: dict, users: dict, participant_client=None) -> None:
    client = client_for(persona, users, participant_client)
    url = case.url(world)
    data = case.data(world) if case.data else None
    response = getattr(client, case.method.lower())(url, data=data, format=case.format)
    expected = case.expected[persona] if persona in case.expected else default_expectation(case, persona)
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert response.status_code in allowed, (
        f"{case.method} {url} as {persona}: got {response.status_code}, expected {allowed}: "
        f"{getattr(response, 'data', response.content)!r}"[:500]
    )
