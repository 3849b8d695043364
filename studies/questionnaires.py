"""Optional questions before and after the task, configured per study in the admin.

* ``choice``: one of ``choices`` (demographics such as age band, handedness, device);
* ``number``: a whole number within ``min_value``..``max_value`` (e.g. age);
* ``text``: free text (feedback), at most 2,000 characters;
* ``comprehension``: a choice with a right answer (``correct``). Prolific's rules allow screening
  out on a comprehension check only when the participant gets two attempts, so a first wrong
  answer asks again, and a second one ends the session with the screened-out code.

Pre-task questions come right after consent; post-task ones after the last trial, before the
completion code. Answers are stored by ``annotation.questionnaires``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from studies.models import Study

COMPREHENSION_ATTEMPTS = 2
MAX_TEXT = 2000


class Phase(models.TextChoices):
    PRE = "pre", "before the task"
    POST = "post", "after the task"


class QuestionKind(models.TextChoices):
    CHOICE = "choice", "choice (e.g. demographics)"
    NUMBER = "number", "whole number"
    TEXT = "text", "free text (e.g. feedback)"
    COMPREHENSION = "comprehension", "comprehension check (two attempts)"


class Question(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="questions")
    phase = models.CharField(max_length=4, choices=Phase.choices, default=Phase.PRE)
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=13, choices=QuestionKind.choices)
    text = models.CharField(max_length=500)
    choices = models.JSONField(
        default=list, blank=True, help_text='Choice and comprehension: ["a", "b", ...]'
    )
    correct = models.CharField(max_length=200, blank=True, help_text="Comprehension: the right choice.")
    required = models.BooleanField(default=True)
    min_value = models.IntegerField(null=True, blank=True)
    max_value = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["study", "phase", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="comprehension") | ~Q(correct=""), name="question_comprehension_has_answer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.phase} {self.order}. {self.text[:40]}"

    def clean(self):
        problems = {}
        if self.kind in (QuestionKind.CHOICE, QuestionKind.COMPREHENSION):
            if (
                not isinstance(self.choices, list)
                or len(self.choices) < 2
                or not all(isinstance(c, str) and c.strip() for c in self.choices)
            ):
                problems["choices"] = "give at least two choices, as a list of words"
            elif self.kind == QuestionKind.COMPREHENSION and self.correct not in self.choices:
                problems["correct"] = "the right answer must be one of the choices"
        if self.kind == QuestionKind.COMPREHENSION and self.phase != Phase.PRE:
            problems["phase"] = "a comprehension check comes before the task"
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            problems["max_value"] = "the maximum is below the minimum"
        if problems:
            raise ValidationError(problems)


#: The optional authenticity probe: a free-text question after the last trial, for the panel's own
#: checks of who answered (an agent's prose reads differently). Off until a researcher adds it.
AUTHENTICITY_TEXT = "In a sentence or two, in your own words: how did you decide which sketch was better?"


def do_add_authenticity_question(study: Study) -> tuple[Question, bool]:
    """Add the authenticity question to the study's post-task questions (once); (question, added)."""
    return Question.objects.get_or_create(
        study=study,
        phase=Phase.POST,
        kind=QuestionKind.TEXT,
        text=AUTHENTICITY_TEXT,
        defaults={"order": 1000, "required": True},
    )
