"""Scorer checkpoints in Django storage: write, verify, and load once per process.

A checkpoint is trusted only if the sha256 of the bytes read back from storage
equals ``Scorer.checkpoint_sha256`` recorded at training time. Loaded handlers
are cached per process, keyed by that sha256, so a Celery worker reads and
verifies a checkpoint once and then scores batch after batch with it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from scoring.errors import CheckpointError
from scoring.inference import ScoringHandler
from scoring.models import Scorer

#: Handlers kept per process (a GPU worker rarely alternates between more).
CACHE_SIZE = 4

_cache: OrderedDict[str, ScoringHandler] = OrderedDict()
_lock = threading.Lock()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def do_store_checkpoint(scorer: Scorer, data: bytes) -> str:
    """Save ``data`` as the scorer's checkpoint file (not the row); return its sha256."""
    digest = sha256_of(data)
    scorer.checkpoint.save(f"{scorer.name}-{digest[:12]}.pt", ContentFile(data), save=False)
    scorer.checkpoint_sha256 = digest
    return digest


def read_verified(scorer: Scorer) -> bytes:
    """The checkpoint's bytes, after checking they are the ones trained and recorded."""
    if not scorer.checkpoint or not scorer.checkpoint_sha256:
        raise CheckpointError(f"scorer {scorer.name!r} has no checkpoint (status: {scorer.status})")
    storage, name = scorer.checkpoint.storage, scorer.checkpoint.name
    if not storage.exists(name):
        raise CheckpointError(f"scorer {scorer.name!r}: checkpoint file {name!r} is missing from storage")
    with storage.open(name, "rb") as handle:
        data = handle.read()
    digest = sha256_of(data)
    if digest != scorer.checkpoint_sha256:
        raise CheckpointError(
            f"scorer {scorer.name!r}: checkpoint {name!r} has sha256 {digest[:16]}…, but "
            f"{scorer.checkpoint_sha256[:16]}… was recorded at training; refusing to use it"
        )
    return data


def scoring_threads() -> int | str:
    """CPU threads of a worker's forward pass: ``SKETCHQ_SCORING_THREADS`` = ``auto`` (the default:
    1 or all cores, whichever the handler measures faster; :class:`scoring.model_io.ThreadChooser`)
    or a positive integer."""
    value = str(settings.SKETCHQ_SCORING_THREADS).strip().lower()
    if value == "auto":
        return "auto"
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise ImproperlyConfigured(f"SKETCHQ_SCORING_THREADS must be 'auto' or a positive integer, not {value!r}")


def load_handler(scorer: Scorer, device: str = "auto") -> ScoringHandler:
    """The inference handler for ``scorer``, loaded and verified at most once per process
    (its CPU thread count from :func:`scoring_threads`)."""
    key = f"{scorer.checkpoint_sha256}:{device}"
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    data = read_verified(scorer)
    try:
        handler = ScoringHandler.from_bytes(data, device=device, threads=scoring_threads())
    except ValueError as exc:
        raise CheckpointError(f"scorer {scorer.name!r}: {exc}") from exc
    with _lock:
        _cache[key] = handler
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return handler


def cached_keys() -> list[str]:
    """Keys of the handlers this process holds (for tests and the admin's worker view)."""
    with _lock:
        return list(_cache)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
