"""Small factories for tests. Sketches come from the real sample, never random strokes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import Permission, User

from sketches import geometry
from sketches.models import Category, Sketch, split_for_key

SAMPLE_DIR = Path(settings.BASE_DIR) / "sketches" / "fixtures" / "quickdraw_sample"
RESEARCHER_APPS = ("sketches", "scoring", "studies", "annotation", "analysis")


def grant_researcher_permissions(user: User) -> None:
    """Researchers may manage everything in the research apps (not users or groups)."""
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=RESEARCHER_APPS))


def sample_records(category_file: str = "pig", n: int = 10) -> list[dict]:
    with (SAMPLE_DIR / f"{category_file}.ndjson").open() as handle:
        return [json.loads(line) for _, line in zip(range(n), handle)]


def make_category(name: str = "pig") -> Category:
    category, _ = Category.objects.get_or_create(slug=Category.slug_for(name), defaults={"name": name})
    return category


def make_sketches(
    category_file: str = "pig", n: int = 10, split: str | None = None, skip: int = 0
) -> list[Sketch]:
    """Store ``n`` real sample sketches of one category (optionally forcing a split),
    after skipping the file's first ``skip`` records."""
    category = make_category(category_file.replace("_", " "))
    rows = []
    for record in sample_records(category_file, skip + n)[skip:]:
        strokes = [np.column_stack(s[:2]).astype(float) for s in record["drawing"]]
        min_x, min_y, max_x, max_y = geometry.bounding_box(strokes)
        rows.append(
            Sketch(
                category=category,
                source="quickdraw",
                key_id=record["key_id"],
                strokes=geometry.strokes_to_json(geometry.normalise(strokes)),
                stroke_count=len(strokes),
                point_count=geometry.point_count(strokes),
                bbox_min_x=min_x,
                bbox_min_y=min_y,
                bbox_width=max_x - min_x,
                bbox_height=max_y - min_y,
                split=split or split_for_key("quickdraw", category.slug, record["key_id"]),
            )
        )
    return Sketch.objects.bulk_create(rows)


# -- scoring and studies ---------------------------------------------------------------

TEST_SHA256 = "5e" * 32


def sanity_summary(share: float) -> dict:
    """A stored sanity report reduced to what the launch check reads: q falls for ``share`` of
    held-out sketches in every family at moderate severity. Factory scorers have no checkpoint to
    run the real report on (tests/scoring/test_evaluate_scorer.py runs it on a trained one)."""
    from scoring.sanity import DEFAULT_MIN_SHARE
    from sketches.degradations import FAMILIES, MODERATE

    rows = {f: {"family": f, "severity": MODERATE, "share": share, "category": "all"} for f in FAMILIES}
    return {"summary": rows, "min_share": DEFAULT_MIN_SHARE, "passed": share >= DEFAULT_MIN_SHARE, "rows": []}


def make_scorer(name: str = "test-gacl-cos", categories=(), variant: str = "cos", **fields):
    """A finished scorer row (no checkpoint file: tests only need its status and hash), with a
    passing sanity report unless ``metrics`` is given."""
    from scoring.models import JobStatus, Scorer

    defaults = {
        "variant": variant,
        "soft_binning": variant != "softmax",
        "encoder": "test",
        "status": JobStatus.DONE,
        "checkpoint_sha256": TEST_SHA256,
        "metrics": {"sanity": sanity_summary(0.9)},
    }
    scorer = Scorer.objects.create(name=name, **{**defaults, **fields})
    scorer.categories.set(categories)
    return scorer


def feature_q(sketch: Sketch, stroke_weight: float = 0.0) -> float:
    """NOT a model score: a deterministic stand-in computed from real sketch features
    (point count plus ``stroke_weight`` × stroke count), so tests have realistic,
    tied and skewed q values without training a scorer."""
    return float(sketch.point_count) + stroke_weight * float(sketch.stroke_count)


def make_scores(scorer, sketches, stroke_weight: float = 0.0):
    """SketchScore rows whose q is ``feature_q`` (see there: not a model output)."""
    from scoring.models import SketchScore

    return SketchScore.objects.bulk_create(
        [
            SketchScore(
                sketch=s,
                scorer=scorer,
                q=feature_q(s, stroke_weight),
                cos_theta_y=0.5,
                correct=True,
                predicted_class_id=s.category_id,
            )
            for s in sketches
        ]
    )


def make_study(slug: str = "pig-face-study", owner=None, categories=(), scorers=(), **config):
    """A draft study with small, feasible sizes for the in-repo sample (override any field)."""
    from studies.models import Study

    defaults = {
        "name": slug.replace("-", " ").title(),
        "pairs_per_cell": 40,
        "n_levels": 4,
        "trials_per_participant": 40,
        "practice_trials": 3,
        "sentinels_per_participant": 4,
        "max_sentinel_mistakes": 2,
        "duplicates_per_participant": 4,
        "min_duplicate_distance": 10,
        "auto_gold_pairs": 0,  # model-suggested gold would need a review before a live launch
        "degradation_gold_pairs": 12,
        # Test clients answer within microseconds of the page: the response-time rule is
        # off unless a test is about it (the simulated crowd sends browser-like times).
        "too_fast_ms": 0,
        # Likewise the bot flags (studies.bot_flags) are shown but exclude no one: test clients
        # send no telemetry and answer in alternating or fixed patterns. Tests about them turn it on.
        "exclude_flagged": False,
        "seed": 20261122,
        "completion_code": "C0DE1234",
    }
    study = Study.objects.create(slug=slug, owner=owner, **{**defaults, **config})
    study.categories.set(categories)
    study.scorers.set(scorers)
    return study


