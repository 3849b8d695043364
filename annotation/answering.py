"""Storing an answer: idempotent, in order, and with the worker checks done on the server.

``do_submit_answer`` handles everything a participant sends one at a time, whatever the
number of tabs, retries and double clicks. The usual answer (on PostgreSQL) takes no lock:
it reads the participant row with its version, and one statement stores the answer and
updates the row only if the row is still that version (``_submit_unlocked``), so it is as if
it had run alone at that moment. Everything else, and any answer whose row changed between
read and write, is one transaction holding a row lock on the participant (``_submit_locked``):

* the same trial answered again (any choice) → the stored answer comes back, "replayed";
* a trial that is not the current one → refused and logged;
* any trial while a break is due → refused until the break ends (``do_end_break``);
* a blocked, finished or timed-out participant → refused and logged;
* over the participant's answer rate (``rate``, counted in the locked row by
  ``ratelimit.count_answer``) → "rate limited", nothing written or logged, the participant to
  wait ``retry_after`` seconds; every other outcome counts one answer request;
* a sentinel answered wrongly → one more mistake; more than ``max_sentinel_mistakes``
  blocks the participant at once (every planned pair of theirs, answered or not, goes back
  to the pool), and the live checks of ``studies.screening`` (sequential tests, too-fast
  answers) may block sooner;
* a duplicate → consistency with the first answer (the same sketch, whatever side);
* the last trial → completed; qualified unless the study's screening rule (``studies.screening``:
  duplicate agreement, sentinels, too-fast answers) unqualifies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from annotation import ratelimit, trial_types
from annotation.hot_queries import (
    lock_participant,
    next_position_of,
    on_live_connection,
    read_participant_and_trials,
    save_answer_count,
    store_answer,
    store_answer_if_unchanged,
    trial_and_next_rows,
)
from annotation.models import (
    Answer,
    Participant,
    ParticipantStatus,
    RefusalReason,
    RefusedSubmission,
    ScreeningStatus,
    Trial,
    TrialKind,
)
from annotation.telemetry import Telemetry
from studies import screening
from studies.actions import do_release_planned_pairs
from studies.models import Study, StudyState

ACCEPTED, REPLAYED, REFUSED, RATE_LIMITED = "accepted", "replayed", "refused", "rate_limited"
MAX_CLIENT_MS = 24 * 3600 * 1000

_REFUSAL_FOR_STATUS = {
    ParticipantStatus.BLOCKED: RefusalReason.BLOCKED,
    ParticipantStatus.COMPLETED: RefusalReason.FINISHED,
    ParticipantStatus.ABANDONED: RefusalReason.ABANDONED,
    ParticipantStatus.RETURNED: RefusalReason.RETURNED,
    ParticipantStatus.CONSENTING: RefusalReason.NOT_STARTED,
    ParticipantStatus.DECLINED: RefusalReason.NOT_STARTED,
    ParticipantStatus.INSTRUCTIONS: RefusalReason.NOT_STARTED,
}
_UPDATED_FIELDS = [
    "status",
    "qualified",
    "practice_position",
    "current_position",
    "sentinels_answered",
    "sentinel_mistakes",
    "duplicates_answered",
    "duplicates_consistent",
    "duplicate_agreement",
    "left_choices",
    "right_choices",
    "fast_answers",
    "screening",
    "screening_reason",
    "last_seen_at",
    "completed_at",
    "blocked_at",
    "trial_served_at",
    "answer_window",
    "answers_in_window",
]


@dataclass(frozen=True)
class SubmitResult:
    outcome: str  # ACCEPTED | REPLAYED | REFUSED | RATE_LIMITED
    participant: Participant  # state after the submission
    trial: Trial | None = None
    answer: Answer | None = None
    reason: str = ""  # a RefusalReason when refused
    blocked_now: bool = False
    completed_now: bool = False
    #: The trial now due (its screen is the response), already marked served, when the
    #: participant goes straight on to another trial; empty otherwise.
    upcoming: tuple[Trial, ...] = ()
    #: RATE_LIMITED: the seconds to wait (``Retry-After``).
    retry_after: int = 0

    @property
    def stored(self) -> bool:
        """An answer for this trial is on record (now or before)."""
        return self.answer is not None


def clean_client_ms(raw) -> int | None:
    """The browser's response time in ms, or None when missing or implausible."""
    try:
        value = int(float(raw))
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 <= value <= MAX_CLIENT_MS else None


