"""The results step of `make demo`: answer the demo study with a simulated crowd, link the results.

Idempotent: a study that already has completed participants is not simulated again.
"""

from __future__ import annotations

import time

from django.urls import reverse

from analysis.crowd import CrowdError, simulate_crowd
from analysis.simulation import SimulationError
from annotation.models import Participant, ParticipantStatus
from studies.models import Study

CROWD = {"good": 12, "spammer": 2, "left_biased": 1}
SEED = 7


def crowd_for(places: int) -> dict[str, int]:
    """``CROWD``, with fewer good workers if the study has fewer places (one is left for a person)."""
    free = max(0, places - 1)
    planted = {k: v for k, v in CROWD.items() if k != "good"}
    good = min(CROWD["good"], max(0, free - sum(planted.values())))
    return {"good": good, **planted} if good else {}


def demo_study() -> Study | None:
    """The studies demo's study (``studies.demo.DEMO_SLUG``), else the newest running study."""
    try:
        from studies import demo as studies_demo
    except ImportError:
        studies_demo = None
    slug = getattr(studies_demo, "DEMO_SLUG", None)
    if slug:
        return Study.objects.filter(slug=slug).first()
    return Study.objects.accepting().order_by("-launched_at").first()


def _simulate(study: Study, crowd: dict[str, int], say) -> None:
    described = ", ".join(f"{n} {kind.replace('_', '-')}" for kind, n in crowd.items())
    say(f"Results: a simulated crowd ({described}) answers {study.slug} through the participant pages ...")
    started = time.monotonic()
    try:
        result = simulate_crowd(study, crowd, seed=SEED)
    except (CrowdError, SimulationError) as error:
        say(f"  skipped: {error}")
        return
    say(f"  {result.summary()} ({time.monotonic() - started:.0f} s)")


def run(say) -> list[tuple[str, str]] | None:
    study = demo_study()
    if study is None:
        say("Results: no launched demo study, nothing to simulate.")
        return [("Results", reverse("analysis:index"))]
    done = Participant.objects.filter(study=study, status=ParticipantStatus.COMPLETED).exists()
    if done:
        say(f"Results: {study.slug} already has completed participants; not simulating again.")
    elif not study.is_accepting:
        say(f"Results: {study.slug} is {study.state}, so no crowd can answer it.")
    else:
        taken = Participant.objects.filter(study=study).taking_a_place().count()
        crowd = crowd_for(study.target_participants - taken)
        if not crowd:
            say(f"Results: {study.slug} has no free places for a simulated crowd.")
        else:
            _simulate(study, crowd, say)
    return [
        ("Results dashboard", reverse("analysis:dashboard", args=[study.slug])),
        ("Rankings", reverse("analysis:rankings", args=[study.slug])),
        ("Report", reverse("analysis:report", args=[study.slug])),
        ("Worker quality (admin)", reverse("admin:analysis_workerquality_changelist")),
    ]
