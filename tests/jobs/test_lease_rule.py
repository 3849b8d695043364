"""The lease rule on its own: datetimes in, a verdict out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sketches.leases import FAIL, HELD, RECLAIM, given_up_message, lease_expired, lease_verdict

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age_s", "attempts", "verdict"),
    [
        (0, 1, HELD),
        (299, 1, HELD),
        (300, 1, HELD),  # exactly the lease: still held
        (301, 1, RECLAIM),
        (3600, 2, RECLAIM),
        (301, 3, FAIL),  # every attempt spent
        (301, 7, FAIL),
        (10, 3, HELD),  # a live worker on its last attempt keeps it
    ],
)
def test_a_lease_is_held_then_reclaimed_then_given_up(age_s, attempts, verdict):
    assert lease_verdict(NOW - timedelta(seconds=age_s), NOW, 300, attempts, 3) == verdict


def test_a_job_claimed_before_leases_existed_has_an_expired_lease():
    assert lease_expired(None, NOW, 300)
    assert lease_verdict(None, NOW, 300, 0, 3) == RECLAIM


def test_a_heartbeat_from_the_future_is_held():  # clocks of two machines a little apart
    assert lease_verdict(NOW + timedelta(seconds=5), NOW, 300, 1, 3) == HELD


def test_the_message_says_what_stopped_why_and_what_to_do():
    message = given_up_message("the export", 300, 3)
    assert "the export stopped" in message and "300 s" in message and "3 attempt(s)" in message
    assert "Start it again" in message