def do_submit_answer(
    participant: Participant | int,
    token: str,
    choice: str,
    client_ms=None,
    *,
    study_slug: str | None = None,
    now: datetime | None = None,
    telemetry: Telemetry | None = None,
    rate: str | None = None,
) -> SubmitResult:
    """Store ``choice`` for the participant's trial ``token``; see the module docstring.

    ``participant`` is a Participant or its id; with ``study_slug`` it must belong to that
    study (else ``Participant.DoesNotExist``). ``rate`` ("600/min"): the participant's answer
    rate limit, counted in their row (the answer view passes ``SKETCHQ_PARTICIPANT_RATE``);
    None (callers that are not a participant's browser: benches, simulations) counts nothing.

    Kept to few round trips: the participant (with the study), the trial and the one after it,
    and the INSERT with the UPDATE (one statement on PostgreSQL), prepared (``hot_queries``). On
    PostgreSQL the usual answer reads the participant and the trials in one statement, with no
    BEGIN or COMMIT (two round trips); the locked way reads them in two and adds BEGIN and
    COMMIT. The screen that follows adds one more only for sketches its process has not drawn
    yet (``annotation.pictures``).
    """
    received = now or timezone.now()
    token, choice = str(token or "")[:64], str(choice or "")[:16]
    pk = participant if isinstance(participant, int) else participant.pk
    request = _Submission(pk, token, choice, client_ms, study_slug, received, telemetry or Telemetry(), rate)
    return on_live_connection(lambda: _submit(request))


@dataclass(frozen=True)
class _Submission:
    """One answer request, as ``do_submit_answer`` received it (cleaned)."""

    pk: int
    token: str
    choice: str
    client_ms: object
    study_slug: str | None
    received: datetime
    telemetry: Telemetry
    rate: str | None

    def answer_to(self, participant: Participant, trial: Trial) -> Answer:
        """The new answer this request gives to ``trial`` (not saved)."""
        return _new_answer(participant, trial, self.choice, self.client_ms, self.received, self.telemetry)


def _submit(request: _Submission) -> SubmitResult:
    """Without a lock first (PostgreSQL), else, and for anything but a plain accepted answer, locked."""
    if connection.vendor == "postgresql":
        done = _submit_unlocked(request)
        if done is not None:
            return done
    return _submit_locked(request)


def _submit_unlocked(request: _Submission) -> SubmitResult | None:
    """The usual answer in two statements and no transaction of its own: the participant (not
    locked, with its row version) read with the trials, then one statement that stores the answer
    and updates the participant only if the row is still that version (``store_answer_if_unchanged``).
    Under that condition the write is what the locked way would have written, from the same state.
    None (nothing written) for everything else: a replay, a refusal, an answer that blocks or
    completes the participant (pairs to release), or a row changed since the read (another tab, a
    double click, a page view): ``_submit_locked`` then does it all again under the lock."""
    token, choice, received, rate = request.token, request.choice, request.received, request.rate
    participant, version, rows = read_participant_and_trials(request.pk, request.study_slug, token)
    limited = _over_rate(participant, rate, received)  # nothing to write: the same as under the lock
    if limited is not None:
        return limited
    study = participant.study
    trial, upcoming = _this_and_next(rows, token, next_position_of(participant))
    if trial is None or trial.answer_id is not None or _refusal(participant, study, trial, choice):
        return None
    answer = request.answer_to(participant, trial)
    blocked_now, completed_now = _advance(participant, study, trial, answer, received)
    if blocked_now or completed_now:
        return None
    shows_trial = _start_next_trial_clock(participant, received)
    if not store_answer_if_unchanged(answer, participant, _UPDATED_FIELDS, version):
        return None
    return SubmitResult(ACCEPTED, participant, trial, answer, upcoming=upcoming if shows_trial else ())


