"""Shared by the scoring tests that use Django: a real tiny checkpoint and a private media root."""

import pytest

from scoring import checkpoints
from tests.factories import sample_checkpoint


@pytest.fixture(scope="module")
def checkpoint_bytes() -> bytes:
    """A real scorer trained on the in-repo sample (cached per test process)."""
    return sample_checkpoint("cos")


@pytest.fixture
def _media(settings, tmp_path):
    """Checkpoints and figures go to a fresh media root; the per-process checkpoint cache is emptied."""
    settings.MEDIA_ROOT = tmp_path / "media"
    checkpoints.clear_cache()
