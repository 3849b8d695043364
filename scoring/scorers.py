"""Scorers: create, queue and train them. Outside callers import these from ``scoring.actions``.

Scoring runs (score sketches with a trained scorer) are in :mod:`scoring.runs`.
``do_create_scorer`` and ``do_request_training`` validate the request first and raise
:class:`ScoringInputError` with a message naming the problem, before anything is written.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify

from scoring import checkpoints, outputs
from scoring.data import encode_ids, split_ids
from scoring.encoders import DEFAULT_ENCODER, ENCODERS, build_encoder
from scoring.errors import ScoringInputError
from scoring.model_io import DEFAULT_EPOCHS
from scoring.models import JobStatus, Scorer, Variant
from scoring.training import TrainConfig, TrainingCollapsed, save_checkpoint, train
from sketches.models import Category, Sketch, Split

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")
#: Called with (stage, details) while a scorer trains: stage is "encoding", "training" or "saving".
TrainProgress = Callable[[str, dict[str, Any]], None]


@dataclass
class TrainingRequest:
    """What a researcher asks for; validated by :func:`do_create_scorer`."""

    name: str
    variant: str = Variant.COS
    soft_binning: bool = True
    encoder: str = DEFAULT_ENCODER
    encoder_kwargs: dict[str, Any] = field(default_factory=dict)
    categories: Sequence[str] | None = (
        None  # names or slugs; None = every category with train & test sketches
    )
    per_category: int | None = None  # training sketches per category (lowest ids first); None = all
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    #: Further :class:`TrainConfig` fields (e.g. ``tau``, ``warmup_epochs``, collapse thresholds).
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_categories(names: Sequence[str]) -> list[Category]:
    """Categories by name or slug, in slug order; unknown ones are named in the error."""
    wanted = {Category.slug_for(n.strip()): n.strip() for n in names if n.strip()}
    found = {c.slug: c for c in Category.objects.filter(slug__in=wanted)}
    unknown = [name for slug, name in wanted.items() if slug not in found]
    if unknown:
        raise ScoringInputError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}")
    return sorted(found.values(), key=lambda c: c.slug)


def _split_counts(categories: Sequence[Category]) -> dict[tuple[int, str], int]:
    rows = (
        Sketch.objects.filter(category__in=categories)
        .values_list("category_id", "split")
        .order_by()
        .annotate(n=Count("pk"))
    )
    return {(cid, split): n for cid, split, n in rows}


def _training_categories(request: TrainingRequest) -> list[Category]:
    if request.categories:
        categories = resolve_categories(request.categories)
    else:
        categories = list(Category.objects.order_by("slug"))
    counts = _split_counts(categories)
    lacking = [
        f"{c.name} ({counts.get((c.pk, Split.TRAIN), 0)} train, {counts.get((c.pk, Split.TEST), 0)} test)"
        for c in categories
        if not counts.get((c.pk, Split.TRAIN)) or not counts.get((c.pk, Split.TEST))
    ]
    if request.categories and lacking:
        raise ScoringInputError(
            "every category needs sketches in both the train and the test split; these lack some: "
            + ", ".join(lacking)
        )
    if not request.categories:
        categories = [
            c for c in categories if counts.get((c.pk, Split.TRAIN)) and counts.get((c.pk, Split.TEST))
        ]
    if len(categories) < 2:
        raise ScoringInputError(
            f"a scorer needs at least 2 categories with train and test sketches, got {len(categories)}"
            + (" (import sketches first)" if not categories else "")
        )
    return categories


def _train_config(request: TrainingRequest, categories: Sequence[Category]) -> TrainConfig:
    if request.encoder not in ENCODERS:
        raise ScoringInputError(
            f"unknown encoder {request.encoder!r}; choose one of {', '.join(sorted(ENCODERS))}"
        )
    if request.device not in DEVICES:
        raise ScoringInputError(f"unknown device {request.device!r}; choose one of {', '.join(DEVICES)}")
    if not request.lr > 0:
        raise ScoringInputError(f"the learning rate must be positive, got {request.lr}")
    if request.per_category is not None and request.per_category < 1:
        raise ScoringInputError("per_category must be at least 1")
    try:
        build_encoder(request.encoder, **request.encoder_kwargs)
    except (TypeError, ValueError) as exc:
        raise ScoringInputError(
            f"encoder {request.encoder!r} does not accept {request.encoder_kwargs}: {exc}"
        ) from exc
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(request.extra) - known)
    if unknown:
        raise ScoringInputError(f"unknown training option(s): {', '.join(unknown)}")
    try:
        return TrainConfig(
            **{
                **request.extra,
                "encoder": request.encoder,
                "encoder_kwargs": dict(request.encoder_kwargs),
                "variant": request.variant,
                "soft_binning": request.soft_binning and request.variant != Variant.SOFTMAX,
                "epochs": request.epochs,
                "batch_size": request.batch_size,
                "lr": request.lr,
                "seed": request.seed,
                "device": request.device,
                "class_names": [c.slug for c in categories],
            }
        )
    except (TypeError, ValueError) as exc:
        raise ScoringInputError(str(exc)) from exc


def do_create_scorer(request: TrainingRequest, user=None) -> Scorer:
    """Validate a training request and store it as a pending :class:`Scorer` (not trained yet)."""
    name = request.name.strip()
    if not name or slugify(name) != name:
        raise ScoringInputError(f"scorer name {name!r} must be a slug: lowercase letters, digits and hyphens")
    if Scorer.objects.filter(name=name).exists():
        raise ScoringInputError(
            f"a scorer named {name!r} already exists; pick another name or delete it first"
        )
    if request.variant not in Variant.values:
        raise ScoringInputError(
            f"unknown variant {request.variant!r}; choose one of {', '.join(Variant.values)}"
        )
    categories = _training_categories(request)
    config = _train_config(request, categories)
    with transaction.atomic():
        scorer = Scorer.objects.create(
            name=name,
            variant=config.variant,
            soft_binning=config.uses_soft_binning,
            encoder=config.encoder,
            config=outputs.clean({**dataclasses.asdict(config), "per_category": request.per_category}),
            created_by=user if user is not None and user.is_authenticated else None,
            progress={"stage": "queued"},
        )
        scorer.categories.set(categories)
    return scorer


def device_problem(device: str) -> str | None:
    """Why ``device`` cannot be used in this process, or None if it can."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        return "device 'cuda' was requested, but this process has no CUDA GPU (use auto or cpu)"
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and not (mps is not None and mps.is_available()):
        return "device 'mps' was requested, but this process has no Apple GPU (use auto or cpu)"
    return None


