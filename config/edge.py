"""Refuse malformed input at the edge with a 400, before any view or database sees it.

- NUL characters: PostgreSQL text cannot hold ``\\x00`` (psycopg raises ``DataError``, a 500), and
  no id, token, choice or name of ours ever contains one. :class:`RejectMalformedInput` checks the
  path, query parameters, form fields and upload file names; :class:`StrictJSONParser` checks
  every key and string of an API JSON body. Query strings and form-encoded bodies (every answer)
  are checked as raw text, for a NUL or ``%00``, which is exactly when their parse holds a NUL;
  multipart forms are parsed and checked field by field.
- Nesting: ``json`` recurses per level, so a body nested thousands deep raises ``RecursionError``.
  The parser refuses more than ``MAX_JSON_DEPTH`` levels (our largest request body is 3 deep).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
NUL = "\x00"
ENCODED_NUL = "%00"


def _has_nul(values) -> bool:
    return any(NUL in value for value in values)


def _malformed(request) -> str | None:
    if NUL in request.path_info:
        return "The address contains a NUL character."
    query = request.META.get("QUERY_STRING", "")
    if NUL in query or ENCODED_NUL in query:  # a NUL anywhere in the parsed keys or values is one of these
        return "A query parameter contains a NUL character."
    if request.method != "POST":
        return None
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        # The raw body, as the form parser reads it anyway (``request.body`` is kept): a NUL in a
        # parsed key or value is a raw NUL or "%00" in the body, so no parse is needed here.
        body = request.body
        if b"\x00" in body or ENCODED_NUL.encode() in body:
            return "A form field contains a NUL character."
    elif content_type == "multipart/form-data":
        form = request.POST
        if _has_nul(form.keys()) or _has_nul(v for vs in form.lists() for v in vs[1]):
            return "A form field contains a NUL character."
        if _has_nul(f.name or "" for f in request.FILES.values()):
            return "An uploaded file name contains a NUL character."
    return None


class RejectMalformedInput:
    """Middleware: a 400 with a plain message (JSON under /api/) for NUL characters anywhere
    in the path, query string or form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = _malformed(request)
        if problem is None:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": problem, "code": "parse_error"}, status=400)
        return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing NUL characters and nesting deeper than ``MAX_JSON_DEPTH``."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(stream.read().decode(encoding))
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        check_json(data)
        return data


def check_json(data) -> None:
    """Walk a parsed JSON value without recursion; ParseError on depth or NUL characters."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(value, str):
            if NUL in value:
                raise ParseError("JSON parse error - a string contains a NUL character")
        elif isinstance(value, dict):
            if _has_nul(value.keys()):
                raise ParseError("JSON parse error - a key contains a NUL character")
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
