"""The scoring step of `make demo`: train GACL-cos and softmax, then score every sketch with both.

Reuses what exists: a scorer that is ready with its checkpoint in storage is kept,
and sketches it has already scored are not scored again.

Choice of data (what a new user waits for): the 5 categories of the in-repo sample
(ambulance, apple, cactus, face, pig; all have >= 500 sketches in the shared corpus),
300 training sketches per category, 6 epochs of the default encoder. That is
about 1–2 minutes per scorer on 2 CPU cores, and both scorers score the 9,000
sketches of those categories in seconds. Training all 21 categories with >= 500
sketches takes several times longer for the same demonstration, so `train_scorer`
is there for that. Without the shared corpus the same categories come from the
in-repo sample (60 sketches each), trained with smaller batches.
"""

from __future__ import annotations

from django.urls import reverse

from scoring import actions
from scoring.admin import extremes_url, figure_url, scores_url
from scoring.errors import ScoringInputError
from scoring.models import JobStatus, Scorer, ScoringRun, SketchScore
from sketches.models import Category, Sketch, Split

DEMO_CATEGORIES = ["ambulance", "apple", "cactus", "face", "pig"]
PER_CATEGORY = 300
EPOCHS = 6
SEED = 0
DEMO_SCORERS = [("demo-gacl-cos", "cos"), ("demo-softmax", "softmax")]
#: Encoder keyword arguments (the default encoder; tests pass a smaller one).
ENCODER_KWARGS: dict = {}


def _checkpoint_present(scorer: Scorer) -> bool:
    return (
        scorer.is_ready
        and bool(scorer.checkpoint)
        and scorer.checkpoint.storage.exists(scorer.checkpoint.name)
    )


def _categories() -> list[Category]:
    found = Category.objects.filter(slug__in=DEMO_CATEGORIES).order_by("slug")
    return [
        c
        for c in found
        if Sketch.objects.filter(category=c, split=Split.TRAIN).exists()
        and Sketch.objects.filter(category=c, split=Split.TEST).exists()
    ]


def _train(name: str, variant: str, categories: list[Category], say) -> Scorer | None:
    existing = Scorer.objects.filter(name=name).first()
    if existing is not None and _checkpoint_present(existing):
        accuracy = existing.metrics.get("accuracy")
        say(
            f"Scoring: reusing {name} (sha256 {existing.checkpoint_sha256[:12]}…"
            + (f", held-out top-1 {accuracy:.3f}" if accuracy is not None else "")
            + ")."
        )
        return existing
    if existing is not None:
        say(f"Scoring: {name} is {existing.status} or lacks its checkpoint; training it again.")
        existing.delete()
    n_train = Sketch.objects.filter(category__in=categories, split=Split.TRAIN).count()
    request = actions.TrainingRequest(
        name=name,
        variant=variant,
        categories=[c.slug for c in categories],
        per_category=PER_CATEGORY,
        encoder_kwargs=dict(ENCODER_KWARGS),
        epochs=EPOCHS,
        batch_size=64 if n_train >= 1000 else 16,
        lr=1e-3 if n_train >= 1000 else 3e-3,
        seed=SEED,
    )
    scorer = actions.do_create_scorer(request)
    say(
        f"Scoring: training {name} on {', '.join(c.name for c in categories)} "
        f"({min(n_train, PER_CATEGORY * len(categories))} sketches, {EPOCHS} epochs) ..."
    )

    def progress(stage: str, details: dict) -> None:
        if stage == "training":
            say(
                f"  epoch {details['epoch']}/{details['epochs']}: loss {details['loss']:.3f}, "
                f"train accuracy {details['train_accuracy']:.3f} ({details['seconds']:.0f} s)"
            )

    scorer = actions.do_train_scorer(scorer.pk, progress)
    if scorer.status != JobStatus.DONE:
        say(f"Scoring: {name} failed: {scorer.error}")
        return None
    m = scorer.metrics
    say(
        f"  {name}: held-out top-1 {m['accuracy']:.3f}, Spearman(q, cosθ_y) {m['spearman_q_cos'] or 0:+.3f}, "
        f"{scorer.training_seconds:.0f} s on {scorer.device}"
    )
    report = actions.do_evaluate_scorer(scorer)
    moderate = ", ".join(f"{f} {row['share']:.0%}" for f, row in report["summary"].items())
    say(
        f"  {name}: sanity report, q falls at moderate severity for {moderate} of held-out sketches "
        f"({'passed' if report['passed'] else 'below ' + format(report['min_share'], '.0%') + ' somewhere'})"
    )
    return scorer


def _score(scorer: Scorer, say) -> None:
    categories = list(scorer.categories.all())
    total = Sketch.objects.filter(category__in=categories).count()
    scored = SketchScore.objects.filter(scorer=scorer, sketch__category__in=categories).count()
    if scored >= total:
        say(f"Scoring: {scorer.name} has scored all {total:,} sketches of its categories.")
        return
    for run in ScoringRun.objects.filter(scorer=scorer, status__in=actions.UNFINISHED):
        actions.do_cancel_run(run, user="demo (an earlier run was interrupted)")
    try:
        run = actions.do_start_scoring_run(scorer)
    except ScoringInputError as exc:
        say(f"Scoring: could not score with {scorer.name}: {exc.message}")
        return
    run.refresh_from_db()
    if run.status == JobStatus.DONE:
        seconds = (run.finished_at - run.started_at).total_seconds()
        say(f"Scoring: {scorer.name} scored {run.done:,} sketches in {seconds:.1f} s.")
    else:
        say(
            f"Scoring: run #{run.pk} of {scorer.name} is queued for the gpu workers ({run.total:,} sketches)."
        )


def run(say):
    categories = _categories()
    if len(categories) < 2:
        say("Scoring: skipped, fewer than 2 of the demo categories have train and test sketches.")
        return None
    scorers = []
    for name, variant in DEMO_SCORERS:
        scorer = _train(name, variant, categories, say)
        if scorer is None:
            return None
        _score(scorer, say)
        scorers.append(scorer)
    gacl, softmax = scorers
    return [
        ("All GACL scores, best first (every category and split)", scores_url(gacl)),
        ("All GACL scores, worst first (every category and split)", scores_url(gacl, best_first=False)),
        ("Scorer demo-gacl-cos", reverse("admin:scoring_scorer_change", args=[gacl.pk])),
        ("Scorer demo-softmax", reverse("admin:scoring_scorer_change", args=[softmax.pk])),
        ("q-vs-θ, GACL vs softmax", figure_url(gacl, "png", softmax)),
        *[
            (f"Best and worst {c.name} (GACL q, held out)", extremes_url(gacl, c))
            for c in gacl.categories.order_by("slug")
        ],
        (
            "Sanity report, GACL vs softmax",
            reverse("admin:scoring_scorer_change", args=[gacl.pk]) + "#sanity",
        ),
    ]
