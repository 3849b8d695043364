"""The corpus step of `make demo`: import the shared sketches (or the in-repo sample)."""

from pathlib import Path

from django.conf import settings

from sketches.actions import do_import_path
from sketches.models import Sketch

SAMPLE_DIR = Path(__file__).resolve().parent / "fixtures" / "quickdraw_sample"


def corpus_files() -> list[Path]:
    shared = Path(settings.SKETCHQ_DATA_DIR)
    folder = shared if shared.is_dir() else SAMPLE_DIR
    return sorted(folder.glob("*.ndjson"))


def run(say) -> None:
    files = corpus_files()
    expected = sum(1 for path in files for line in path.open("rb") if line.strip())
    if Sketch.objects.count() >= expected:
        say(f"Corpus: {Sketch.objects.count():,} sketches already imported.")
        return
    say(f"Corpus: importing {len(files)} files from {files[0].parent} ...")
    for path in files:
        report = do_import_path(path)
        say(f"  {report.summary()}")
