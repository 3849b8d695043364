"""Removing a study's simulated participants (the demo's crowd), never the real ones."""

from __future__ import annotations

from django.db import transaction

from analysis.models import WorkerQuality
from annotation.actions import do_release_pairs_of_excluded
from annotation.models import Answer, Participant, ParticipantStatus, RefusedSubmission, Trial
from studies.models import Study


def do_remove_simulated_participants(study: Study) -> int:
    """Delete every simulated participant of the study (``Participant.simulated``) with their
    trials and answers, giving back the planned pairs they still held. Real participants are
    never touched. One transaction; returns how many were removed."""
    with transaction.atomic():
        Study.objects.select_for_update().only("pk").get(pk=study.pk)
        simulated = list(Participant.objects.select_for_update().filter(study=study, simulated=True))
        for participant in simulated:
            counted = participant.status not in (
                ParticipantStatus.BLOCKED,
                ParticipantStatus.ABANDONED,
            ) and not (participant.status == ParticipantStatus.COMPLETED and participant.qualified is False)
            if counted and participant.status not in (
                ParticipantStatus.CONSENTING,
                ParticipantStatus.DECLINED,
            ):
                do_release_pairs_of_excluded(participant)  # their pairs still counted as covered
        ids = [p.pk for p in simulated]
        Answer.objects.filter(trial__participant_id__in=ids).delete()
        RefusedSubmission.objects.filter(participant_id__in=ids).delete()
        WorkerQuality.objects.filter(participant_id__in=ids).delete()
        Trial.objects.filter(participant_id__in=ids, duplicate_of__isnull=False).delete()
        Trial.objects.filter(participant_id__in=ids).delete()
        Participant.objects.filter(pk__in=ids).delete()
    return len(ids)
