"""Rate limits for the participant pages: a fixed window per participant (or per client
address before the browser has entered), counted where every web process sees the same count.

* A browser holding a participant cookie counts against ``SKETCHQ_PARTICIPANT_RATE``, its own:
  its answers in its participant row (``count_answer``: the answer's transaction locks and
  UPDATEs that row anyway, so the count costs no round trip), its other requests in the cache
  shared by all web processes (``CACHE_URL``: Redis in every shipped deployment). Answers and the
  other pages each have the whole rate.
* A browser without one (the first click on the panel link) counts against
  ``SKETCHQ_ENTRY_RATE`` for its address: generous, so that many people behind one address
  (a campus, a mobile carrier's NAT) are not shut out, and a flood from one address cannot
  lock anyone else out. Behind the documented proxy the address is the forwarded one
  (``config.client_address``), never the proxy's.

A refused request is answered 429 with ``Retry-After`` (the seconds left in the window) and a
page that says to wait; the trial page's script waits that long and retries by itself.
"""

from __future__ import annotations

import time
from functools import lru_cache, wraps

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.shortcuts import render

from annotation import identity
from config.client_address import client_address

UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


@lru_cache(maxsize=16)
def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` → (600, 60)."""
    count, _, unit = rate.partition("/")
    return int(count), UNITS[unit.strip().lower()]


def _client(request, slug: str | None) -> tuple[str, str]:
    """(cache key part, rate) for this request."""
    pk = identity.participant_id(request, slug) if slug else None
    if pk is not None:
        return f"p:{pk}", settings.SKETCHQ_PARTICIPANT_RATE
    return f"a:{client_address(request)}", settings.SKETCHQ_ENTRY_RATE


#: INCR, and on the window's first request EXPIRE, as one atomic command: one round trip, and
#: a counter can never outlive its window (a process stopping between the two cannot leave it).
_COUNT_SCRIPT = (
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)


@lru_cache(maxsize=8)
def _redis_counter(pool):
    """The counting script on a client of this connection pool, made once: Django builds a new
    ``redis.Redis`` (and its table of ~170 response callbacks) on every cache call, which costs
    more than the round trip itself. The script is sent by its SHA (loaded once per server)."""
    import redis

    return redis.Redis(connection_pool=pool).register_script(_COUNT_SCRIPT)


def count(key: str, window: int) -> int:
    """One more request in ``key``'s current window; the new total. On Redis one round trip (the
    script above); elsewhere Django's generic add + incr."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        counter = _redis_counter(backend._cache._get_connection_pool(write=True))
        return int(counter(keys=[backend.make_key(key)], args=[window + 1]))
    cache.add(key, 0, window + 1)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr: start again
        cache.set(key, 1, window + 1)
        return 1


def too_many(request, retry_after: int, slug: str | None):
    response = render(
        request,
        "annotation/too_many.html",
        {"retry_after": retry_after, "slug": slug, "study": None},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _seconds_left(now: float, window: int) -> int:
    """``Retry-After`` for a request refused at ``now``: the rest of the window, and a second more."""
    return max(1, int(window - now % window) + 1)


def refused_by_cache(request, slug: str | None):
    """Count this request in the cache (per participant, or per address without a cookie): the 429
    page once over the rate, else None."""
    who, rate = _client(request, slug)
    limit, window = parse_rate(rate)
    now = time.time()
    key = f"ratelimit:participant:{who}:{int(now // window)}"
    if count(key, window) > limit:
        return too_many(request, _seconds_left(now, window), slug)
    return None


def participant_rate_limited(view):
    """429 with a "please wait" page once a client exceeds its rate; nothing else runs."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        slug = kwargs.get("slug")
        return refused_by_cache(request, slug) or view(request, *args, **kwargs)

    return limited


def entry_rate_limited(view):
    """For a view that counts its participant itself (the answer: ``count_answer``, in the row):
    only a request without a participant cookie is counted here, against its address."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        slug = kwargs.get("slug")
        if identity.participant_id(request, slug) is None:
            refused = refused_by_cache(request, slug)
            if refused is not None:
                return refused
        return view(request, *args, **kwargs)

    return limited


def count_answer(participant, rate: str, now: float) -> int:
    """Count one answer request in ``participant``'s row, which the caller holds locked and saves
    (``answer_window``, ``answers_in_window``): the same fixed window as the cache's counters,
    shared by every web process because it is in the database. Returns 0, or when the request is
    over ``rate`` (``SKETCHQ_PARTICIPANT_RATE``) the seconds to wait (``Retry-After``), counting
    nothing: the caller then writes nothing either."""
    limit, window = parse_rate(rate)
    start = int(now // window) * window
    if participant.answer_window != start:
        participant.answer_window, participant.answers_in_window = start, 1
        return 0
    if participant.answers_in_window >= limit:
        return _seconds_left(now, window)
    participant.answers_in_window += 1
    return 0
