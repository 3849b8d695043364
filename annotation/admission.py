"""Getting in: entry by panel id, consent (which draws the trial list), instructions, breaks.

Each ``do_*`` function is one transaction. Refusals raise ``EntryRefused`` with a
reason the views turn into a clear page.
"""

from __future__ import annotations

import secrets
import time

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from annotation.models import Participant, ParticipantStatus, Trial, TrialKind
from studies.actions import do_draw_trial_list, draw_practice_trials
from studies.entry_links import signature_matches
from studies.models import Panel, Study, StudyState

MAX_ID_LENGTH = 64
TOKEN_BYTES = 12  # 16 url-safe characters


class EntryRefused(Exception):
    """The participant may not (or may no longer) enter; ``reason`` names the page to show."""

    REASONS = (
        "missing_id",
        "bad_id",
        "bad_link",
        "wrong_study",
        "network_busy",
        "not_open",
        "paused",
        "closed",
        "full",
        "not_qualified",
        "unavailable",
    )

    def __init__(self, reason: str, detail: str = ""):
        assert reason in self.REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def clean_panel_id(raw: str | None) -> str:
    value = (raw or "").strip()
    if not value:
        raise EntryRefused("missing_id")
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise EntryRefused("bad_id", f"ids are at most {MAX_ID_LENGTH} printable characters")
    return value


def closed_reason(study: Study) -> str | None:
    """Why new participants cannot start now, or None when the study is accepting."""
    if study.is_accepting:
        return None
    return {StudyState.PAUSED: "paused", StudyState.CLOSED: "closed"}.get(study.state, "not_open")


def _check_places(study: Study) -> None:
    if Participant.objects.filter(study=study).taking_a_place().count() >= study.target_participants:
        raise EntryRefused("full")


def _check_qualification(study: Study, panel_id: str) -> None:
    required = study.qualification_study
    if required is not None and not Participant.objects.qualified_for(required, panel_id).exists():
        raise EntryRefused("not_qualified", required.participant_title)


def _check_link(study: Study, panel_id: str, prolific_study_id: str, signature: str | None) -> None:
    """The link itself: signed when the study requires it; Prolific's STUDY_ID when the study sets one."""
    if study.require_signed_entry and not signature_matches(
        study.entry_secret, study.pk, panel_id, signature
    ):
        raise EntryRefused("bad_link", "the link's signature does not match this id")
    if (
        study.panel == Panel.PROLIFIC
        and study.prolific_study_id
        and (prolific_study_id or "").strip() != study.prolific_study_id
    ):
        raise EntryRefused("wrong_study", "STUDY_ID does not match the study's Prolific id")


