"""The studies step of `make demo`: a study over 4 categories × 2 methods, frozen and live.

Needs the scoring step's scorers ``demo-gacl-cos`` and ``demo-softmax`` (ready, with
scores for the test split); without them it says so and skips.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.urls import reverse

from scoring.models import Scorer
from studies import checks, lifecycle, planning
from studies.errors import StudyConfigError
from studies.models import Panel, SamplingMode, Study, StudyState
from studies.outcomes import PanelTerms

DEMO_SLUG = "demo-sketch-quality"
DEMO_SCORERS = ["demo-gacl-cos", "demo-softmax"]
N_CATEGORIES = 4
#: Tried in order until the plan is feasible for the test split at hand (the shared
#: corpus has ~200 test sketches per category, the in-repo sample 12).
SIZES = [
    (SamplingMode.BALANCED, 300),
    (SamplingMode.BALANCED, 100),
    (SamplingMode.NATURAL, 100),
    (SamplingMode.NATURAL, 40),
]
CONFIG = {
    "name": "Demo: sketch quality, GACL-cos vs softmax",
    # Participants see this, never the name above (which names the conditions).
    "public_title": "Which sketch is drawn better?",
    "instructions": "You will see two sketches of the same object. Pick the one drawn better: "
    "clearer, more complete, more recognisable. Use the arrow keys or tap a sketch.",
    "consent_text": "This is a demo study. Your answers are stored for the demo only.",
    "n_levels": 10,
    "trials_per_participant": 60,
    "practice_trials": 3,
    "sentinels_per_participant": 4,
    "max_sentinel_mistakes": 2,
    "duplicates_per_participant": 4,
    "min_duplicate_distance": 20,
    "auto_gold_pairs": 0,  # model-suggested gold needs a review before a live launch
    "degradation_gold_pairs": 24,
    "break_every": 30,
    "seed": 20261122,
    "target_participants": 20,
    "panel": Panel.PROLIFIC,
    "completion_code": "SKETCHQ-DEMO",
}


def run(say):
    study = Study.objects.filter(slug=DEMO_SLUG).first()
    if study is not None and study.state != StudyState.DRAFT:
        say(f"Studies: demo study {DEMO_SLUG!r} already exists ({study.state}).")
        return _links(study)
    scorers = list(Scorer.objects.filter(name__in=DEMO_SCORERS))
    not_ready = [n for n in DEMO_SCORERS if not any(s.name == n and s.is_ready for s in scorers)]
    if not_ready:
        say(
            f"Studies: skipped, scorer(s) {', '.join(not_ready)} missing or not ready (run the scoring demo step)."
        )
        return None
    shared = set.intersection(*(set(s.categories.order_by("slug")) for s in scorers))
    categories = sorted(shared, key=lambda c: c.slug)[:N_CATEGORIES]
    if not categories:
        say("Studies: skipped, the demo scorers share no trained category.")
        return None
    if study is None:
        study = Study.objects.create(
            slug=DEMO_SLUG, owner=User.objects.filter(username="admin").first(), **CONFIG
        )
    study.categories.set(categories)
    study.scorers.set(scorers)
    Study.objects.filter(pk=study.pk).update(prolific_study_id=prolific_style_id(f"study:{DEMO_SLUG}"))
    study.refresh_from_db(fields=["prolific_study_id"])
    PanelTerms.objects.update_or_create(study=study, defaults={"reward": Decimal("1.50")})
    try:
        _freeze_with_feasible_size(study, say)
        problems = checks.scorer_sanity_problems(study)
        for problem in problems:
            say(f"Studies: warning: {problem}")
        lifecycle.do_launch_study(
            study,
            override_reason=(
                "demo study: launched live to walk through the platform, not to draw conclusions"
                if problems
                else ""
            ),
        )
    except StudyConfigError as error:
        say("Studies: the demo study could not launch:\n  " + "\n  ".join(error.messages))
        return [("Demo study (draft)", reverse("admin:studies_study_change", args=[study.pk]))]
    say(
        f"Studies: {study.name!r} is live over {', '.join(c.name for c in categories)} "
        f"({study.plan_summary['total_pairs']:,} planned pairs, {study.plan_summary['mode']} mode)."
    )
    return _links(study)


def _freeze_with_feasible_size(study: Study, say) -> None:
    if study.plan_frozen_at is not None:
        return
    last: list[str] = []
    for mode, pairs in SIZES:
        study.sampling_mode, study.pairs_per_cell = mode, pairs
        study.save(update_fields=["sampling_mode", "pairs_per_cell"])
        last = planning.compute_plan(study).problems
        if not last:
            planning.do_freeze_plan(study)
            return
    raise StudyConfigError(last)


def prolific_style_id(seed: str) -> str:
    """A 24-hex id shaped like Prolific's ids (PROLIFIC_PID, STUDY_ID, SESSION_ID), stable per seed."""
    return hashlib.sha256(seed.encode()).hexdigest()[:24]


def prolific_entry(study: Study, participant: str) -> str:
    study_id = study.prolific_study_id or prolific_style_id(study.slug)
    query = urlencode(
        {
            "PROLIFIC_PID": prolific_style_id(f"pid:{participant}"),
            "STUDY_ID": study_id,
            "SESSION_ID": prolific_style_id(f"session:{participant}"),
        }
    )
    return f"/p/{study.slug}/?{query}"


def _links(study: Study) -> list[tuple[str, str]]:
    return [
        ("Participant link", prolific_entry(study, "demo-participant-1")),
        ("Study plan", reverse("admin:studies_study_plan", args=[study.pk])),
    ]
