"""Participants see the study's public title, never its internal name (which may name the conditions)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from studies.models import DEFAULT_PUBLIC_TITLE
from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db

INTERNAL = "GACL-cos vs softmax, condition B"


def pages(study) -> list[str]:
    """Every page of the way in: the entry notice for a missing id, consent, instructions, a refusal."""
    client = Client()
    bodies = [client.get(f"/p/{study.slug}/").content.decode()]  # missing id: a notice page
    bodies.append(client.get(f"/p/{study.slug}/?pid=worker-1", follow=True).content.decode())  # consent
    client.post(f"/p/{study.slug}/consent/", {"decision": "accept"})
    bodies.append(client.get(f"/p/{study.slug}/task/").content.decode())  # instructions
    client.post(f"/p/{study.slug}/instructions/")
    bodies.append(client.get(f"/p/{study.slug}/task/").content.decode())  # practice trial
    return bodies


def title_of(body: str) -> str:
    return re.search(r"<title>(.*?)</title>", body, re.S).group(1).strip()


def test_the_pages_show_the_public_title_and_never_the_internal_name():
    study = make_running_study(name=INTERNAL, public_title="Compare two drawings")
    bodies = pages(study)
    assert all(INTERNAL not in body for body in bodies)
    assert title_of(bodies[1]) == "Compare two drawings"
    assert "<h1>Compare two drawings: before you start</h1>" in bodies[1]
    assert all(title_of(body) for body in bodies)


def test_a_study_without_a_public_title_gets_a_neutral_one():
    study = make_running_study(name=INTERNAL, public_title="")
    bodies = pages(study)
    assert all(INTERNAL not in body for body in bodies)
    assert title_of(bodies[1]) == DEFAULT_PUBLIC_TITLE == title_of(bodies[2])


def test_the_demo_study_sets_a_neutral_public_title():
    from studies.demo import CONFIG

    assert CONFIG["public_title"] and CONFIG["public_title"] != CONFIG["name"]
    assert not any(word in CONFIG["public_title"].lower() for word in ("gacl", "softmax", "vs", "demo"))
