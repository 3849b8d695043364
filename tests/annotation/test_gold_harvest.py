"""Issue 18, finding 2: gold answers cannot be harvested through practice and the example.

The attack, replayed through the real participant pages: one person enters with 10
made-up ids, reads the instructions' example and answers every practice trial, learning
from the feedback which sketch is better. They hash every SVG they were shown. Then a
real participant's sentinels are fetched and hashed the same way: none may match.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from django.test import Client

from annotation.models import Participant, TrialKind
from annotation.pictures import svg_of_uri
from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
N_THROWAWAY = 10


def _digest(client: Client, url: str) -> str:
    """The SHA-256 of a picture on a page: inline (a data: URI) or fetched from its URL."""
    if url.startswith("data:"):
        return hashlib.sha256(svg_of_uri(url)).hexdigest()
    response = client.get(url)
    assert response.status_code == 200, url
    return hashlib.sha256(
        b"".join(response.streaming_content) if response.streaming else response.content
    ).hexdigest()


def _pair_on(page: bytes) -> tuple[str, str, str]:
    """(left url, right url, better side) of an example or a feedback page."""
    left, right = re.findall(rb'<img src="([^"]+)"', page)[:2]
    better = re.search(rb'<strong><span class="wide">(left|right)</span>', page).group(1).decode()
    return left.decode(), right.decode(), better


def _harvest(study, panel_id: str) -> dict[str, str]:
    """digest -> "better" | "worse" for everything one made-up id learns before the trials."""
    client, learnt = Client(), {}
    client.get(f"/p/{study.slug}/?pid={panel_id}")
    client.post(f"/p/{study.slug}/consent/", {"decision": "accept"}, **HTMX)
    instructions = client.get(f"/p/{study.slug}/task/", **HTMX).content
    pairs = [_pair_on(instructions)]  # the instructions' example
    client.post(f"/p/{study.slug}/instructions/", {}, **HTMX)
    page = client.get(f"/p/{study.slug}/task/", **HTMX)
    while b'data-step="trial"' in page.content and b"Practice" in page.content:
        token = re.search(rb'name="token" value="([\w-]+)"', page.content).group(1).decode()
        feedback = client.post(f"/p/{study.slug}/answer/", {"token": token, "choice": "left"}, **HTMX)
        pairs.append(_pair_on(feedback.content))
        page = client.get(f"/p/{study.slug}/task/", **HTMX)
    for left, right, better in pairs:
        learnt[_digest(client, left)] = "better" if better == "left" else "worse"
        learnt[_digest(client, right)] = "better" if better == "right" else "worse"
    return learnt


def test_ten_throwaway_ids_learn_no_sentinel_of_a_real_participant():
    study = make_running_study("harvest", target_participants=20)
    learnt: dict[str, str] = {}
    for k in range(N_THROWAWAY):
        learnt |= _harvest(study, f"throwaway-{k}")
    # the attacker did learn answers (practice and the example do teach) ...
    assert len(learnt) >= 2 * (study.practice_trials + 1)

    real = Client()
    real.get(f"/p/{study.slug}/?pid=real-worker")
    real.post(f"/p/{study.slug}/consent/", {"decision": "accept"}, **HTMX)
    participant = Participant.objects.get(study=study, panel_id="real-worker")
    sentinels = participant.trials.filter(kind=TrialKind.SENTINEL)
    assert sentinels.count() == study.sentinels_per_participant
    shown = {
        _digest(real, f"/p/{study.slug}/s/{t.token}/{side}.svg")
        for t in sentinels
        for side in ("left", "right")
    }
    # ... but none of it identifies a sentinel sketch, let alone its answer: 0 gold harvested.
    assert not shown & set(learnt)


def test_the_example_is_never_the_first_practice_pair():
    study = make_running_study("example-apart", target_participants=20)
    for k in range(6):
        client = Client()
        client.get(f"/p/{study.slug}/?pid=w{k}")
        client.post(f"/p/{study.slug}/consent/", {"decision": "accept"}, **HTMX)
        participant = Participant.objects.get(study=study, panel_id=f"w{k}")
        practice = list(participant.trials.filter(is_practice=True).order_by("position"))
        assert len(practice) == study.practice_trials + 1
        example, first = practice[-1], practice[0]
        assert {example.left_sketch_id, example.right_sketch_id} != {
            first.left_sketch_id,
            first.right_sketch_id,
        }
        # both come from accepted practice gold, never from the sentinel pool
        assert all(t.practice_better_sketch.derived_from_id is None for t in practice)
