"""Per-trial telemetry: parsed, clamped and salted (annotation.telemetry), stored with the answer
in the same statement, never a reason to refuse an answer."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from annotation import telemetry
from annotation.models import Answer, Participant
from tests.annotation.factories import make_running_study, right_choice

HTMX = {"HTTP_HX_REQUEST": "true"}
FULL = "b=1;v=2;i=p;m=42;p=610;w=1280;h=720;f=9c1e0a44d2b7f013"


def parse(raw, network=None, study="s1"):
    return telemetry.parse(raw, network=network, secret="secret", study_key=study)


def test_a_full_field_is_read():
    t = parse(FULL, network="203.0.113.0/24")
    assert (t.blur_count, t.hidden_count, t.input_kind, t.pointer_moves, t.pointer_path_px) == (
        1,
        2,
        "p",
        42,
        610,
    )
    assert (t.viewport_w, t.viewport_h) == (1280, 720)
    assert len(t.device_hash) == len(t.network_hash) == 16


@pytest.mark.parametrize(
    "raw",
    [None, "", "garbage", "b=-1;v=x;i=robot;m=99999999;p=1e9;w=99999;h=;f=zz", "b=1" + ";" * 500, "\x00=1"],
)
def test_malformed_values_are_stored_as_missing_never_refused(raw):
    t = parse(raw)
    assert t.input_kind in ("",) and t.device_hash == "" and t.network_hash == ""
    assert t.hidden_count is None and t.pointer_moves is None and t.viewport_w is None


def test_the_first_value_of_a_key_counts_and_bounds_hold():
    t = parse("b=3;b=9;m=32767;p=10000000;w=16384")
    assert (t.blur_count, t.pointer_moves, t.pointer_path_px, t.viewport_w) == (3, 32767, 10_000_000, 16384)
    t = parse("m=32768;p=10000001;w=16385")
    assert (t.pointer_moves, t.pointer_path_px, t.viewport_w) == (None, None, None)


def test_hashes_are_salted_per_study():
    a, b = parse(FULL, "203.0.113.0/24", "study-a"), parse(FULL, "203.0.113.0/24", "study-b")
    assert a.device_hash != b.device_hash and a.network_hash != b.network_hash
    assert parse(FULL, "203.0.113.0/24", "study-a") == a  # the same study: the same values
    assert "203.0.113" not in a.network_hash


@pytest.mark.django_db
def test_the_answer_stores_its_telemetry_and_the_network_prefix_hashed():
    study = make_running_study("telemetry", break_every=0)
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.get(f"/p/{study.slug}/?pid=tele")
    client.post(f"/p/{study.slug}/consent/", {"decision": "accept"}, **HTMX)
    client.post(f"/p/{study.slug}/instructions/", {}, **HTMX)
    participant = Participant.objects.get(study=study, panel_id="tele")
    first, second = participant.trials.filter(is_practice=True).order_by("position")[:2]
    answer = f"/p/{study.slug}/answer/"
    client.post(answer, {"token": first.token, "choice": right_choice(first), "tm": FULL}, **HTMX)
    client.post(answer, {"token": second.token, "choice": right_choice(second), "tm": "i=robot;m=-4"}, **HTMX)
    stored = {a.trial_id: a for a in Answer.objects.filter(trial__participant=participant)}
    assert set(stored) == {first.pk, second.pk}  # the malformed telemetry refused nothing
    full, bad = stored[first.pk], stored[second.pk]
    assert (full.input_kind, full.pointer_moves, full.viewport_w, full.hidden_count) == ("p", 42, 1280, 2)
    expected = telemetry.salted_hash("203.0.113.0/24", settings.SECRET_KEY, study.slug)
    assert full.network_hash == bad.network_hash == expected
    assert full.device_hash == telemetry.salted_hash("9c1e0a44d2b7f013", settings.SECRET_KEY, study.slug)
    assert (bad.input_kind, bad.pointer_moves, bad.device_hash) == ("", None, "")
