"""A permission matrix for the API: every endpoint × persona, as in doccano's CRUDMixin.

Personas: ``researcher`` (owner), ``other_researcher`` (staff, not the owner),
``participant`` (a browser that went through /p/<slug>/, no account),
``anonymous``. Subclass ``PermissionMatrix`` with ``cases`` = list of
``Case(method, url_factory, expected={persona: status})``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rest_framework.test import APIClient

PERSONAS = ("researcher", "other_researcher", "participant", "anonymous")


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
    if persona in ("researcher", "other_researcher"):
        client.force_authenticate(users[persona])
    elif persona == "participant" and participant_client is not None:
        client.cookies = participant_client.cookies
    return client


def check(case: Case, persona: str, world: dict, users: dict, participant_client=None) -> None:
    client = client_for(persona, users, participant_client)
    url = case.url(world)
    data = case.data(world) if case.data else None
    response = getattr(client, case.method.lower())(url, data=data, format=case.format)
    expected = case.expected[persona]
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert response.status_code in allowed, (
        f"{case.method} {url} as {persona}: got {response.status_code}, expected {allowed}: "
        f"{getattr(response, 'data', response.content)!r}"[:500]
    )
