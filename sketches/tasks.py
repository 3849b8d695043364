from celery import shared_task

from sketches.actions import do_run_import_batch


@shared_task(acks_late=True)
def run_import_batch(batch_id: int) -> str:
    """Import an uploaded file. Safe to re-run: a finished batch is left as it is."""
    return do_run_import_batch(batch_id).status
