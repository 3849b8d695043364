"""The participant step of `make demo`: print the links to take part in the demo study."""

from __future__ import annotations

from django.urls import reverse

from annotation import panels
from studies.models import Panel, Study


def demo_study() -> Study | None:
    """The studies demo's study if it exists, else the most recently launched running study."""
    try:
        from studies.demo import DEMO_SLUG
    except ImportError:
        DEMO_SLUG = None  # noqa: N806 - mirrors the constant's name
    study = Study.objects.filter(slug=DEMO_SLUG).first() if DEMO_SLUG else None
    return study or Study.objects.accepting().order_by("-launched_at").first()


def run(say) -> list[tuple[str, str]] | None:
    study = demo_study()
    if study is None:
        say("Participants: no study to take part in yet.")
        return None
    entry = reverse("annotation:entry", args=[study.slug])
    if not study.is_accepting:
        say(f"Participants: {study.slug} is {study.state}; launch it in the admin to take part.")
    else:
        say(f"Participants: {study.slug} is {study.state}; open the link below as a crowdworker would.")
    if study.panel == Panel.PROLIFIC:
        from studies.demo import prolific_entry

        take_part = prolific_entry(study, "demo-worker")
    else:
        take_part = f"{entry}?pid=demo-worker"
    return [
        ("Take part (as a worker)", take_part),
        (
            "Link for Prolific",
            entry + panels.PROLIFIC_QUERY if study.panel == Panel.PROLIFIC else entry + panels.GENERIC_QUERY,
        ),
        ("Trial screen preview", reverse("annotation:preview", args=[study.slug])),
        (
            "Prolific codes, approve / reject / bonus",
            reverse("admin:annotation_studylinks_prolific", args=[study.pk]),
        ),
    ]
