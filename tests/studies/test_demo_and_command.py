"""The demo step and the plan_study command, on the real sample sketches."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sketches.models import Category, Sketch, Split
from studies import demo
from studies.models import PlannedPair, Study, StudyState
from tests.factories import make_scored_study, make_scorer, make_scores, make_sketches


@pytest.fixture
def demo_scorers(db):
    """Stand-ins for the scoring demo's scorers; q comes from sketch features (tests.factories.feature_q),
    not from a model."""
    for name in ("pig", "face", "apple", "cactus", "ambulance"):
        make_sketches(name, 48, split=Split.TEST)
        make_sketches(name, 12, split=Split.VAL, skip=48)  # held out: degradation gold
    categories = list(Category.objects.all())
    sketches = list(Sketch.objects.all())
    for name, variant, weight in (("demo-gacl-cos", "cos", 0.0), ("demo-softmax", "softmax", 3.0)):
        make_scores(make_scorer(name, categories, variant=variant), sketches, stroke_weight=weight)


def test_the_demo_step_launches_a_study_over_four_categories_and_two_methods(demo_scorers):
    said = []
    links = demo.run(said.append)
    study = Study.objects.get(slug=demo.DEMO_SLUG)
    assert study.state == StudyState.LIVE and study.categories.count() == 4 and study.scorers.count() == 2
    link = dict(links)["Participant link"]
    assert study.panel == "prolific" and link.startswith(f"/p/{study.slug}/?PROLIFIC_PID=")
    study_id = study.prolific_study_id
    assert len(study_id) == 24 and f"&STUDY_ID={study_id}&SESSION_ID=" in link
    assert PlannedPair.objects.filter(study=study).count() == study.plan_summary["total_pairs"] > 0
    assert demo.run(said.append) == links  # idempotent
    assert "already exists (live)" in said[-1]


def test_the_demo_step_skips_without_the_scoring_demos_scorers(db):
    said = []
    assert demo.run(said.append) is None
    assert "demo-gacl-cos, demo-softmax missing or not ready" in said[0]
    assert not Study.objects.exists()


def test_plan_study_prints_the_dry_run_table_then_freezes_and_launches(db, capsys):
    study = make_scored_study()
    call_command("plan_study", study.slug)
    out = capsys.readouterr().out
    assert "not frozen (dry run)" in out and "(0.75, 1]" in out and not PlannedPair.objects.exists()
    call_command("plan_study", study.slug, "--freeze", "--pilot")
    out = capsys.readouterr().out
    study.refresh_from_db()
    assert study.state == StudyState.PILOT and "plan frozen" in out and "160" in out


def test_plan_study_refuses_an_infeasible_plan_with_its_reasons(db):
    study = make_scored_study(pairs_per_cell=1000)
    with pytest.raises(CommandError, match="short by"):
        call_command("plan_study", study.slug, "--freeze")
    with pytest.raises(CommandError, match="no study with slug 'nope'"):
        call_command("plan_study", "nope")