def network_entry_cap(study: Study) -> int:
    """New participants one network may start per clock hour in this study (0: no cap): the
    study's setting, and never more than a fifth of its places (at least 1)."""
    if not study.new_entries_per_network_hour:
        return 0
    return min(study.new_entries_per_network_hour, max(1, study.target_participants // 5))


def _count_network_entry(study: Study, network: str | None) -> None:
    """Count a new entry from ``network`` in the shared cache; refuse past the cap.

    Only counts (never stores) the network: nothing about it reaches the database.
    """
    cap = network_entry_cap(study)
    if not cap or not network:
        return
    window = 3600
    key = f"entrycap:{study.pk}:{network}:{int(time.time() // window)}"
    cache.add(key, 0, window + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, window + 60)
        count = 1
    if count > cap:
        raise EntryRefused("network_busy", f"more than {cap} new entries from {network} this hour")


def do_enter_study(
    study: Study,
    panel_id: str,
    *,
    prolific_study_id: str = "",
    prolific_session_id: str = "",
    signature: str | None = None,
    network: str | None = None,
) -> Participant:
    """The participant with this panel id, created if new. Returning participants always get back in.

    The link is checked first, for everyone: its signature when the study requires signed
    links, Prolific's STUDY_ID when the study sets its Prolific id. New participants are then
    refused when the study is not accepting, they lack the required qualification, their
    ``network`` (``annotation.network``) started too many this hour, or the study is full.
    Indices are handed out under a lock on the study row.
    """
    panel_id = clean_panel_id(panel_id)
    _check_link(study, panel_id, prolific_study_id, signature)
    existing = Participant.objects.filter(study=study, panel_id=panel_id).first()
    if existing is not None:
        return existing
    reason = closed_reason(study)
    if reason:
        raise EntryRefused(reason)
    _check_qualification(study, panel_id)
    _count_network_entry(study, network)
    with transaction.atomic():
        Study.objects.select_for_update().only("pk").get(pk=study.pk)
        existing = Participant.objects.filter(study=study, panel_id=panel_id).first()
        if existing is not None:
            return existing
        _check_places(study)
        top = Participant.objects.filter(study=study).aggregate(top=Max("index"))["top"]
        try:
            with transaction.atomic():
                return Participant.objects.create(
                    study=study,
                    panel_id=panel_id,
                    prolific_study_id=(prolific_study_id or "")[:MAX_ID_LENGTH],
                    prolific_session_id=(prolific_session_id or "")[:MAX_ID_LENGTH],
                    index=0 if top is None else top + 1,
                )
        except IntegrityError:
            # Only reachable without row locks (SQLite): someone else won the race.
            return Participant.objects.get(study=study, panel_id=panel_id)


def do_accept_consent(participant: Participant) -> Participant:
    """Admit the participant: take a place, draw practice and trial lists, go to instructions.

    Idempotent: a participant already past consent is returned unchanged. Raises
    ``EntryRefused`` (study closed, paused or full) or ``StudyConfigError`` (the study
    cannot give out a list); either way nothing is written.
    """
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=participant.study_id)
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.status not in (ParticipantStatus.CONSENTING, ParticipantStatus.DECLINED):
            return locked
        reason = closed_reason(study)
        if reason:
            raise EntryRefused(reason)
        _check_places(study)
        # The practice trials, then the instructions' example (stored after them, never served
        # as a practice trial, and never the same pair as the first one).
        practice = draw_practice_trials(study, locked.index, example=True)
        n_practice = min(len(practice), study.practice_trials)
        drafts = do_draw_trial_list(study, locked.index)
        _store_trials(locked, practice, drafts)
        now = timezone.now()
        locked.status = ParticipantStatus.INSTRUCTIONS
        locked.n_practice = n_practice
        locked.n_trials = len(drafts)
        locked.consented_at = locked.last_seen_at = now
        locked.save(update_fields=["status", "n_practice", "n_trials", "consented_at", "last_seen_at"])
        return locked


def _store_trials(participant: Participant, practice, drafts) -> None:
    rows = [
        Trial(
            participant=participant,
            position=i,
            kind=TrialKind.PRACTICE,
            is_practice=True,
            token=new_token(),
            left_sketch_id=draft.left_sketch_id,
            right_sketch_id=draft.right_sketch_id,
            third_sketch_id=draft.third_sketch_id,
            fourth_sketch_id=draft.fourth_sketch_id,
            practice_better_sketch_id=draft.better_sketch_id,
        )
        for i, draft in enumerate(practice)
    ]
    originals = [draft for draft in drafts if draft.duplicate_of_position is None]
    main = [_trial_row(participant, draft) for draft in originals]
    Trial.objects.bulk_create(rows + main, batch_size=500)
    pk_at = {trial.position: trial.pk for trial in main}
    repeats = [
        _trial_row(participant, draft, duplicate_of_id=pk_at[draft.duplicate_of_position])
        for draft in drafts
        if draft.duplicate_of_position is not None
    ]
    Trial.objects.bulk_create(repeats, batch_size=500)


def _trial_row(participant: Participant, draft, duplicate_of_id: int | None = None) -> Trial:
    return Trial(
        participant=participant,
        position=draft.position,
        kind=draft.kind,
        token=new_token(),
        left_sketch_id=draft.left_sketch_id,
        right_sketch_id=draft.right_sketch_id,
        third_sketch_id=draft.third_sketch_id,
        fourth_sketch_id=draft.fourth_sketch_id,
        planned_pair_id=draft.planned_pair_id,
        gold_pair_id=draft.gold_pair_id,
        duplicate_of_id=duplicate_of_id,
    )


def do_decline_consent(participant: Participant) -> Participant:
    """Record that the participant declined; they may still change their mind and accept."""
    updated = Participant.objects.filter(pk=participant.pk, status=ParticipantStatus.CONSENTING).update(
        status=ParticipantStatus.DECLINED, last_seen_at=timezone.now()
    )
    if updated:
        participant.status = ParticipantStatus.DECLINED
    return participant


def do_finish_instructions(participant: Participant, probe_answer: str = "") -> Participant:
    """Instructions read: on to practice (or straight to the trials when there is none).
    ``probe_answer``: what came in the instructions' hidden field (``Study.instruction_probe``)."""
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.status == ParticipantStatus.INSTRUCTIONS:
            locked.status = ParticipantStatus.PRACTICE if locked.n_practice else ParticipantStatus.ACTIVE
            locked.last_seen_at = timezone.now()
            locked.probe_answer = str(probe_answer or "").replace("\x00", "").strip()[:100]
            locked.save(update_fields=["status", "last_seen_at", "probe_answer"])
        return locked


def do_end_break(participant: Participant) -> Participant:
    """The participant pressed "continue" on a break screen."""
    Participant.objects.filter(pk=participant.pk, status=ParticipantStatus.ACTIVE).update(
        break_taken_at=F("current_position"), last_seen_at=timezone.now()
    )
    participant.refresh_from_db(fields=["break_taken_at", "current_position", "status", "last_seen_at"])
    return participant