SAMPLE_PER_FILE = 60


def make_scored_study(
    slug: str = "pig-face-study", owner=None, category_files=("pig", "face"), n=60, held_out=12, **config
):
    """Real sample sketches: up to ``n`` in the test split and ``held_out`` more in the
    validation split (the sources of degradation gold), two scorers with feature-based q
    (see ``feature_q``: not model scores), and a draft study over them."""
    from sketches.models import Category, Split

    n_test = min(n, SAMPLE_PER_FILE - held_out)
    for name in category_files:
        if not Sketch.objects.filter(category__slug=Category.slug_for(name)).exists():
            make_sketches(name, n_test, split=Split.TEST)
            if held_out:
                make_sketches(name, held_out, split=Split.VAL, skip=n_test)
    categories = list(Category.objects.filter(slug__in=[Category.slug_for(c) for c in category_files]))
    sketches = list(Sketch.objects.filter(category__in=categories))
    scorers = []
    for name, variant, weight in (("test-gacl-cos", "cos", 0.0), ("test-softmax", "softmax", 3.0)):
        from scoring.models import Scorer

        scorer = Scorer.objects.filter(name=name).first()
        if scorer is None:
            scorer = make_scorer(name, categories, variant=variant)
            make_scores(scorer, sketches, stroke_weight=weight)
        scorers.append(scorer)
    return make_study(slug, owner=owner, categories=categories, scorers=scorers, **config)


# -- trained scorers: real checkpoints from the in-repo sample (scoring) -----------------

SAMPLE_SCORER_CATEGORIES = ("apple", "cactus", "face", "pig")
TINY_CNN = {"feat_dim": 128, "channels": [32, 64, 96]}


def tiny_training_config(variant: str = "cos", seed: int = 0, **overrides):
    """A TrainConfig that learns the 4 sample categories in ~10 s on 2 CPU cores.

    Pinned to the authors' working range [10, 100] and the paper's margins, as it was trained before
    issue 10 changed the defaults for the full-size scorer: tests that plan studies on this tiny
    scorer's q (e.g. the README script's four balanced levels over 60 pig sketches) depend on the
    shape of its q distribution, which is not what they test."""
    from scoring.gacl import L_A, U_A, default_margin_range
    from scoring.training import TrainConfig

    base = dict(
        encoder="cnn",
        encoder_kwargs=dict(TINY_CNN),
        variant=variant,
        epochs=6,
        batch_size=16,
        lr=3e-3,
        seed=seed,
        num_threads=2,
        l_a=L_A,
        u_a=U_A,
        margin_range=None if variant == "softmax" else default_margin_range(variant),
    )
    return TrainConfig(**{**base, **overrides})


_CHECKPOINTS: dict[tuple, bytes] = {}


def sample_checkpoint(variant: str = "cos", categories=SAMPLE_SCORER_CATEGORIES, seed: int = 0) -> bytes:
    """A REAL checkpoint: a tiny CNN scorer trained on the in-repo sample sketches of
    ``categories`` (80/20 split, 6 epochs). Trained once per test process and cached."""
    key = (variant, tuple(categories), seed)
    if key not in _CHECKPOINTS:
        from scoring.dataset import load_ndjson_dir, stratified_split
        from scoring.encoding import encode_stored
        from scoring.training import save_checkpoint, train

        sketches = load_ndjson_dir(SAMPLE_DIR, list(categories), 60)
        X, lengths = encode_stored([geometry.strokes_to_json(s) for s in sketches.strokes])
        tr, te = stratified_split(sketches.labels, 0.2, seed)
        y = sketches.labels
        config = tiny_training_config(variant, seed, class_names=[Category.slug_for(c) for c in categories])
        result = train(config, X[tr], lengths[tr], y[tr], X[te], lengths[te], y[te])
        _CHECKPOINTS[key] = save_checkpoint(result)
    return _CHECKPOINTS[key]


def make_trained_scorer(name: str = "sample-gacl-cos", categories=(), variant: str = "cos", checkpoint=None):
    """A ready scorer whose checkpoint (``sample_checkpoint`` unless given) is in Django storage."""
    from scoring import checkpoints
    from scoring.models import JobStatus, Scorer

    scorer = Scorer(
        name=name,
        variant=variant,
        soft_binning=variant != "softmax",
        encoder="cnn",
        status=JobStatus.DONE,
        device="cpu",
        config={"encoder_kwargs": TINY_CNN, "variant": variant},
        metrics={"sanity": sanity_summary(0.9)},
    )
    checkpoints.do_store_checkpoint(
        scorer, checkpoint if checkpoint is not None else sample_checkpoint(variant)
    )
    scorer.save()
    scorer.categories.set(categories)
    return scorer
