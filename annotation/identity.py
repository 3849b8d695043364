"""Which participant a browser is: a signed cookie, read without touching the database.

Participants have no accounts, and their pages are the hot path, so their identity is not
kept in the session table (a read per request) but in one signed cookie per study:
``sketchq_p_<slug>``, holding the participant's id, HMAC-signed with ``SECRET_KEY`` and a
salt naming the study (a cookie of one study never opens another). Its path is the
study's ``/p/<slug>/``, so it is sent only to that study's pages. Nothing about a
participant lives in a web process's memory: any process (or machine) sharing the secret
key, the database and the cache can serve any request.

It cannot be revoked by deleting a row, and need not be: what a participant may do is
decided by their row (blocked, timed out, finished) under the answer's lock. Researchers
and admins keep ordinary database sessions, revocable as always.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

COOKIE_PREFIX = "sketchq_p_"
#: A study runs for weeks at most; a returning participant re-enters through the panel link anyway.
COOKIE_MAX_AGE = 60 * 24 * 3600


def cookie_name(slug: str) -> str:
    return f"{COOKIE_PREFIX}{slug}"


def _signer(slug: str) -> signing.Signer:
    return signing.Signer(salt=f"annotation.participant:{slug}")


def participant_cookie_value(slug: str, participant_id: int) -> str:
    return _signer(slug).sign(str(participant_id))


def participant_id(request, slug: str) -> int | None:
    """The participant id this browser holds for study ``slug``, or None (missing, forged, other study).
    Checked once per request (the rate limit and the view both ask)."""
    known = request.__dict__.setdefault("_sketchq_participant_ids", {})
    if slug not in known:
        known[slug] = _read_cookie(request, slug)
    return known[slug]


def _read_cookie(request, slug: str) -> int | None:
    raw = request.COOKIES.get(cookie_name(slug))
    if not raw:
        return None
    try:
        value = _signer(slug).unsign(raw)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def remember(response, slug: str, participant_id: int) -> None:
    """Give the browser its participant cookie for ``slug`` (on the entry redirect)."""
    response.set_cookie(
        cookie_name(slug),
        participant_cookie_value(slug, participant_id),
        max_age=COOKIE_MAX_AGE,
        path=f"/p/{slug}/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
