"""The corpus's actions: the index that admin, API, commands, tasks and other apps import.

Each name is defined in the concept module named beside it.

* ``do_import_file(stream, filename, ...)`` → ``ImportReport`` (``sketches.imports``; one
  transaction per file; a refused file writes nothing)
* ``do_import_path(path, ...)``: the same for a file on disk (``sketches.imports``)
* ``do_create_import_batch(upload, ...)`` → ``ImportBatch`` queued as a job; ``do_run_import_batch``
  runs it under a lease; ``do_settle_import_batch`` / ``do_sweep_import_batches`` re-queue or fail
  a batch whose worker died (``sketches.imports``)
* ``do_create_degraded_copies(requests)`` → degraded copies of real sketches
  (``sketches.degraded_copies``)
"""

from sketches.degraded_copies import do_create_degraded_copies
from sketches.imports import (
    CATEGORY_NAME_MAX,
    FILENAME_MAX,
    ImportReport,
    do_create_import_batch,
    do_import_file,
    do_import_path,
    do_run_import_batch,
    do_settle_import_batch,
    do_sweep_import_batches,
)

__all__ = [
    "CATEGORY_NAME_MAX",
    "FILENAME_MAX",
    "ImportReport",
    "do_create_degraded_copies",
    "do_create_import_batch",
    "do_import_file",
    "do_run_import_batch",
    "do_settle_import_batch",
    "do_sweep_import_batches",
    "do_import_path",
]
