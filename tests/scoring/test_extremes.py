"""Best and worst at a glance: per category, held out by default, with a split filter."""

from __future__ import annotations

import re

import pytest

from scoring.admin import extremes_url
from sketches.models import Split
from tests.factories import make_category, make_scorer, make_scores, make_sketches

pytestmark = pytest.mark.django_db


def _shown(html: str, which: str) -> list[int]:
    block = re.search(rf'<ol class="extremes-{which}">(.*?)</ol>', html, re.S).group(1)
    return [int(i) for i in re.findall(r'alt="sketch (\d+)"', block)]


@pytest.fixture
def scored(db):
    pig = make_sketches("pig", 40)
    face = make_sketches("face", 40)
    scorer = make_scorer(categories=[make_category("pig"), make_category("face")])
    make_scores(scorer, pig + face, stroke_weight=1.0)
    return scorer, pig, face


def test_the_scorer_page_shows_the_twelve_best_and_worst_held_out_sketches_of_one_category(
    researcher_client, scored
):
    scorer, pig, _ = scored
    page = researcher_client.get(extremes_url(scorer, make_category("pig")))
    html = page.content.decode()
    assert page.status_code == 200
    scores = {s.sketch_id: s.q for s in scorer.scores.filter(sketch__in=pig, sketch__split=Split.TEST)}
    ranked = sorted(scores, key=lambda i: (-scores[i], i))
    best, worst = _shown(html, "best"), _shown(html, "worst")
    assert best == ranked[:12]
    assert worst == sorted(scores, key=lambda i: (scores[i], i))[:12]
    assert f"{len(scores)} sketches of pig in the test split" in html
    assert f"q {scores[best[0]]:.2f}" in html


def test_the_split_filter_and_bad_parameters(researcher_client, scored):
    scorer, pig, face = scored
    base = f"/admin/scoring/scorer/{scorer.pk}/change/"
    html = researcher_client.get(base, {"category": "face", "split": "all"}).content.decode()
    face_scores = {s.sketch_id: s.q for s in scorer.scores.filter(sketch__in=face)}
    assert _shown(html, "best") == sorted(face_scores, key=lambda i: (-face_scores[i], i))[:12]
    train = {s.pk for s in face if s.split == Split.TRAIN}
    html = researcher_client.get(base, {"category": "face", "split": "train"}).content.decode()
    assert set(_shown(html, "best")) <= train and set(_shown(html, "worst")) <= train
    page = researcher_client.get(base, {"category": "unicorn", "split": "sideways"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "unknown split" in text and "sideways" in text and "no category" in text and "unicorn" in text, (
        text[text.find('id="extremes"') :][:1500]
    )
