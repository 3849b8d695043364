"""Which screen a participant sees now, and what it shows. Reads only.

``current_step(participant)`` is the single place that maps a participant's state to a
screen; the task page (GET), every POST response and the htmx fragments all use it. It
writes nothing: the view that sends a trial screen starts its clock (``do_mark_served``).
A trial's context never depends on its kind: sentinels, duplicates and regular trials
produce the same markup, with only the opaque token and the pictures differing. The pictures
are inline (``annotation.pictures``): a trial is one request, and the page never holds the token
of any trial but the one on screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from django.db.models import F
from django.urls import reverse

from annotation import panels
from annotation.models import Choice, Participant, ParticipantStatus, Trial
from annotation.outcomes import outcome_context, participant_outcome
from annotation.pictures import pictures
from annotation.questionnaires import pending_questions
from annotation.text import render_markdown
from annotation.trial_screens import known_answer, question_for, screen_context
from studies.models import StudyState


@dataclass
class Step:
    name: str  # the template under templates/annotation/steps/<name>.html
    context: dict = field(default_factory=dict)

    @property
    def template(self) -> str:
        return f"annotation/steps/{self.name}.html"


@lru_cache(maxsize=1024)
def _answer_url(slug: str) -> str:
    """``reverse`` once per study."""
    return reverse("annotation:answer", args=[slug])


#: What the instructions' hidden line asks an automated reader to type (``Study.instruction_probe``).
PROBE_WORD = "heliotrope"


def trial_pictures(trial: Trial) -> dict[str, str]:
    """side → the picture of that side of ``trial``, inline (``annotation.pictures``): the screen
    needs no other request, and no picture URL with a token is ever on the page."""
    ids = dict(
        zip(
            SIDES,
            (trial.left_sketch_id, trial.right_sketch_id, trial.third_sketch_id, trial.fourth_sketch_id),
        )
    )
    found = pictures({pk for pk in ids.values() if pk is not None})
    return {side: found[pk] for side, pk in ids.items() if pk is not None}


def trial_context(
    *, question, allow_none, token, left_url, right_url, answer_url, done, total, label, prefetch, category=""
):
    """Everything the trial screen shows; shared by participants and the staff preview.
    ``category``: the category's name, shown above the pair (empty: not shown). ``left_url`` and
    ``right_url``: the pictures' ``src`` (inline for participants). ``prefetch``: image URLs to
    load ahead (the staff preview's next pair; a participant's page never names another trial)."""
    return {
        "category": category,
        "question": question,
        "allow_none": allow_none,
        "token": token,
        "left_url": left_url,
        "right_url": right_url,
        "answer_url": answer_url,
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "label": label,
        "prefetch": prefetch,
    }


def current_step(
    participant: Participant, *, feedback_for: Trial | None = None, notice: str = "", upcoming=()
) -> Step:
    """The screen for the participant's state. ``upcoming``: the trial now due, already fetched by
    the action that just ran (saves a query). Writes nothing."""
    study = participant.study
    status = participant.status
    base = {
        "study": study,
        "participant": participant,
        "notice": notice,
        "panel_name": panels.panel_name(study),
    }
    if feedback_for is not None:
        return Step("feedback", base | _feedback(participant, feedback_for))
    outcome = participant_outcome(participant)
    if outcome is not None:
        base["outcome"] = outcome_context(study, outcome, participant.current_position)
    questions = _questions_step(participant, base)
    if questions is not None:
        return questions
    if status == ParticipantStatus.COMPLETED:
        return Step("complete", base | {"completion_url": panels.completion_url(study)})
    if (
        status in (ParticipantStatus.BLOCKED, ParticipantStatus.ABANDONED, ParticipantStatus.RETURNED)
        or study.state == StudyState.CLOSED
    ):
        name = {
            ParticipantStatus.BLOCKED: "blocked",
            ParticipantStatus.ABANDONED: "expired",
            ParticipantStatus.RETURNED: "expired",
        }.get(status, "closed")
        return Step(name, base | {"return_instructions": panels.return_instructions(study)})
    if status in (ParticipantStatus.CONSENTING, ParticipantStatus.DECLINED):
        name = "consent" if status == ParticipantStatus.CONSENTING else "declined"
        return Step(
            name,
            base
            | {
                "consent_html": render_markdown(study.consent_text),
                "return_instructions": panels.return_instructions(study),
            },
        )
    if status == ParticipantStatus.INSTRUCTIONS:
        return Step("instructions", base | _instructions(participant))
    if participant.break_due:
        return Step("break", base | {"done": participant.current_position, "total": participant.n_trials})
    return Step("trial", base | _trial(participant, upcoming))


def _questions_step(participant: Participant, base: dict) -> Step | None:
    """The study's pre-task questions (after consent) or post-task ones (before the code), if any are left."""
    phase = {ParticipantStatus.INSTRUCTIONS: "pre", ParticipantStatus.COMPLETED: "post"}.get(
        participant.status
    )
    if phase is None or participant.study.state == StudyState.CLOSED:
        return None
    pending = pending_questions(participant, phase)
    if not pending:
        return None
    return Step(
        "questions",
        base
        | {
            "phase": phase,
            "questions": [{"q": q, "attempt": attempt, "retry": attempt > 1} for q, attempt in pending],
            "questions_url": reverse("annotation:questions", args=[participant.study.slug]),
            "instructions_html": render_markdown(participant.study.instructions) if phase == "pre" else "",
        },
    )


