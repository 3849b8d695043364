"""Signed entry links for generic panels: ``/p/<slug>/?pid=<id>&sig=<signature>``.

The signature is HMAC-SHA256 over ``"<study id>:<participant id>"`` with the study's own
``entry_secret``, hex, first 32 characters (128 bits). A panel that cannot call us can compute
it itself with the key (shown to the study's editors in the admin)::

    hmac.new(key.encode(), f"{study_id}:{pid}".encode(), "sha256").hexdigest()[:32]

No Django here: the admin, the API, the command and the entry view all call these.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

SIGNATURE_CHARS = 32


def entry_signature(secret: str, study_id: int, panel_id: str) -> str:
    message = f"{study_id}:{panel_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def signature_matches(secret: str, study_id: int, panel_id: str, signature: str | None) -> bool:
    """Constant-time comparison; a missing or malformed signature never matches."""
    if not signature or not secret:
        return False
    return hmac.compare_digest(entry_signature(secret, study_id, panel_id), signature.strip().lower())


def signed_query(secret: str, study_id: int, panel_id: str) -> str:
    """``?pid=...&sig=...`` for one participant id."""
    return "?" + urlencode({"pid": panel_id, "sig": entry_signature(secret, study_id, panel_id)})


MAX_PANEL_ID = 64  # the entry's limit (annotation.admission.MAX_ID_LENGTH)


def panel_id_problem(panel_id: str) -> str | None:
    """Why an id cannot be given a link, or None."""
    if not panel_id:
        return "an id is empty"
    if len(panel_id) > MAX_PANEL_ID or not panel_id.isprintable():
        return f"{panel_id[:20]!r}: ids are at most {MAX_PANEL_ID} printable characters"
    return None


def signed_links(secret: str, study_id: int, entry_url: str, panel_ids: list[str]) -> list[tuple[str, str]]:
    """``(id, link)`` per id, in order, duplicates dropped. Raises ValueError naming bad ids."""
    ids = list(dict.fromkeys(pid.strip() for pid in panel_ids))
    problems = [p for p in map(panel_id_problem, ids) if p]
    if problems:
        raise ValueError("; ".join(problems[:5]))
    return [(pid, entry_url + signed_query(secret, study_id, pid)) for pid in ids]
