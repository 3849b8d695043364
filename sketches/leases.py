"""The lease rule for claimed jobs (import batches, scoring runs, report exports).

A worker that claims a job stamps ``heartbeat_at`` and renews it while it works
(``sketches.jobs.heartbeat``). If the stamp is older than the lease, the worker is taken
for dead (killed, its machine gone, or the web request that ran the job in embedded mode
cut off by gunicorn's timeout): the job is claimed again, up to ``max_attempts`` claims in
all, and then failed with a message. Pure: datetimes in, a verdict out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

HELD = "held"  # the worker is alive (or the lease has not run out yet)
RECLAIM = "reclaim"  # the lease ran out: give the job to another worker
FAIL = "fail"  # the lease ran out and every attempt is spent: fail it with a message


def lease_expired(heartbeat_at: datetime | None, now: datetime, lease_seconds: float) -> bool:
    """A missing heartbeat counts as expired (a job claimed before leases existed)."""
    return heartbeat_at is None or now - heartbeat_at > timedelta(seconds=lease_seconds)


def lease_verdict(
    heartbeat_at: datetime | None, now: datetime, lease_seconds: float, attempts: int, max_attempts: int
) -> str:
    if not lease_expired(heartbeat_at, now, lease_seconds):
        return HELD
    return RECLAIM if attempts < max_attempts else FAIL


def given_up_message(what: str, lease_seconds: float, attempts: int) -> str:
    return (
        f"{what} stopped: its worker sent no heartbeat for {lease_seconds:.0f} s "
        f"(killed, or the web request running it timed out), {attempts} attempt(s) in all. "
        "Start it again; if it keeps stopping, it may need more time or memory than a worker has."
    )