SIDES = ("left", "right", "third", "fourth")


def _trial(participant: Participant, fetched=()) -> dict:
    in_practice = participant.status == ParticipantStatus.PRACTICE
    position = participant.practice_position if in_practice else participant.current_position
    total = participant.n_practice if in_practice else participant.n_trials
    study = participant.study
    current = fetched[0] if fetched else _current_trial(participant, in_practice, position)
    label = f"Practice {position + 1} of {total}" if in_practice else f"Trial {position + 1} of {total}"
    category = current.category_name if study.show_category else ""
    shown = trial_pictures(current)
    context = trial_context(
        question=study.question,
        allow_none=study.allow_no_difference,
        token=current.token,
        left_url=shown["left"],
        right_url=shown.get("right", ""),
        answer_url=_answer_url(study.slug),
        done=position,
        total=total,
        label=label,
        prefetch=(),
        category=category,
    )
    # best of K and single (annotation.trial_screens); a pair adds only its type
    return context | screen_context(study, current, shown.__getitem__, category)


def _current_trial(participant: Participant, in_practice: bool, position: int) -> Trial:
    return (
        Trial.objects.filter(participant=participant, is_practice=in_practice, position=position)
        .annotate(category_name=F("left_sketch__category__name"))
        .only("token", "position", "left_sketch", "right_sketch", "third_sketch", "fourth_sketch")
        .get()
    )


def _instructions(participant: Participant) -> dict:
    study = participant.study
    example = (  # stored after the practice trials (annotation.admission)
        Trial.objects.filter(participant=participant, is_practice=True, position=participant.n_practice)
        .only(
            "token", "left_sketch", "right_sketch", "third_sketch", "fourth_sketch", "practice_better_sketch"
        )
        .first()
    )
    context = {
        "instructions_html": render_markdown(study.instructions),
        "has_practice": participant.n_practice > 0,
        "probe_word": PROBE_WORD,
    }
    if example is not None:
        better_left = example.practice_better_sketch_id == example.left_sketch_id
        shown = trial_pictures(example)
        context["example"] = {
            "left_url": shown["left"],
            "right_url": shown.get("right", ""),
            "better": "left" if better_left else "right",
        }
        context["example"] |= screen_context(study, example, shown.__getitem__) | known_answer(
            study, example, example.practice_better_sketch_id
        )
    context["screen"] = (
        screen_context(study, None, str)
        if study.trial_type == "pair"
        else {
            "trial_type": study.trial_type,
            "n_options": study.sketches_per_trial,
            "question": question_for(study, "<category>" if study.show_category else ""),
        }
    )
    return context


def _feedback(participant: Participant, trial: Trial) -> dict:
    answer = trial.answer
    better = "left" if trial.practice_better_sketch_id == trial.left_sketch_id else "right"
    shown = trial_pictures(trial)
    return (
        {
            "correct": bool(answer.is_correct),
            "no_difference": answer.choice == Choice.NONE,
            "better": better,
            "left_url": shown["left"],
            "right_url": shown.get("right", ""),
            "practice_done": participant.status != ParticipantStatus.PRACTICE,
            "answered": answer.choice,
        }
        | screen_context(participant.study, trial, shown.__getitem__)
        | known_answer(participant.study, trial, trial.practice_better_sketch_id)
    )


def feedback_trial(participant: Participant, token: str) -> Trial | None:
    """The practice trial to give feedback on, if ``token`` is the participant's latest practice answer."""
    if not token or participant.current_position > 0 or participant.practice_position == 0:
        return None
    return (
        Trial.objects.select_related("answer")
        .filter(
            participant=participant,
            is_practice=True,
            token=token,
            position=participant.practice_position - 1,
            answer__isnull=False,
        )
        .first()
    )
