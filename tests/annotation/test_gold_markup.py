"""Degradation-gold sentinels cannot be told from ordinary trials by anything in the pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from annotation.models import Participant, TrialKind
from annotation.pictures import svg_of_uri
from tests.annotation.factories import make_running_study, right_choice

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _skeleton(html: bytes) -> str:
    """The page with what differs per trial masked: tokens, the drawn strokes of the inline
    pictures (their SVG frame stays), stimulus URLs, position counters."""
    text = html.decode()
    text = re.sub(
        r'src="(data:[^"]*)"', lambda m: f'src="PICTURE:{_svg_frame(svg_of_uri(m.group(1)))}"', text
    )
    text = re.sub(r"/s/[\w-]+/(left|right)\.svg", "/s/TOKEN/SIDE.svg", text)
    text = re.sub(r'value="[\w-]{12,}"', 'value="TOKEN"', text)
    return re.sub(r"\d+", "N", text)


def _svg_frame(svg: bytes) -> str:
    return re.sub(rb'<path d="[^"]*"/>', b"", svg).decode()


def test_a_degradation_sentinel_looks_exactly_like_an_ordinary_trial():
    study = make_running_study("markup", auto_gold_pairs=0, break_every=0, screening_rule="paper")
    client = Client()
    client.get(f"/p/{study.slug}/?pid=looker")
    client.post(f"/p/{study.slug}/consent/", {"decision": "accept"}, **HTMX)
    client.post(f"/p/{study.slug}/instructions/", {}, **HTMX)
    participant = Participant.objects.get(study=study, panel_id="looker")
    for trial in participant.trials.filter(is_practice=True, position__lt=participant.n_practice):
        client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": right_choice(trial)}, **HTMX)
    pages, svgs, headers = {}, {}, {}
    for trial in (
        participant.trials.filter(is_practice=False).select_related("gold_pair").order_by("position")
    ):
        page = client.get(f"/p/{study.slug}/task/", **HTMX)
        assert trial.token.encode() in page.content
        inline = [svg_of_uri(src) for src in re.findall(r'src="(data:[^"]*)"', page.content.decode())]
        kind = "sentinel" if trial.kind == TrialKind.SENTINEL else "ordinary"
        if trial.kind == TrialKind.SENTINEL:
            assert trial.gold_pair.source == "degraded"
        pages.setdefault(kind, set()).add(_skeleton(page.content))
        for side, picture in zip(("left", "right"), inline, strict=True):
            response = client.get(f"/p/{study.slug}/s/{trial.token}/{side}.svg")
            assert response.content == picture  # the page shows what the stimulus URL serves
            svgs.setdefault(kind, set()).add(_svg_frame(response.content))
            headers.setdefault(kind, set()).add(
                tuple(sorted((k, re.sub(r"\d+", "N", v)) for k, v in response.items() if k not in ("ETag",)))
            )
            coordinates = [
                float(x) for x in re.findall(rb"-?\d+\.\d+", re.sub(rb"<svg[^>]*>", b"", response.content))
            ]
            assert all(-0.001 <= x <= 1.001 for x in coordinates if x not in (0.012,))
        choice = (
            right_choice(trial) if trial.kind == TrialKind.SENTINEL else ("left", "right")[trial.position % 2]
        )
        client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": choice}, **HTMX)
    # the trial page's telemetry (annotation.telemetry) is collected the same way on every trial
    assert all('name="tm" value=""' in page for page in pages["sentinel"] | pages["ordinary"])
    # every sentinel page is, token and counters aside, one an ordinary trial also produced
    assert pages["sentinel"] <= pages["ordinary"] and len(pages["ordinary"]) <= 3
    assert svgs["sentinel"] <= svgs["ordinary"]
    assert headers["sentinel"] <= headers["ordinary"]
