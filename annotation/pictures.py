"""The sketches a participant's screen shows, inline in the page as ``data:`` URIs.

A trial is one request: the answer's response (or the task page) carries the next pair's
pictures in its ``<img src="data:image/svg+xml,…">``, so the browser fetches nothing else and
no picture URL (with a trial's token in it) exists for any trial but the one on screen. The
``<img>`` keeps its fixed box (``width``/``height``), so nothing moves as it paints.

Each sketch is rendered once per web process (``sketches.render.svg``, the same bytes the
stimulus URL serves) and kept in a bounded LRU of ``CACHE_SIZE`` sketches (about 3 KB each).
A sketch's strokes never change after import, so the cache never goes stale. Sketches not yet
cached are read in one statement (``hot_queries.strokes_rows``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from urllib.parse import quote

from django.utils.safestring import SafeString, mark_safe

from sketches import render

#: Sketches kept per process (≈ 3 KB each as a data: URI; 8192 ≈ 25 MB).
CACHE_SIZE = 8192
PREFIX = "data:image/svg+xml,"
#: Kept as they are in the URI; everything else (quotes, <, >, #, %, &, spaces) is %-encoded, so the
#: URI is a valid URL, needs no HTML escaping, and decodes to exactly the SVG's bytes.
_SAFE = "/:=.,-_~"

_cache: OrderedDict[int, SafeString] = OrderedDict()
_lock = threading.Lock()


def data_uri(svg: str) -> SafeString:
    """``svg`` as a ``data:`` URI, safe inside a quoted HTML attribute (nothing to escape)."""
    return mark_safe(PREFIX + quote(svg, safe=_SAFE))


def svg_of_uri(uri: str) -> bytes:
    """The SVG bytes inside a URI made by :func:`data_uri` (for readers of the page)."""
    from urllib.parse import unquote_to_bytes

    if not uri.startswith(PREFIX):
        raise ValueError("not an inline sketch")
    return unquote_to_bytes(uri[len(PREFIX) :])


def pictures(sketch_ids: Iterable[int | None]) -> dict[int, SafeString]:
    """sketch id → its picture as a ``data:`` URI, for every id given (None is skipped)."""
    wanted = [pk for pk in sketch_ids if pk is not None]
    found: dict[int, SafeString] = {}
    missing = []
    with _lock:
        for pk in wanted:
            uri = _cache.get(pk)
            if uri is None:
                missing.append(pk)
            else:
                _cache.move_to_end(pk)
                found[pk] = uri
    if missing:
        from annotation.hot_queries import strokes_rows

        rendered = {pk: data_uri(render.svg(json.loads(strokes))) for pk, strokes in strokes_rows(missing)}
        with _lock:
            _cache.update(rendered)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        found |= rendered
    return found


def clear() -> None:
    """Forget every cached picture (tests that rewrite a sketch's strokes)."""
    with _lock:
        _cache.clear()