def _over_rate(participant: Participant, rate: str | None, received: datetime) -> SubmitResult | None:
    """Count this answer request in the participant's row (``ratelimit.count_answer``); the
    RATE_LIMITED result once over ``rate``, else None. ``rate`` None counts nothing."""
    if rate is None:
        return None
    retry_after = ratelimit.count_answer(participant, rate, received.timestamp())
    return SubmitResult(RATE_LIMITED, participant, retry_after=retry_after) if retry_after else None


def _start_next_trial_clock(participant: Participant, received: datetime) -> bool:
    """Straight on to the next trial: its server clock starts now, with this answer's write.
    Whether a trial screen follows (not a break, not the end)."""
    shows_trial = participant.status == ParticipantStatus.ACTIVE and not participant.break_due
    participant.trial_served_at = received if shows_trial else None
    return shows_trial


def _new_answer(participant, trial, choice, client_ms, received, telemetry) -> Answer:
    return Answer(
        trial=trial,
        choice=choice,
        chosen_sketch_id=_chosen_sketch_id(trial, choice),
        served_at=participant.trial_served_at,
        server_response_ms=_elapsed_ms(participant.trial_served_at, received),
        client_response_ms=clean_client_ms(client_ms),
        created_at=received,
        **_checks(trial, choice),
        **telemetry.answer_fields(),
    )


def _submit_locked(request: _Submission) -> SubmitResult:
    token, choice, received, rate = request.token, request.choice, request.received, request.rate
    with transaction.atomic():
        locked = lock_participant(request.pk, request.study_slug)  # the study row is read, not locked
        # Counted on the locked row; saved with the answer (store_answer), or on its own below.
        limited = _over_rate(locked, rate, received)
        if limited is not None:
            return limited
        study = locked.study
        trial, upcoming = _trial_and_next(locked, token)
        if trial is None:
            return _do_refuse(locked, token, choice, RefusalReason.UNKNOWN_TOKEN, counted=rate is not None)
        if trial.answer_id is not None:
            if rate is not None:
                save_answer_count(locked)
            return SubmitResult(REPLAYED, locked, trial, Answer.objects.get(pk=trial.answer_id))
        reason = _refusal(locked, study, trial, choice)
        if reason:
            return _do_refuse(locked, token, choice, reason, trial, counted=rate is not None)
        answer = request.answer_to(locked, trial)
        blocked_now, completed_now = _advance(locked, study, trial, answer, received)
        shows_trial = _start_next_trial_clock(locked, received)
        store_answer(answer, locked, _UPDATED_FIELDS)  # one statement on PostgreSQL
        if blocked_now or (completed_now and not locked.qualified):
            do_release_pairs_of_excluded(locked)
        return SubmitResult(
            ACCEPTED,
            locked,
            trial,
            answer,
            blocked_now=blocked_now,
            completed_now=completed_now,
            upcoming=upcoming if shows_trial else (),
        )


def _trial_and_next(participant: Participant, token: str) -> tuple[Trial | None, tuple[Trial, ...]]:
    """The trial ``token`` and the main trial after the current one (due once it is answered),
    in one query."""
    following = next_position_of(participant)
    return _this_and_next(trial_and_next_rows(participant.pk, token, following), token, following)


def _this_and_next(rows: list[Trial], token: str, following: int) -> tuple[Trial | None, tuple[Trial, ...]]:
    trial = next((row for row in rows if row.token == token), None) if token else None
    upcoming = tuple(row for row in rows if not row.is_practice and row.position == following)
    return trial, upcoming


def _refusal(participant: Participant, study: Study, trial: Trial, choice: str) -> str | None:
    if participant.status in _REFUSAL_FOR_STATUS:
        return _REFUSAL_FOR_STATUS[participant.status]
    if study.state == StudyState.CLOSED:
        return RefusalReason.STUDY_CLOSED
    if participant.break_due:
        return RefusalReason.ON_BREAK
    in_practice = participant.status == ParticipantStatus.PRACTICE
    expected = participant.practice_position if in_practice else participant.current_position
    if trial.is_practice != in_practice or trial.position != expected:
        return RefusalReason.NOT_CURRENT
    if choice not in trial_types.offered_choices(study, trial):
        return RefusalReason.INVALID_CHOICE
    return None


