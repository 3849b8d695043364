"""The scoring step of `make demo`: reuses ready demo scorers, scores every sketch once, links the pages.

(Training itself goes through the same action as `train_scorer`, tested in test_train_command.py.)
"""

from __future__ import annotations

import pytest

from scoring import checkpoints, demo
from scoring.models import ScoringRun, SketchScore
from sketches.models import Category, Sketch
from tests.factories import SAMPLE_SCORER_CATEGORIES, make_trained_scorer, sample_checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    checkpoints.clear_cache()


@pytest.fixture
def demo_scorers(imported_sample):
    categories = list(Category.objects.filter(slug__in=SAMPLE_SCORER_CATEGORIES))
    return (
        make_trained_scorer("demo-gacl-cos", categories, checkpoint=sample_checkpoint("cos")),
        make_trained_scorer(
            "demo-softmax", categories, variant="softmax", checkpoint=sample_checkpoint("cos")
        ),
    )


def test_it_reuses_ready_scorers_scores_every_sketch_once_and_links_the_pages(
    demo_scorers, django_capture_on_commit_callbacks
):
    gacl, softmax = demo_scorers
    said: list[str] = []
    with django_capture_on_commit_callbacks(execute=True):
        links = dict(demo.run(said.append))
    assert any("reusing demo-gacl-cos" in line for line in said) and any(
        "reusing demo-softmax" in line for line in said
    )
    n = Sketch.objects.filter(category__slug__in=SAMPLE_SCORER_CATEGORIES).count()
    assert (
        SketchScore.objects.filter(scorer=gacl).count()
        == SketchScore.objects.filter(scorer=softmax).count()
        == n
    )
    assert links["Scorer demo-gacl-cos"] == f"/admin/scoring/scorer/{gacl.pk}/change/"
    assert links["q-vs-θ, GACL vs softmax"] == f"/scoring/scorers/{gacl.pk}/q-theta.png?compare={softmax.pk}"
    assert "o=-4" in links["All GACL scores, best first (every category and split)"]
    assert "o=4" in links["All GACL scores, worst first (every category and split)"]
    assert "category=pig" in links["Best and worst pig (GACL q, held out)"]

    said.clear()
    with django_capture_on_commit_callbacks(execute=True):
        demo.run(said.append)
    assert ScoringRun.objects.count() == 2  # nothing scored twice
    assert any(f"has scored all {n:,} sketches" in line for line in said)


def test_without_two_demo_categories_it_says_so(db):
    said: list[str] = []
    assert demo.run(said.append) is None and "skipped" in said[0]
