"""State changes of scoring runs: score sketches with a trained scorer.

``do_start_scoring_run`` validates everything a worker would trip over (scorer,
checkpoint bytes and sha256, categories) before it writes the run and queues
one ``score_batch`` task per ``task_batch_size`` sketches on the ``gpu`` queue.
``do_score_batch`` is what each task runs: load the checkpoint once per process
→ preprocess → infer → upsert ``SketchScore`` → recount the run's progress; the database
work of one chunk overlaps the forward pass of the next (``do_score_and_store``).
Re-running a batch (a redelivered task) rewrites the same rows and recounts,
so ``done`` stays exact.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from scoring import checkpoints, stored_input
from scoring.encoding import encode_stored
from scoring.errors import CheckpointError, ScoringInputError
from scoring.inference import Batch, ScoringHandler
from scoring.models import JobStatus, Scorer, ScoringRun, SketchScore
from scoring.scorers import resolve_categories
from sketches import jobs, leases
from sketches.models import Category, Sketch

log = logging.getLogger(__name__)

#: Sketches per task. 2,048 since issue 10 part 4 (was 512): each task has a fixed cost (the message,
#: run and row queries, the first chunk's read and the last one's write, the recount) that 512-sketch
#: tasks paid four times as often; a real worker reached 0.83 of the raw forward pass at 2,000 per task
#: against 0.74 at 512 (bench/RESULTS.md). Still 13 tasks for the 26,100 shared sketches.
DEFAULT_TASK_BATCH_SIZE = 2048
#: Sketches read, scored and written per step of a task (``do_score_and_store``): small enough
#: that reading the next chunk and writing the previous one overlap most of a task's forward
#: passes, large enough that a query's fixed cost stays small (bench/RESULTS.md, issue 10).
INFER_BATCH_SIZE = 128
MAX_ERRORS_KEPT = 50
UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING)


def scoring_device() -> str:
    """Where workers run the scorer: ``SKETCHQ_SCORING_DEVICE`` or auto (cuda, mps, cpu)."""
    return getattr(settings, "SKETCHQ_SCORING_DEVICE", "auto")


def get_scorer(name: str) -> Scorer:
    scorer = Scorer.objects.filter(name=name).first()
    if scorer is None:
        known = list(Scorer.objects.order_by("name").values_list("name", flat=True)[:20])
        raise ScoringInputError(
            f"no scorer named {name!r}"
            + (f"; known scorers: {', '.join(known)}" if known else "; train one first")
        )
    return scorer


def scoring_categories(scorer: Scorer, names: Sequence[str] | None) -> list[Category]:
    """The categories to score: the scorer's own, or the named ones if it was trained on them."""
    trained = list(scorer.categories.order_by("slug"))
    if not names:
        categories = trained
    else:
        categories = resolve_categories(names)
        trained_ids = {c.pk for c in trained}
        untrained = [c.name for c in categories if c.pk not in trained_ids]
        if untrained:
            raise ScoringInputError(
                f"scorer {scorer.name!r} was not trained on {', '.join(untrained)}: it can only score "
                f"{', '.join(c.name for c in trained) or 'no category'}"
            )
    if not categories:
        raise ScoringInputError(f"scorer {scorer.name!r} has no categories to score")
    counts = dict(
        Sketch.objects.filter(category__in=categories)
        .values_list("category")
        .order_by()
        .annotate(n=Count("pk"))
    )
    empty = [c.name for c in categories if not counts.get(c.pk)]
    if empty:
        raise ScoringInputError(f"no sketches to score in {', '.join(empty)}")
    return categories


