"""The OpenAPI schema documents the error responses every operation can give.

Every endpoint answers a malformed request (bad field, filter or JSON body; a NUL character;
JSON nested too deep: config/edge.py) with 400, an unknown object or page with 404, a missing or
wrong token with 401, a forbidden one with 403, too many requests with 429, and a conflicting
write with 409 (config/api_errors.py). All have the same body: ``{"detail": ..., "code": ...}``
(400 from a serializer names the fields instead).
"""

from drf_spectacular.openapi import AutoSchema

ERROR_BODY = {
    "type": "object",
    "description": "`detail` says what is wrong; a 400 from field validation maps field names to messages.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}
ERRORS = {
    "400": "Bad request: invalid fields, filters or JSON (including NUL characters and absurd nesting).",
    "401": "No or invalid credentials.",
    "403": "Signed in, but not allowed to do this.",
    "404": "No such object, or not one you can see.",
    "409": "The request conflicts with existing data.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
}


class SketchQAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in ERRORS.items():
            responses.setdefault(
                status, {"description": description, "content": {"application/json": {"schema": ERROR_BODY}}}
            )
        return responses
