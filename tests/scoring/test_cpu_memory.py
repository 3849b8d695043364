"""scoring.cpu_memory: a CPU handler's forward passes reuse freed memory instead of faulting in
fresh pages from the kernel on every call."""

import platform
import subprocess
import sys

import pytest
import torch
from django.conf import settings

from scoring import cpu_memory
from scoring.inference import ScoringHandler
from scoring.model_io import TrainConfig, build_model

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

#: Run in a fresh process (the setting is per process and cannot be undone): the default scorer's
#: handler scores 300 real sketches once, then the page faults of three more passes are counted.
#: ``off`` replaces keep_freed_memory with a no-op before the handler is built.
PROBE = """
import resource, sys
from pathlib import Path
import numpy as np, torch
import scoring.inference as inference
if sys.argv[1] == "off":
    inference.keep_freed_memory = lambda: False
from scoring.dataset import load_ndjson_dir
from scoring.encoding import encode_stored
from scoring.model_io import TrainConfig, build_model
folder = Path(sys.argv[2])
names = sorted(p.stem for p in folder.glob("*.ndjson"))
data = load_ndjson_dir(folder, names, 60)
config = TrainConfig(class_names=names)
X, lengths = encode_stored([[np.asarray(s).T for s in sk] for sk in data.strokes], max_len=config.max_len)
handler = inference.ScoringHandler(build_model(config, len(names)), config, names, torch.device("cpu"), threads=1)
batch = handler.batch_of(X, lengths)
handler.infer(batch)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    handler.infer(batch)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str, sample_dir) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(sample_dir)],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return int(done.stdout.split()[-1])


@glibc
def test_repeated_forward_passes_stop_faulting_in_pages(sample_dir):
    kept, returned = _page_faults("on", sample_dir), _page_faults("off", sample_dir)
    # Measured: 180–470 faults kept, 22,800–24,600 returned (glibc's default thresholds).
    assert kept * 10 < returned, (kept, returned)


@glibc
def test_applied_once_per_process(monkeypatch):
    assert cpu_memory.keep_freed_memory() is True
    monkeypatch.setattr(cpu_memory.ctypes, "CDLL", lambda name: pytest.fail("mallopt called again"))
    assert cpu_memory.keep_freed_memory() is True


def test_a_cpu_handler_keeps_freed_memory(monkeypatch):
    calls = []
    monkeypatch.setattr("scoring.inference.keep_freed_memory", lambda: calls.append(1))
    config = TrainConfig(class_names=["a", "b"], encoder="cnn")
    ScoringHandler(build_model(config, 2), config, ["a", "b"], torch.device("cpu"))
    assert calls == [1]
