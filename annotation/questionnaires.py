"""Participants' answers to a study's questions (``studies.questionnaires.Question``).

``pending_questions(participant, phase)``: the questions still to answer now (a comprehension
check answered wrong once is asked again). ``do_answer_questions(participant, phase, data)``
validates every answer of the phase at once (nothing stored if any is invalid: ``QuestionError``
lists them), stores them in one transaction, and on a second wrong comprehension answer screens
the participant out: blocked, not qualified, and their planned pairs (answered or not) back to the pool.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone

from annotation.models import Participant, ParticipantStatus
from studies.questionnaires import COMPREHENSION_ATTEMPTS, MAX_TEXT, Question, QuestionKind


class QuestionAnswer(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="question_answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    attempt = models.PositiveSmallIntegerField(default=1)
    value = models.TextField(blank=True)
    is_correct = models.BooleanField(null=True)
    answered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["participant", "question", "attempt"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "question", "attempt"], name="questionanswer_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} / {self.question_id} #{self.attempt}: {self.value[:30]}"


class QuestionError(ValueError):
    def __init__(self, problems: dict[int, str]):
        self.problems = problems
        super().__init__("; ".join(problems.values()))


def pending_questions(participant: Participant, phase: str) -> list[tuple[Question, int]]:
    """(question, attempt) for each question of ``phase`` not settled yet."""
    questions = list(Question.objects.filter(study_id=participant.study_id, phase=phase))
    if not questions:
        return []
    answers: dict[int, list[QuestionAnswer]] = {}
    for answer in QuestionAnswer.objects.filter(participant=participant, question__in=questions):
        answers.setdefault(answer.question_id, []).append(answer)
    pending = []
    for question in questions:
        given = answers.get(question.pk, [])
        if not given:
            pending.append((question, 1))
        elif (
            question.kind == QuestionKind.COMPREHENSION
            and not any(a.is_correct for a in given)
            and len(given) < COMPREHENSION_ATTEMPTS
        ):
            pending.append((question, len(given) + 1))
    return pending


def _validate(question: Question, raw: str) -> tuple[str, bool | None]:
    value = (raw or "").strip()
    if not value:
        if question.required or question.kind == QuestionKind.COMPREHENSION:
            raise ValueError("please answer this question")
        return "", None
    if question.kind in (QuestionKind.CHOICE, QuestionKind.COMPREHENSION):
        if value not in question.choices:
            raise ValueError("please pick one of the offered answers")
        return value, (value == question.correct) if question.kind == QuestionKind.COMPREHENSION else None
    if question.kind == QuestionKind.NUMBER:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("please give a whole number") from None
        if (question.min_value is not None and number < question.min_value) or (
            question.max_value is not None and number > question.max_value
        ):
            raise ValueError(f"please give a number from {question.min_value} to {question.max_value}")
        return str(number), None
    if len(value) > MAX_TEXT:
        raise ValueError(f"please keep it under {MAX_TEXT} characters")
    return value, None


def do_answer_questions(participant: Participant, phase: str, data) -> Participant:
    with transaction.atomic():
        locked = Participant.objects.select_for_update().select_related("study").get(pk=participant.pk)
        pending = pending_questions(locked, phase)
        problems, rows = {}, []
        for question, attempt in pending:
            try:
                value, correct = _validate(question, data.get(f"q{question.pk}", ""))
            except ValueError as error:
                problems[question.pk] = str(error)
                continue
            rows.append(
                QuestionAnswer(
                    participant=locked, question=question, attempt=attempt, value=value, is_correct=correct
                )
            )
        if problems:
            raise QuestionError(problems)
        QuestionAnswer.objects.bulk_create(rows)
        failed = [r for r in rows if r.is_correct is False and r.attempt >= COMPREHENSION_ATTEMPTS]
        if failed and locked.status in (
            ParticipantStatus.INSTRUCTIONS,
            ParticipantStatus.PRACTICE,
            ParticipantStatus.ACTIVE,
        ):
            locked.status, locked.qualified, locked.blocked_at = (
                ParticipantStatus.BLOCKED,
                False,
                timezone.now(),
            )
            locked.save(update_fields=["status", "qualified", "blocked_at"])
            from annotation.answering import do_release_pairs_of_excluded  # (a cycle at import time)

            do_release_pairs_of_excluded(locked)
    return locked


def answer_rows(study) -> list[dict]:
    """One row per answer (the last attempt marked), for the exports and the API."""
    return [
        {
            "participant_id": a.participant.panel_id,
            "phase": a.question.phase,
            "question": a.question.text,
            "kind": a.question.kind,
            "attempt": a.attempt,
            "answer": a.value,
            "correct": a.is_correct,
        }
        for a in QuestionAnswer.objects.filter(participant__study=study)
        .select_related("participant", "question")
        .order_by("participant__index", "question__phase", "question__order", "question_id", "attempt")
    ]