def _set_progress(scorer_id: int, progress: dict[str, Any]) -> None:
    Scorer.objects.filter(pk=scorer_id).update(progress=outputs.clean(progress))


def do_train_scorer(scorer_id: int, progress: TrainProgress | None = None) -> Scorer:
    """Train a pending scorer on the TRAIN split, evaluate on TEST, store everything.

    Idempotent: only a pending scorer is trained (the claim is a conditional
    UPDATE); any other is returned as it is. A collapse or a bad configuration
    leaves the scorer ``failed`` with the message and no checkpoint.
    """
    claimed = Scorer.objects.filter(pk=scorer_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, progress={"stage": "encoding"}, error=""
    )
    scorer = Scorer.objects.get(pk=scorer_id)
    if not claimed:
        return scorer
    report = progress or (lambda stage, details: None)
    try:
        return _train_claimed(scorer, report)
    except (TrainingCollapsed, ScoringInputError, ValueError, RuntimeError) as exc:
        message = str(exc) if isinstance(exc, TrainingCollapsed) else f"{type(exc).__name__}: {exc}"
        _fail(scorer, message)
        return scorer
    except BaseException as exc:
        _fail(scorer, f"unexpected error: {type(exc).__name__}: {exc}")
        raise


def _fail(scorer: Scorer, message: str) -> None:
    log.warning("scorer %s failed: %s", scorer.name, message)
    scorer.status, scorer.error, scorer.finished_at = JobStatus.FAILED, message, timezone.now()
    scorer.progress = {**scorer.progress, "stage": "failed"}
    scorer.save(update_fields=["status", "error", "finished_at", "progress"])


