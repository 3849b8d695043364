"""`manage.py train_scorer` and the admin's train form: real (tiny) trainings on the sample sketches."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from PIL import Image

from scoring.actions import TrainingRequest, do_create_scorer, do_reset_for_training, do_train_scorer
from scoring.errors import ScoringInputError
from scoring.models import JobStatus, Scorer
from scoring.outputs import read_heldout
from sketches.models import Category, Sketch, Split
from tests.factories import SAMPLE_SCORER_CATEGORIES, TINY_CNN, make_category, make_sketches

pytestmark = pytest.mark.django_db
NEEDS_NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
TINY = [
    "--encoder",
    "cnn",
    "--epochs",
    "6",
    "--batch-size",
    "16",
    "--lr",
    "3e-3",
    "--encoder-kwargs",
    '{"feat_dim": 128, "channels": [32, 64, 96]}',
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def sample_sketches(db):
    return [s for name in SAMPLE_SCORER_CATEGORIES for s in make_sketches(name, 60)]


def _train(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("train_scorer", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_train_scorer_trains_on_train_evaluates_on_test_and_records_everything(sample_sketches):
    out, err = _train("--name", "tiny-cos", "--categories", *SAMPLE_SCORER_CATEGORIES, "--seed", "3", *TINY)
    scorer = Scorer.objects.get(name="tiny-cos")
    assert scorer.status == JobStatus.DONE and scorer.error == ""
    assert "held-out top-1" in out and scorer.checkpoint_sha256 in out
    assert "training" in err and "epoch" in err  # the progress bar
    with scorer.checkpoint.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == scorer.checkpoint_sha256
    assert (
        scorer.config["seed"] == 3
        and scorer.config["epochs"] == 6
        and scorer.config["encoder_kwargs"] == TINY_CNN
    )
    assert scorer.config["class_names"] == sorted(SAMPLE_SCORER_CATEGORIES)
    assert scorer.device == "cpu" and scorer.training_seconds > 0 and scorer.finished_at is not None
    assert scorer.progress["stage"] == "done"
    assert sorted(scorer.categories.values_list("slug", flat=True)) == sorted(SAMPLE_SCORER_CATEGORIES)

    m = scorer.metrics
    n_test = Sketch.objects.filter(split=Split.TEST).count()
    n_train = Sketch.objects.filter(split=Split.TRAIN).count()
    assert m["n_test"] == n_test and m["n_train"] in (n_train, n_train - 1)
    assert m["accuracy"] > m["chance"] == 0.25
    assert -1 <= m["spearman_q_cos"] <= 1
    assert set(m["q_summary"]) == set(SAMPLE_SCORER_CATEGORIES) == set(m["accuracy_per_category"])
    assert len(m["history"]) == 6

    with scorer.heldout.open("rb") as handle:
        heldout = read_heldout(handle.read())
    test_ids = set(Sketch.objects.filter(split=Split.TEST).values_list("pk", flat=True))
    assert set(heldout["sketch_ids"].tolist()) == test_ids  # evaluated on exactly the TEST split
    assert np.all(heldout["q"] > 0)
    with scorer.figure.open("rb") as handle:
        assert Image.open(handle).format == "PNG"


def test_a_collapsed_training_is_reported_and_saves_no_usable_scorer(sample_sketches):
    # One epoch leaves BatchNorm's running statistics unsettled: held-out accuracy is near chance.
    args = ["--name", "collapses", "--categories", *SAMPLE_SCORER_CATEGORIES, *TINY]
    args[args.index("--epochs") + 1] = "1"
    with pytest.raises(CommandError, match="training collapsed.*\n.*No usable scorer was saved"):
        _train(*args)
    scorer = Scorer.objects.get(name="collapses")
    assert scorer.status == JobStatus.FAILED and "collapsed" in scorer.error
    assert (
        not scorer.checkpoint and not scorer.checkpoint_sha256 and not scorer.figure and not scorer.is_ready
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--categories", "pig", "unicorn", "dragon"], "unknown categories: unicorn, dragon"),
        (["--categories", "pig"], "at least 2 categories"),
        (["--categories", "pig", "face", "--encoder-kwargs", '{"wings": 2}'], "does not accept"),
        (["--categories", "pig", "face", "--encoder-kwargs", "{nope"], "not valid JSON"),
        (["--categories", "pig", "face", "--train-options", '{"warp": 9}'], "unknown training option"),
        (["--categories", "pig", "face", "--lr", "0"], "learning rate must be positive"),
        (["--categories", "pig", "face", "--epochs", "0"], "epochs and batch_size must be >= 1"),
        (["--categories", "pig", "face", "--per-category", "0"], "per_category must be at least 1"),
        pytest.param(["--categories", "pig", "face", "--device", "cuda"], "no CUDA GPU", marks=NEEDS_NO_CUDA),
    ],
)
def test_bad_training_requests_are_refused_with_a_message_and_write_nothing(sample_sketches, args, message):
    with pytest.raises(CommandError, match=message):
        _train("--name", "refused", *args)
    assert not Scorer.objects.exists()


def test_a_category_without_test_sketches_is_named(db):
    make_sketches("pig", 20, split=Split.TRAIN)
    make_sketches("face", 20)
    with pytest.raises(CommandError, match=r"pig \(20 train, 0 test\)"):
        _train("--name", "refused", "--categories", "pig", "face")
    assert not Scorer.objects.exists()


def test_a_second_scorer_with_the_same_name_is_refused(sample_sketches):
    do_create_scorer(TrainingRequest(name="taken", categories=["pig", "face"]))
    with pytest.raises(CommandError, match="already exists"):
        _train("--name", "taken", "--categories", "pig", "face")
    assert Scorer.objects.count() == 1


def test_a_name_that_is_not_a_slug_is_refused(sample_sketches):
    with pytest.raises(ScoringInputError, match="must be a slug"):
        do_create_scorer(TrainingRequest(name="My Scorer!", categories=["pig", "face"]))


def test_without_categories_it_trains_on_every_category_that_has_train_and_test_sketches(sample_sketches):
    make_category("rabbit")  # no sketches at all: left out, not an error
    scorer = do_create_scorer(TrainingRequest(name="all", variant="softmax"))
    assert sorted(scorer.categories.values_list("slug", flat=True)) == sorted(SAMPLE_SCORER_CATEGORIES)
    assert scorer.status == JobStatus.PENDING and scorer.soft_binning is False


@NEEDS_NO_CUDA
def test_a_queued_scorer_for_a_device_the_worker_lacks_fails_with_the_reason(sample_sketches):
    scorer = do_create_scorer(TrainingRequest(name="wants-cuda", categories=["pig", "face"], device="cuda"))
    scorer = do_train_scorer(scorer.pk)
    assert scorer.status == JobStatus.FAILED and "no CUDA GPU" in scorer.error and not scorer.checkpoint


def test_training_runs_only_once_for_a_redelivered_task(sample_sketches):
    scorer = do_create_scorer(TrainingRequest(name="once", categories=["pig", "face"]))
    Scorer.objects.filter(pk=scorer.pk).update(status=JobStatus.RUNNING)
    assert do_train_scorer(scorer.pk).status == JobStatus.RUNNING  # not claimed twice


def test_train_again_requeues_a_failed_scorer_but_never_a_trained_one(
    sample_sketches, django_capture_on_commit_callbacks
):
    scorer = do_create_scorer(TrainingRequest(name="again", categories=["pig", "face"]))
    Scorer.objects.filter(pk=scorer.pk).update(status=JobStatus.FAILED, error="training collapsed: …")
    with django_capture_on_commit_callbacks() as callbacks:
        scorer = do_reset_for_training(Scorer.objects.get(pk=scorer.pk))
    assert scorer.status == JobStatus.PENDING and scorer.error == "" and len(callbacks) == 1
    Scorer.objects.filter(pk=scorer.pk).update(status=JobStatus.DONE)
    with pytest.raises(ScoringInputError, match="is trained"):
        do_reset_for_training(Scorer.objects.get(pk=scorer.pk))


def test_the_admin_train_form_queues_a_training_task(
    researcher_client, sample_sketches, django_capture_on_commit_callbacks
):
    pig, face = Category.objects.get(slug="pig"), Category.objects.get(slug="face")
    form = {
        "name": "from-admin",
        "variant": "add",
        "soft_binning": "on",
        "encoder": "cnn",
        "encoder_kwargs": "{}",
        "categories": [pig.pk, face.pk],
        "epochs": 3,
        "batch_size": 32,
        "lr": 0.001,
        "seed": 7,
        "device": "cpu",
    }
    with django_capture_on_commit_callbacks() as callbacks:
        response = researcher_client.post("/admin/scoring/scorer/add/", form)
    scorer = Scorer.objects.get(name="from-admin")
    assert response.status_code == 302 and response["Location"].endswith(
        f"/admin/scoring/scorer/{scorer.pk}/change/"
    )
    assert len(callbacks) == 1  # train_scorer.delay_on_commit
    assert scorer.status == JobStatus.PENDING and scorer.variant == "add" and scorer.config["seed"] == 7
    page = researcher_client.get(response["Location"]).content.decode()
    assert (
        "Queued" in page
        and f"/scoring/scorers/{scorer.pk}/progress/" in page
        and 'hx-trigger="every 2s"' in page
    )


def test_the_admin_train_form_shows_refusals_without_writing(researcher_client, sample_sketches):
    response = researcher_client.get("/admin/scoring/scorer/add/")
    assert response.status_code == 200 and "Train a scorer" in response.content.decode()
    response = researcher_client.post(
        "/admin/scoring/scorer/add/",
        {
            "name": "bad",
            "variant": "cos",
            "encoder": "cnn",
            "encoder_kwargs": '{"wings": 1}',
            "epochs": 2,
            "batch_size": 32,
            "lr": 0.001,
            "seed": 0,
            "device": "cpu",
        },
    )
    assert response.status_code == 200 and "does not accept" in response.content.decode()
    assert not Scorer.objects.exists()


def test_a_training_request_creates_the_scorer_and_queues_it_once_or_does_neither(
    sample_sketches, django_capture_on_commit_callbacks
):
    from scoring.actions import do_request_training

    with (
        django_capture_on_commit_callbacks() as queued,
        pytest.raises(ScoringInputError, match="must be a slug"),
    ):
        do_request_training(TrainingRequest(name="Bad Name", categories=["pig", "face"]))
    assert not Scorer.objects.exists() and queued == []
    with django_capture_on_commit_callbacks() as queued:
        scorer = do_request_training(TrainingRequest(name="queued", categories=["pig", "face"]))
    assert scorer.status == JobStatus.PENDING and len(queued) == 1
