"""Per-trial telemetry: what the trial page measured while the trial was on screen.

The browser sends one short field with each answer (``tm``, built by ``static/annotation/task.js``)::

    b=1;v=0;i=p;m=42;p=610;w=1280;h=720;f=9c1e0a44d2b7f013

============  ===========================================================  stored as
key           meaning                                                       (Answer column)
============  ===========================================================  ==================
``b``         times the window lost focus (``blur``) during the trial       ``blur_count``
``v``         times the tab was hidden (``visibilitychange``) during it     ``hidden_count``
``i``         the input that gave the answer: ``k`` key, ``p`` pointer       ``input_kind``
              (mouse or pen), ``t`` touch; empty when no key, pointer or
              touch event of the person's own (``isTrusted``) came first
``m``         pointer-move events during the trial                          ``pointer_moves``
``p``         the pointer's path length in CSS pixels                       ``pointer_path_px``
``w``, ``h``  the viewport's size in CSS pixels                             ``viewport_w/_h``
``f``         a hash of stable browser properties (user agent, languages,   ``device_hash``
              screen size, time zone, cores), computed in the browser
============  ===========================================================  ==================

The server adds ``network_hash``: the client address's network prefix (/24 IPv4, /48 IPv6,
``annotation.network``). Both hashes are HMAC-SHA-256 keyed by the site's secret and the
study, cut to 16 hex digits: within a study equal values tell that two participants share a
device or network; across studies, or without the secret, they tell nothing, and neither
can be turned back into an address or a browser.

Everything is clamped: a malformed, missing or out-of-range value is stored as NULL (or
empty), never refused; telemetry never decides whether an answer is accepted. No field
depends on the trial's kind: a sentinel's telemetry is collected exactly as any other's.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

MAX_RAW = 200  # characters of ``tm`` read at most
MAX_COUNT = 32_767  # smallint columns
MAX_PATH_PX = 10_000_000
MAX_VIEWPORT = 16_384
INPUT_KINDS = ("k", "p", "t")
HASH_HEX = 16


@dataclass(frozen=True)
class Telemetry:
    """One answer's telemetry, clamped, ready for the Answer columns."""

    blur_count: int | None = None
    hidden_count: int | None = None
    input_kind: str = ""
    pointer_moves: int | None = None
    pointer_path_px: int | None = None
    viewport_w: int | None = None
    viewport_h: int | None = None
    device_hash: str = ""
    network_hash: str = ""

    def answer_fields(self) -> dict:
        return dict(vars(self))  # every field is a plain value: asdict's deep copy is not needed


def _int(raw: str | None, upper: int) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 12:
        return None
    value = int(raw)
    return value if value <= upper else None


def salted_hash(value: str, secret: str, study_key: str) -> str:
    """HMAC-SHA-256 of ``value`` keyed by the site's secret and the study; "" for no value."""
    if not value:
        return ""
    key = f"{secret}|sketchq-telemetry|{study_key}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:HASH_HEX]


def parse(raw: str | None, *, network: str | None, secret: str, study_key: str) -> Telemetry:
    """``tm`` as sent (or None) and the client's network prefix → clamped, salted telemetry."""
    fields: dict[str, str] = {}
    for part in str(raw or "")[:MAX_RAW].split(";"):
        key, sep, value = part.partition("=")
        if sep and len(key) == 1 and key not in fields:
            fields[key] = value.strip()
    kind = fields.get("i", "")
    device = fields.get("f", "")
    device_ok = 8 <= len(device) <= 32 and all(c in "0123456789abcdef" for c in device)
    return Telemetry(
        blur_count=_int(fields.get("b"), MAX_COUNT),
        hidden_count=_int(fields.get("v"), MAX_COUNT),
        input_kind=kind if kind in INPUT_KINDS else "",
        pointer_moves=_int(fields.get("m"), MAX_COUNT),
        pointer_path_px=_int(fields.get("p"), MAX_PATH_PX),
        viewport_w=_int(fields.get("w"), MAX_VIEWPORT),
        viewport_h=_int(fields.get("h"), MAX_VIEWPORT),
        device_hash=salted_hash(device, secret, study_key) if device_ok else "",
        network_hash=salted_hash(network or "", secret, study_key),
    )