def _do_refuse(participant, token, choice, reason, trial=None, *, counted: bool = False) -> SubmitResult:
    """Log the refusal; ``counted``: also save the answer rate count taken on the locked row."""
    RefusedSubmission.objects.create(participant=participant, token=token, choice=choice, reason=reason)
    if counted:
        save_answer_count(participant)
    return SubmitResult(REFUSED, participant, trial, reason=reason)


def _chosen_sketch_id(trial: Trial, choice: str) -> int | None:
    return trial_types.chosen_sketch_id(trial, choice)


def _elapsed_ms(served_at: datetime | None, received: datetime) -> int | None:
    if served_at is None:
        return None
    return max(0, round((received - served_at).total_seconds() * 1000))


def _checks(trial: Trial, choice: str) -> dict:
    chosen = _chosen_sketch_id(trial, choice)
    if trial.kind == TrialKind.SENTINEL:
        return {"is_correct": trial_types.is_correct(trial, choice, trial.gold_better_id)}
    if trial.kind == TrialKind.PRACTICE:
        return {"is_correct": trial_types.is_correct(trial, choice, trial.practice_better_sketch_id)}
    if trial.kind == TrialKind.DUPLICATE:
        # The original is always earlier in the list, hence answered; None is "no difference".
        return {"is_consistent": trial.first_chosen_id == chosen}
    return {}


def _advance(p: Participant, study: Study, trial: Trial, answer: Answer, now: datetime) -> tuple[bool, bool]:
    """Update counters and position on the locked participant; returns (blocked_now, completed_now)."""
    p.last_seen_at = now
    if trial.is_practice:
        p.practice_position += 1
        if p.practice_position >= p.n_practice:
            p.status = ParticipantStatus.ACTIVE
        return False, False
    p.current_position += 1
    left, right = trial_types.side_tally(trial, answer.choice)
    p.left_choices, p.right_choices = p.left_choices + left, p.right_choices + right
    ms = answer.client_response_ms if answer.client_response_ms is not None else answer.server_response_ms
    p.fast_answers += ms is not None and ms < study.too_fast_ms
    if trial.kind == TrialKind.SENTINEL:
        p.sentinels_answered += 1
        p.sentinel_mistakes += 0 if answer.is_correct else 1
    elif trial.kind == TrialKind.DUPLICATE:
        p.duplicates_answered += 1
        p.duplicates_consistent += 1 if answer.is_consistent else 0
        p.duplicate_agreement = p.duplicates_consistent / p.duplicates_answered
    rules, counts = study.screening_rules(), screening_counts(p)
    reason = screening.block_reason(rules, counts)
    if reason:
        p.status, p.qualified, p.blocked_at = ParticipantStatus.BLOCKED, False, now
        p.screening, p.screening_reason = ScreeningStatus.BLOCKED, reason
        return True, False
    if p.current_position >= p.n_trials:
        verdict = screening.final_verdict(rules, counts)
        p.status, p.completed_at = ParticipantStatus.COMPLETED, now
        p.qualified, p.screening = verdict.qualified, verdict.status
        p.screening_reason = ", ".join(verdict.reasons)
        return False, True
    return False, False


def screening_counts(p: Participant) -> screening.Counts:
    return screening.Counts(
        sentinels=p.sentinels_answered,
        mistakes=p.sentinel_mistakes,
        duplicates=p.duplicates_answered,
        consistent=p.duplicates_consistent,
        answers=p.current_position,
        left=p.left_choices,
        right=p.right_choices,
        fast=p.fast_answers,
    )


def do_release_pairs_of_excluded(participant: Participant) -> int:
    """A blocked or unqualified participant's answers never count: give back every planned
    pair of theirs, answered or not (once per pair), so the plan is covered by answers that do."""
    pairs = set(
        Trial.objects.filter(participant=participant, planned_pair__isnull=False).values_list(
            "planned_pair_id", flat=True
        )
    )
    return do_release_planned_pairs(sorted(pairs))
