"""The idle sweep: participants silent for longer than their study's idle timeout are abandoned.

Their planned pairs (answered ones too: an abandoned list is never analysed) go back to the pool (``studies.actions.do_release_planned_pairs``)
so that someone else answers them. A study with ``idle_timeout_minutes = 0`` never times out.
Run by the ``expire_idle_participants`` Celery task and management command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from annotation.answering import do_release_pairs_of_excluded
from annotation.models import Participant, ParticipantStatus
from studies.models import Study


@dataclass(frozen=True)
class ExpiryReport:
    participants: int = 0
    pairs_released: int = 0


def do_expire_idle_participants(now: datetime) -> ExpiryReport:
    """Abandon every in-progress participant idle since before their study's cutoff.

    Each participant is one transaction: the row is locked (skipping rows a submission
    holds right now) and re-checked, so one who answers at that moment is left alone.
    Safe to run concurrently and repeatedly.
    """
    participants = pairs = 0
    studies = Study.objects.filter(
        participants__status__in=[
            ParticipantStatus.INSTRUCTIONS,
            ParticipantStatus.PRACTICE,
            ParticipantStatus.ACTIVE,
        ],
        idle_timeout_minutes__gt=0,
    ).distinct()
    for study in studies.only("pk", "idle_timeout_minutes"):
        cutoff = now - timedelta(minutes=study.idle_timeout_minutes)
        for pk in Participant.objects.filter(study=study).idle_since(cutoff).values_list("pk", flat=True):
            released = _expire_one(pk, cutoff)
            if released is not None:
                participants += 1
                pairs += released
    return ExpiryReport(participants=participants, pairs_released=pairs)


def _expire_one(pk: int, cutoff: datetime) -> int | None:
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update(skip_locked=True).filter(pk=pk).idle_since(cutoff).first()
        )
        if participant is None:
            return None
        participant.status = ParticipantStatus.ABANDONED
        participant.save(update_fields=["status"])
        return do_release_pairs_of_excluded(participant)  # an abandoned list is never analysed
