"""The results step of `make demo`: a simulated crowd answers the demo study once, then links."""

from __future__ import annotations

import pytest

from analysis import demo
from annotation.models import Participant
from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db


def test_it_fills_the_demo_study_once_and_links_the_results(monkeypatch):
    study = make_running_study("demo-like", target_participants=5)
    monkeypatch.setattr("studies.demo.DEMO_SLUG", study.slug)
    monkeypatch.setattr(demo, "CROWD", {"good": 2, "spammer": 1})
    said = []
    links = dict(demo.run(said.append))
    assert Participant.objects.filter(study=study).count() == 3
    assert Participant.objects.filter(study=study, status="completed").exists()
    assert links["Results dashboard"] == f"/analysis/studies/{study.slug}/"
    assert links["Report"] == f"/analysis/studies/{study.slug}/report/"
    assert any("simulated participants" in line for line in said)
    demo.run(said.append)
    assert "not simulating again" in said[-1]
    assert Participant.objects.filter(study=study).count() == 3


def test_a_small_study_keeps_a_place_for_a_person():
    assert demo.crowd_for(16) == {"good": 12, "spammer": 2, "left_biased": 1}
    assert demo.crowd_for(10) == {"good": 6, "spammer": 2, "left_biased": 1}
    assert demo.crowd_for(3) == {}


def test_without_a_demo_study_it_says_so(monkeypatch):
    monkeypatch.setattr("studies.demo.DEMO_SLUG", "not-there")
    said = []
    links = demo.run(said.append)
    assert "no launched demo study" in said[0] and links == [("Results", "/analysis/")]