def _train_claimed(scorer: Scorer, report: TrainProgress) -> Scorer:
    stored = {
        k: v for k, v in scorer.config.items() if k in {f.name for f in dataclasses.fields(TrainConfig)}
    }
    config = TrainConfig(**stored)
    problem = device_problem(config.device)
    if problem:
        raise ScoringInputError(problem)
    categories = list(scorer.categories.order_by("slug"))
    if [c.slug for c in categories] != list(config.class_names):
        raise ScoringInputError("the scorer's categories changed after it was queued; create a new scorer")
    per_category = scorer.config.get("per_category")

    def encoding(done: int, total: int) -> None:
        details = {"stage": "encoding", "done": done, "total": total}
        _set_progress(scorer.pk, details)
        report("encoding", details)

    train_ids, train_labels = split_ids(categories, Split.TRAIN, per_category)
    if len(train_ids) % config.batch_size == 1 and len(train_ids) > 1:
        # A last batch of one sketch breaks BatchNorm in training mode: leave one out.
        train_ids, train_labels = train_ids[:-1], train_labels[:-1]
    test_ids, test_labels = split_ids(categories, Split.TEST)
    train_set = encode_ids(train_ids, train_labels, config.max_len, encoding)
    test_set = encode_ids(test_ids, test_labels, config.max_len)

    def epoch_done(record: dict[str, float]) -> None:
        details = {**record, "stage": "training", "epoch": int(record["epoch"]) + 1, "epochs": config.epochs}
        _set_progress(scorer.pk, details)
        report("training", details)

    started = timezone.now()
    result = train(
        config,
        train_set.X,
        train_set.lengths,
        train_set.labels,
        test_set.X,
        test_set.lengths,
        test_set.labels,
        progress=epoch_done,
    )
    report("saving", {"stage": "saving"})
    names = [c.name for c in categories]
    display = dict(zip(result.class_names, names, strict=True))
    heldout = outputs.heldout_npz(test_set.sketch_ids, test_set.labels, result)
    figure = outputs.training_figure(scorer.name, outputs.read_heldout(heldout), display)
    with transaction.atomic():
        checkpoints.do_store_checkpoint(scorer, save_checkpoint(result))
        scorer.heldout.save(f"{scorer.name}-heldout.npz", ContentFile(heldout), save=False)
        scorer.figure.save(f"{scorer.name}-q-theta.png", ContentFile(figure), save=False)
        scorer.metrics = outputs.metrics_of(result, test_set.labels, names, len(train_ids))
        scorer.config = outputs.clean(
            {
                **dataclasses.asdict(result.config),
                "per_category": per_category,
                "started_at": started.isoformat(),
            }
        )
        scorer.device = result.device
        scorer.training_seconds = result.seconds
        scorer.status = JobStatus.DONE
        scorer.finished_at = timezone.now()
        scorer.progress = {**scorer.progress, "stage": "done"}
        scorer.save()
    return scorer


def do_request_training(request: TrainingRequest, *, user=None) -> Scorer:
    """Create a pending scorer and queue its training, in one transaction: the admin's
    "Train a scorer" and ``POST /api/scorers/`` both call this. Raises
    ``ScoringInputError`` (nothing written, nothing queued) for a bad request."""
    with transaction.atomic():
        scorer = do_create_scorer(request, user=user)
        do_queue_training(scorer)
    return scorer


def do_queue_training(scorer: Scorer) -> None:
    """Send a pending scorer to a GPU worker once the current transaction commits."""
    from scoring.tasks import train_scorer

    train_scorer.delay_on_commit(scorer.pk)


def do_reset_for_training(scorer: Scorer) -> Scorer:
    """Put a failed (or stalled running) scorer back to pending with its configuration,
    dropping any outputs, and queue it. A finished scorer is never reset."""
    if scorer.status == JobStatus.DONE:
        raise ScoringInputError(f"scorer {scorer.name!r} is trained; create a new scorer to train again")
    with transaction.atomic():
        updated = Scorer.objects.filter(
            pk=scorer.pk, status__in=[JobStatus.FAILED, JobStatus.RUNNING]
        ).update(
            status=JobStatus.PENDING,
            error="",
            progress={"stage": "queued"},
            metrics={},
            device="",
            training_seconds=None,
            checkpoint="",
            checkpoint_sha256="",
            figure="",
            heldout="",
            finished_at=None,
        )
        if updated:
            do_queue_training(scorer)
    scorer.refresh_from_db()
    return scorer
