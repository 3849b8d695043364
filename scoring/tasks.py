"""Celery tasks of the scoring app. All are routed to the ``gpu`` queue (settings.CELERY_TASK_ROUTES).

Tasks take ids and call the actions; the actions hold the logic.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from scoring import actions

#: Only these are worth retrying: the database was briefly unreachable.
RETRYABLE = (OperationalError, InterfaceError)


@shared_task
def train_scorer(scorer_id: int) -> str:
    """Train a pending scorer. Acknowledged on receipt (training can take hours, longer
    than the broker's visibility timeout): a worker lost mid-training leaves the scorer
    ``running``, and the admin's "Train again" action re-queues it."""
    scorer = actions.do_train_scorer(scorer_id)
    if scorer.is_ready:  # every training ends with its sanity report
        evaluate_scorer.delay(scorer.pk)
    return scorer.status


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    max_retries=5,
)
def score_batch(self, run_id: int, sketch_ids: list[int]) -> int:
    """Score one batch of a run. Idempotent (upserts, recount), so a redelivered
    message (worker killed: acks_late + reject_on_worker_lost) simply runs again."""
    try:
        return actions.do_score_batch(run_id, sketch_ids)
    except RETRYABLE:
        raise
    except Exception as exc:
        actions.do_record_unexpected_failure(run_id, exc)
        raise


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=5)
def evaluate_scorer(scorer_id: int) -> bool | None:
    """Compute and store the sanity report of a trained scorer (queued after every training).
    Idempotent: it overwrites the stored report with the same numbers."""
    from scoring.actions import do_evaluate_scorer
    from scoring.models import Scorer

    scorer = Scorer.objects.filter(pk=scorer_id).first()
    if scorer is None or not scorer.is_ready:
        return None
    return do_evaluate_scorer(scorer)["passed"]
