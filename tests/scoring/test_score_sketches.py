"""`manage.py score_sketches`, scoring runs and their batch tasks (in-process), with a real checkpoint."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from scoring import checkpoints
from scoring.actions import do_cancel_run, do_score_batch, do_start_scoring_run
from scoring.inference import ScoringHandler
from scoring.models import JobStatus, ScoringRun, SketchScore
from sketches.models import Sketch
from tests.factories import (
    SAMPLE_SCORER_CATEGORIES,
    make_category,
    make_scorer,
    make_sketches,
    make_trained_scorer,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_media")]


@pytest.fixture
def sketches(db):
    return [s for name in SAMPLE_SCORER_CATEGORIES for s in make_sketches(name, 60)]


@pytest.fixture
def scorer(sketches, checkpoint_bytes):
    categories = [s.category for s in sketches]
    return make_trained_scorer("sample-cos", list(dict.fromkeys(categories)), checkpoint=checkpoint_bytes)


@pytest.fixture
def score(django_capture_on_commit_callbacks):
    """Run `score_sketches`; the batch tasks it queues run in-process when its transaction commits."""

    def run(*args) -> str:
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("score_sketches", *args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    return run


@pytest.mark.django_db(transaction=True)  # real commits: the tasks run before --wait polls
def test_score_sketches_scores_every_sketch_of_the_scorers_categories(scorer, sketches):
    out = io.StringIO()
    call_command(
        "score_sketches",
        "--scorer",
        "sample-cos",
        "--wait",
        "--batch-size",
        "64",
        stdout=out,
        stderr=io.StringIO(),
    )
    out = out.getvalue()
    run = ScoringRun.objects.get()
    assert f"Run #{run.pk} done: 240/240" in out
    assert run.status == JobStatus.DONE and run.done == run.total == 240 and run.task_batch_size == 64
    assert run.started_at and run.finished_at and run.errors == []
    scores = SketchScore.objects.filter(scorer=scorer)
    assert scores.count() == 240 and scores.filter(run=run).count() == 240
    assert all(s.q > 0 and -1 <= s.cos_theta_y <= 1 for s in scores)
    # The scores are the model's: the same as the handler run directly on the same sketches.
    handler = ScoringHandler.from_bytes(scorer.checkpoint.read(), device="cpu")
    pig = [s for s in sketches if s.category.slug == "pig"][:5]
    from sketches.geometry import strokes_from_json

    direct = handler.score(
        [strokes_from_json(s.strokes) for s in pig], [handler.class_names.index("pig")] * 5
    )
    for sketch, expected in zip(pig, direct):
        stored = scores.get(sketch=sketch)
        assert stored.q == pytest.approx(expected.q, rel=1e-5)
        assert stored.cos_theta_y == pytest.approx(expected.cos_theta_y, abs=1e-5)
        assert stored.correct == expected.correct
        assert stored.predicted_class.slug == handler.class_names[expected.predicted_class_index]
    assert scores.filter(correct=True).count() > 240 * 0.5  # a trained model, not noise


def test_scoring_again_updates_the_same_rows(scorer, sketches, score):
    score("--scorer", "sample-cos")
    first = dict(SketchScore.objects.values_list("sketch_id", "q"))
    score("--scorer", "sample-cos", "--category", "pig", "face")
    second_run = ScoringRun.objects.order_by("-pk").first()
    assert SketchScore.objects.count() == 240  # upserted, never duplicated
    assert second_run.total == second_run.done == 120 and second_run.status == JobStatus.DONE
    assert dict(SketchScore.objects.values_list("sketch_id", "q")) == pytest.approx(first)


def test_a_redelivered_batch_rewrites_its_rows_and_keeps_done_exact(
    scorer, sketches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        run = do_start_scoring_run(scorer, task_batch_size=100)
    assert len(callbacks) == 3  # 240 sketches in batches of 100: nothing ran yet
    batch = list(Sketch.objects.order_by("pk").values_list("pk", flat=True)[:100])
    assert do_score_batch(run.pk, batch) == 100
    assert do_score_batch(run.pk, batch) == 100  # the same message, delivered again
    run.refresh_from_db()
    assert run.done == 100 and run.status == JobStatus.RUNNING and SketchScore.objects.count() == 100
    for callback in callbacks:
        callback()
    run.refresh_from_db()
    assert (
        run.done == run.total == 240 and run.status == JobStatus.DONE and SketchScore.objects.count() == 240
    )


def test_the_checkpoint_is_loaded_and_verified_once_per_process(
    scorer, sketches, monkeypatch, django_capture_on_commit_callbacks
):
    reads = []
    original = checkpoints.read_verified
    monkeypatch.setattr(checkpoints, "read_verified", lambda s: reads.append(s.pk) or original(s))
    with django_capture_on_commit_callbacks(execute=True):
        run = do_start_scoring_run(scorer, task_batch_size=60)
    run.refresh_from_db()
    assert run.done == 240 and len(reads) == 2  # once at the start (refuse early), once in the worker
    assert checkpoints.cached_keys() == [f"{scorer.checkpoint_sha256}:auto"]


# -- bad input: a message, and nothing written ---------------------------------------------


@pytest.fixture
def refused(score):
    def check(args, message):
        with pytest.raises(CommandError, match=message):
            score(*args)
        assert not ScoringRun.objects.exists() and not SketchScore.objects.exists()

    return check


def test_an_unknown_scorer_is_refused(scorer, refused):
    refused(["--scorer", "nope"], "no scorer named 'nope'; known scorers: sample-cos")


def test_a_scorer_that_is_not_trained_is_refused(sketches, refused):
    make_scorer("queued", status=JobStatus.PENDING, checkpoint_sha256="")
    refused(["--scorer", "queued"], "not trained")


def test_a_missing_checkpoint_file_is_refused(scorer, refused):
    scorer.checkpoint.storage.delete(scorer.checkpoint.name)
    refused(["--scorer", "sample-cos"], "checkpoint file .* is missing")


def test_a_scorer_without_a_checkpoint_is_refused(sketches, refused):
    make_scorer("no-file", categories=[make_category("pig")])
    refused(["--scorer", "no-file"], "has no checkpoint")


def test_a_checkpoint_whose_sha256_does_not_match_is_refused(scorer, refused):
    path = scorer.checkpoint.path
    with open(path, "r+b") as handle:  # flip one byte of the stored file
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    refused(["--scorer", "sample-cos"], "has sha256 .* but .* was recorded at training; refusing")


def test_a_tampered_checkpoint_is_caught_by_the_worker_too(
    scorer, sketches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        run = do_start_scoring_run(scorer, task_batch_size=240)
    scorer.checkpoint.storage.delete(scorer.checkpoint.name)
    scorer.checkpoint.storage.save(scorer.checkpoint.name, io.BytesIO(b"not the trained weights"))
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "refusing to use it" in run.errors[0]
    assert not SketchScore.objects.exists()


def test_a_category_the_scorer_was_not_trained_on_is_refused_by_name(scorer, refused):
    make_sketches("ambulance", 5)
    refused(
        ["--scorer", "sample-cos", "--category", "pig", "ambulance"],
        "was not trained on ambulance: it can only score apple, cactus, face, pig",
    )


def test_an_unknown_category_is_refused_by_name(scorer, refused):
    refused(["--scorer", "sample-cos", "--category", "pig", "unicorn"], "unknown category: unicorn")


def test_a_category_with_no_sketches_is_refused_by_name(scorer, refused):
    scorer.categories.add(make_category("rabbit"))
    refused(["--scorer", "sample-cos", "--category", "rabbit"], "no sketches to score in rabbit")


def test_a_second_run_while_one_is_unfinished_is_refused(scorer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        first = do_start_scoring_run(scorer)
    with pytest.raises(CommandError, match=f"already has run #{first.pk} in progress"):
        call_command("score_sketches", "--scorer", "sample-cos", stdout=io.StringIO())
    assert ScoringRun.objects.count() == 1


def test_a_cancelled_run_does_nothing_more(scorer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        run = do_start_scoring_run(scorer, task_batch_size=120)
    assert do_cancel_run(run, user="researcher")
    for callback in callbacks:
        callback()
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and run.errors == ["cancelled by researcher"]
    assert not SketchScore.objects.exists()
    assert not do_cancel_run(run)  # already finished


def test_a_task_scores_in_overlapped_chunks_with_the_scores_of_one_forward_pass(
    scorer, sketches, monkeypatch
):
    """``do_score_and_store`` reads, scores and writes ``INFER_BATCH_SIZE`` sketches at a time (the
    forward pass on a compute thread); chunking changes no score and the upsert covers every chunk."""
    import numpy as np

    from scoring import runs, stored_input

    monkeypatch.setattr(runs, "INFER_BATCH_SIZE", 50)  # 240 sketches: 5 chunks, the last one short
    run = ScoringRun.objects.create(scorer=scorer, total=240, task_batch_size=240)
    run.categories.set({s.category for s in sketches})
    ids = sorted(s.pk for s in sketches)
    assert do_score_batch(run.pk, ids) == 240
    run.refresh_from_db()
    assert run.status == JobStatus.DONE and run.done == 240
    handler = ScoringHandler.from_bytes(scorer.checkpoint.read(), device="cpu")
    X, lengths = stored_input.do_encode_or_read(ids, handler.config.max_len)
    expected = handler.infer(handler.batch_of(X, lengths)).q.numpy()
    stored = dict(SketchScore.objects.filter(run=run).values_list("sketch_id", "q"))
    np.testing.assert_allclose([stored[pk] for pk in ids], expected, rtol=1e-5)


def test_a_chunk_that_fails_mid_task_leaves_none_of_the_tasks_scores_written(scorer, sketches, monkeypatch):
    from scoring import runs, stored_input

    real = stored_input.do_encode_or_read
    calls = []

    def fail_on_third_chunk(ids, max_len):
        calls.append(len(ids))
        if len(calls) == 3:
            raise ValueError("sketch 123 has no points")
        return real(ids, max_len)

    monkeypatch.setattr(runs, "INFER_BATCH_SIZE", 50)
    monkeypatch.setattr(runs.stored_input, "do_encode_or_read", fail_on_third_chunk)
    run = ScoringRun.objects.create(scorer=scorer, total=240, task_batch_size=240)
    run.categories.set({s.category for s in sketches})
    assert do_score_batch(run.pk, sorted(s.pk for s in sketches)) == 0
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "has no points" in run.errors[-1]
    assert calls == [50, 50, 50] and not SketchScore.objects.filter(run=run).exists()


def test_database_work_overlaps_the_forward_only_while_it_leaves_a_core_free(scorer, sketches, monkeypatch):
    """With every core in the forward pass the chunks run in turn on the task's thread; with a core
    free they run on the compute thread. Same scores either way."""
    import threading

    from scoring import runs
    from scoring.inference import ScoringHandler

    monkeypatch.setattr(runs, "INFER_BATCH_SIZE", 60)
    threads_used = []
    real = runs.score_arrays

    def recording(*args):
        threads_used.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(runs, "score_arrays", recording)
    ids = sorted(s.pk for s in sketches)
    scores = {}
    for free in (False, True):
        monkeypatch.setattr(ScoringHandler, "leaves_a_core_free", lambda self, free=free: free)
        threads_used.clear()
        run = ScoringRun.objects.create(scorer=scorer, total=240, task_batch_size=240)
        run.categories.set({s.category for s in sketches})
        assert do_score_batch(run.pk, ids) == 240
        on_compute_thread = [name.startswith("sketchq-forward") for name in threads_used]
        assert on_compute_thread == [free] * 4, threads_used
        scores[free] = dict(SketchScore.objects.filter(run=run).values_list("sketch_id", "q"))
    assert scores[False] == scores[True]


def test_a_forward_leaves_a_core_free_on_fewer_threads_than_cores(scorer, monkeypatch):
    from scoring import inference
    from scoring.inference import ScoringHandler

    monkeypatch.setattr(inference, "cpu_cores", lambda: 2)
    data = scorer.checkpoint.read()
    assert ScoringHandler.from_bytes(data, device="cpu", threads=1).leaves_a_core_free()
    assert not ScoringHandler.from_bytes(data, device="cpu", threads=2).leaves_a_core_free()
    measured = ScoringHandler.from_bytes(data, device="cpu", threads="auto")
    assert not measured.leaves_a_core_free()  # untried: all cores first
    measured.thread_chooser.record(2, 100, 1.0)
    measured.thread_chooser.record(1, 100, 0.5)  # one thread measured faster, as under load
    assert measured.leaves_a_core_free()
