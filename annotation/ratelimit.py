"""Rate limits for the participant pages: a fixed window per session (or per address
before a session exists), counted in the cache shared by all web processes."""

from __future__ import annotations

import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` → (600, 60)."""
    count, _, unit = rate.partition("/")
    return int(count), UNITS[unit.strip().lower()]


def _client_key(request) -> str:
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        return f"s:{session.session_key}"
    return f"a:{request.META.get('REMOTE_ADDR', '')}"


def participant_rate_limited(view):
    """429 with a plain message once a client exceeds ``SKETCHQ_PARTICIPANT_RATE``; nothing else runs."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        limit, window = parse_rate(settings.SKETCHQ_PARTICIPANT_RATE)
        key = f"ratelimit:participant:{_client_key(request)}:{int(time.time() // window)}"
        cache.add(key, 0, window + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr: start again
            cache.set(key, 1, window + 1)
            count = 1
        if count > limit:
            response = HttpResponse(
                "Too many requests: please slow down and try again in a minute.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(window)
            return response
        return view(request, *args, **kwargs)

    return limited