def do_start_scoring_run(
    scorer: Scorer | str,
    categories: Sequence[str] | None = None,
    user=None,
    task_batch_size: int | None = None,
) -> ScoringRun:
    """Check, then create a run over every sketch of the categories and queue its batches.

    Refuses (nothing written): an unknown scorer, one that is not trained, a
    missing checkpoint or one whose bytes do not match the recorded sha256, an
    unknown category or one without sketches, a category the scorer was not
    trained on, and a second run of a scorer while one is still unfinished.
    """
    if isinstance(scorer, str):
        scorer = get_scorer(scorer)
    if scorer.status != JobStatus.DONE:
        raise ScoringInputError(f"scorer {scorer.name!r} is not trained (status: {scorer.status})")
    checkpoints.read_verified(scorer)
    chosen = scoring_categories(scorer, categories)
    size = task_batch_size or DEFAULT_TASK_BATCH_SIZE
    if size < 1:
        raise ScoringInputError("the task batch size must be at least 1")
    with transaction.atomic():
        Scorer.objects.select_for_update().get(pk=scorer.pk)  # one start at a time per scorer
        busy = ScoringRun.objects.filter(scorer=scorer, status__in=UNFINISHED).first()
        if busy is not None:
            raise ScoringInputError(
                f"scorer {scorer.name!r} already has run #{busy.pk} in progress ({busy.done}/{busy.total}); "
                "wait for it or cancel it first"
            )
        ids = list(Sketch.objects.filter(category__in=chosen).order_by("pk").values_list("pk", flat=True))
        run = ScoringRun.objects.create(
            scorer=scorer,
            total=len(ids),
            task_batch_size=size,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        run.categories.set(chosen)
        from scoring.tasks import score_batch

        for start in range(0, len(ids), size):
            score_batch.delay_on_commit(run.pk, ids[start : start + size])
    return run


def do_score_batch(run_id: int, sketch_ids: Sequence[int]) -> int:
    """Score one batch of a run and upsert the results; returns the number of scores written.

    Safe to repeat. A run that has finished, failed or been cancelled is left alone.
    """
    run = ScoringRun.objects.select_related("scorer").filter(pk=run_id).first()
    if run is None or run.status not in UNFINISHED:
        return 0
    now = timezone.now()
    ScoringRun.objects.filter(pk=run_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=1
    )
    try:
        handler = checkpoints.load_handler(run.scorer, scoring_device())
    except CheckpointError as exc:
        _do_record_failure(run_id, exc.message, fail=True)
        return 0
    rows = list(
        Sketch.objects.filter(pk__in=sketch_ids, category__in=run.categories.all())
        .order_by("pk")
        .values_list("pk", "category__slug")
    )
    if rows:
        try:
            do_score_and_store(handler, run, rows)
        except ValueError as exc:
            _do_record_failure(run_id, f"sketches {sketch_ids[0]}…{sketch_ids[-1]}: {exc}", fail=True)
            return 0
    do_refresh_run_progress(run_id)
    return len(rows)


@dataclass(frozen=True)
class ScoredRows:
    """Arrays of one task's results, in the order of ``sketch_ids`` (no model objects)."""

    sketch_ids: np.ndarray
    q: np.ndarray
    cos_theta_y: np.ndarray
    predicted_category_ids: list[int | None]
    correct: np.ndarray


@functools.cache
def _forward_thread() -> ThreadPoolExecutor:
    """The process's compute thread for forward passes (created at first use, after any fork)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sketchq-forward")


if hasattr(os, "register_at_fork"):  # a forked child must not inherit a pool whose thread did not fork
    os.register_at_fork(after_in_child=_forward_thread.cache_clear)


def overlap_db_and_forward() -> bool:
    """``SKETCHQ_SCORING_OVERLAP`` (default on): run forward passes on the compute thread while this
    thread reads and writes the database, whenever the forward leaves a core free
    (``ScoringHandler.leaves_a_core_free``); off, everything runs in turn on this thread."""
    return bool(settings.SKETCHQ_SCORING_OVERLAP)


class _SameThread:
    """``submit`` that runs at once on the calling thread (the serial path)."""

    def submit(self, fn, /, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future


def score_arrays(
    handler: ScoringHandler,
    ids: np.ndarray,
    X: np.ndarray,
    lengths: np.ndarray,
    targets: list[int],
    class_category: list[int | None],
) -> ScoredRows:
    """Pure: stored encoder input of some sketches → ``batch_of`` → ``infer`` → ``postprocess`` → arrays."""
    results = handler.postprocess(handler.infer(handler.batch_of(X, lengths)), targets)
    return ScoredRows(
        ids,
        np.asarray([r.q for r in results], dtype=np.float64),
        np.asarray([r.cos_theta_y for r in results], dtype=np.float64),
        [class_category[r.predicted_class_index] for r in results],
        np.asarray([r.correct for r in results], dtype=bool),
    )


def do_score_and_store(handler: ScoringHandler, run: ScoringRun, rows: list[tuple[int, str]]) -> None:
    """Score ``(sketch id, category slug)`` rows and upsert their scores, ``INFER_BATCH_SIZE`` at a time.

    While chunk k's forward pass runs on the compute thread (torch releases the GIL), this thread,
    which owns the database connection, writes chunk k − 1's scores and reads chunk k + 1's stored
    encoder input (:mod:`scoring.stored_input`), so most database time hides behind the network;
    only while the forward leaves a CPU core free (a GPU, or one thread under load), else in turn.
    One transaction: a chunk that fails (``ValueError``) leaves nothing written."""
    index = {slug: i for i, slug in enumerate(handler.class_names)}
    unknown = sorted({slug for _, slug in rows if slug not in index})
    if unknown:
        raise ValueError(f"the checkpoint has no class for {', '.join(unknown)}")
    category_ids = dict(Category.objects.filter(slug__in=handler.class_names).values_list("slug", "pk"))
    class_category = [category_ids.get(slug) for slug in handler.class_names]
    overlap, same_thread = overlap_db_and_forward(), _SameThread()
    pending: Future[ScoredRows] | None = None
    with transaction.atomic():
        for start in range(0, len(rows), INFER_BATCH_SIZE):
            # Chosen per chunk: with every core in the forward (free cores, two threads measured
            # faster) the database work would only stall it, so it runs in turn instead.
            forward = _forward_thread() if overlap and handler.leaves_a_core_free() else same_thread
            chunk = rows[start : start + INFER_BATCH_SIZE]
            ids = np.asarray([pk for pk, _ in chunk], dtype=np.int64)
            X, lengths = stored_input.do_encode_or_read(ids.tolist(), handler.config.max_len)
            targets = [index[slug] for _, slug in chunk]
            future = forward.submit(score_arrays, handler, ids, X, lengths, targets, class_category)
            if pending is not None:
                do_upsert_scores(run, pending.result())
            pending = future
        if pending is not None:
            do_upsert_scores(run, pending.result())


def do_upsert_scores(run: ScoringRun, scored: ScoredRows) -> None:
    """One set-based INSERT … ON CONFLICT (sketch, scorer) DO UPDATE for the whole task, without
    building model objects: ``unnest`` of arrays on PostgreSQL, ``executemany`` on SQLite."""
    table = SketchScore._meta.db_table
    now = timezone.now()
    columns = "sketch_id, scorer_id, run_id, q, cos_theta_y, predicted_class_id, correct, scored_at"
    update = ", ".join(
        f"{c} = excluded.{c}"
        for c in ("q", "cos_theta_y", "predicted_class_id", "correct", "run_id", "scored_at")
    )
    conflict = f"ON CONFLICT (sketch_id, scorer_id) DO UPDATE SET {update}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "
                "SELECT s, %s, %s, q, c, p, ok, %s FROM unnest(%s::bigint[], %s::float8[], %s::float8[], "
                f"%s::bigint[], %s::boolean[]) AS t(s, q, c, p, ok) {conflict}",
                [
                    run.scorer_id,
                    run.pk,
                    now,
                    scored.sketch_ids.tolist(),
                    scored.q.tolist(),
                    scored.cos_theta_y.tolist(),
                    scored.predicted_category_ids,
                    scored.correct.tolist(),
                ],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) {conflict}",
                [
                    (int(pk), run.scorer_id, run.pk, float(q), float(c), p, bool(ok), now)
                    for pk, q, c, p, ok in zip(
                        scored.sketch_ids,
                        scored.q,
                        scored.cos_theta_y,
                        scored.predicted_category_ids,
                        scored.correct,
                        strict=True,
                    )
                ],
            )


def preprocess(handler: ScoringHandler, stored_strokes: Sequence[list]) -> Batch:
    """Stored JSON strokes → the handler's padded batch (the path before stored encoder input;
    kept for the benchmark's "today" baseline and for callers without sketch ids)."""
    X, lengths = encode_stored(stored_strokes, max_len=handler.config.max_len)
    return handler.batch_of(X, lengths)


def do_refresh_run_progress(run_id: int) -> ScoringRun:
    """Recount ``done`` from the stored scores (exact under redelivery); finish the run when complete."""
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().get(pk=run_id)
        done = SketchScore.objects.filter(run_id=run_id).count()
        fields = ["done", "heartbeat_at"]
        run.done, run.heartbeat_at = done, timezone.now()  # each finished batch renews the lease
        if done >= run.total and run.status in UNFINISHED:
            run.status, run.finished_at = JobStatus.DONE, timezone.now()
            fields += ["status", "finished_at"]
        run.save(update_fields=fields)
    return run


def _do_record_failure(run_id: int, message: str, fail: bool) -> None:
    log.warning("scoring run %s: %s", run_id, message)
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().get(pk=run_id)
        if message not in run.errors:
            run.errors = [*run.errors, message][-MAX_ERRORS_KEPT:]
        fields = ["errors"]
        if fail and run.status in UNFINISHED:
            run.status, run.finished_at = JobStatus.FAILED, timezone.now()
            fields += ["status", "finished_at"]
        run.save(update_fields=fields)


def do_cancel_run(run: ScoringRun, user=None) -> bool:
    """Stop an unfinished run: its queued batches find it failed and do nothing. Scores written stay."""
    who = f" by {user}" if user is not None else ""
    cancelled = ScoringRun.objects.filter(pk=run.pk, status__in=UNFINISHED).update(
        status=JobStatus.FAILED, finished_at=timezone.now()
    )
    if cancelled:
        _do_record_failure(run.pk, f"cancelled{who}", fail=False)
    return bool(cancelled)


def do_record_unexpected_failure(run_id: int, exc: BaseException) -> None:
    """For the task: an error no retry fixes is shown on the run (which is marked failed)."""
    if ScoringRun.objects.filter(pk=run_id).exists():
        _do_record_failure(run_id, f"unexpected error: {type(exc).__name__}: {exc}", fail=True)


def unscored_sketch_ids(run: ScoringRun) -> list[int]:
    """The run's sketches that no batch of it has scored yet."""
    scored = SketchScore.objects.filter(run_id=run.pk).values("sketch_id")
    return list(
        Sketch.objects.filter(category__in=run.categories.all())
        .exclude(pk__in=scored)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def do_settle_scoring_run(run: ScoringRun, now=None) -> str:
    """The lease rule for a running run: every finished batch renews it. When it runs out
    (its workers died, or the batches were lost), queue the unscored sketches again as new
    batches (a re-claim: ``attempts`` + 1), or fail the run with a message once every attempt
    is spent. Batches are idempotent, so a late original and its re-queued copy both help."""
    if run.status != JobStatus.RUNNING:
        return leases.HELD
    now = now or timezone.now()
    verdict = leases.lease_verdict(
        run.heartbeat_at, now, jobs.lease_seconds(), run.attempts, jobs.max_attempts()
    )
    same = ScoringRun.objects.filter(
        pk=run.pk, status=JobStatus.RUNNING, attempts=run.attempts, heartbeat_at=run.heartbeat_at
    )
    if verdict == leases.RECLAIM:
        missing = unscored_sketch_ids(run)
        with transaction.atomic():
            if not same.update(attempts=run.attempts + 1, heartbeat_at=now):
                return verdict
            from scoring.tasks import score_batch

            for start in range(0, len(missing), run.task_batch_size):
                score_batch.delay_on_commit(run.pk, missing[start : start + run.task_batch_size])
        log.warning("scoring run %s: lease expired, %s sketches queued again", run.pk, len(missing))
        if not missing:
            do_refresh_run_progress(run.pk)
    elif verdict == leases.FAIL and same.exists():
        _do_record_failure(
            run.pk, leases.given_up_message("the scoring run", jobs.lease_seconds(), run.attempts), fail=True
        )
    return verdict


def do_sweep_scoring_runs(now=None) -> dict[str, int]:
    """Settle every running run whose lease ran out; counts per verdict."""
    return jobs.do_sweep(ScoringRun, JobStatus.RUNNING, do_settle_scoring_run, now)
