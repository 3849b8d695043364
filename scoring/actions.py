"""The scoring app's actions: the index that admin, API, commands, tasks and other apps import.

Each name is defined in the concept module named beside it. The functions that take a researcher's
input (``do_create_scorer``, ``do_request_training``, ``do_start_scoring_run``) validate it first and
raise ``ScoringInputError`` with a message naming the problem, before anything is written.

Scorers (``scoring.scorers``):

* ``do_create_scorer(TrainingRequest)`` → a pending ``Scorer``
* ``do_request_training(TrainingRequest, user=)``: create and queue in one transaction (the
  admin's "Train a scorer" and ``POST /api/scorers/``)
* ``do_train_scorer(id, progress)``, ``do_queue_training(scorer)``, ``do_reset_for_training(scorer)``

Sanity evaluation (``scoring.evaluation``): ``do_evaluate_scorer(scorer)`` → the degradation
report stored on the scorer; ``do_queue_evaluation(scorer)`` runs it as a task.

Scoring runs (``scoring.runs``):

* ``do_start_scoring_run(scorer, categories, user, task_batch_size)`` → a run, one task per batch
* ``do_score_batch(run_id, ids)``: what each task runs (idempotent)
* ``do_cancel_run``, ``do_refresh_run_progress``, ``do_record_unexpected_failure``
* ``do_settle_scoring_run`` / ``do_sweep_scoring_runs``: a run whose workers died is re-queued or failed
"""

from scoring.evaluation import do_evaluate_scorer, do_queue_evaluation
from scoring.runs import (
    DEFAULT_TASK_BATCH_SIZE,
    UNFINISHED,
    do_cancel_run,
    do_record_unexpected_failure,
    do_refresh_run_progress,
    do_score_batch,
    do_settle_scoring_run,
    do_start_scoring_run,
    do_sweep_scoring_runs,
    get_scorer,
)
from scoring.scorers import (
    DEVICES,
    TrainingRequest,
    device_problem,
    do_create_scorer,
    do_queue_training,
    do_request_training,
    do_reset_for_training,
    do_train_scorer,
)

__all__ = [
    "DEFAULT_TASK_BATCH_SIZE",
    "DEVICES",
    "UNFINISHED",
    "TrainingRequest",
    "device_problem",
    "do_cancel_run",
    "do_create_scorer",
    "do_evaluate_scorer",
    "do_queue_evaluation",
    "do_queue_training",
    "do_record_unexpected_failure",
    "do_refresh_run_progress",
    "do_request_training",
    "do_reset_for_training",
    "do_score_batch",
    "do_settle_scoring_run",
    "do_start_scoring_run",
    "do_sweep_scoring_runs",
    "do_train_scorer",
    "get_scorer",
]
