"""Pre- and post-task questions: demographics, a comprehension check with two attempts, feedback."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from annotation.actions import do_submit_answer
from annotation.models import Participant, ParticipantStatus
from annotation.prolific.export import questions_csv
from annotation.questionnaires import QuestionAnswer
from studies.models import PlannedPair
from studies.outcomes import Outcome, default_code
from studies.questionnaires import Question
from tests.annotation.factories import main_trials, make_running_study, right_choice, unbiased_choice
from tests.annotation.test_pages import enter, post, step_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    study = make_running_study("with-questions", break_every=0)
    Question.objects.create(
        study=study, phase="pre", order=1, kind="number", text="Your age?", min_value=18, max_value=99
    )
    Question.objects.create(
        study=study, phase="pre", order=2, kind="choice", text="Device?", choices=["phone", "computer"]
    )
    Question.objects.create(
        study=study,
        phase="pre",
        order=3,
        kind="comprehension",
        text="Which sketch do you pick?",
        choices=["the better drawn one", "the bigger one"],
        correct="the better drawn one",
    )
    Question.objects.create(
        study=study, phase="post", order=1, kind="text", text="Any feedback?", required=False
    )
    return study


def ids(study):
    return {q.kind: f"q{q.pk}" for q in Question.objects.filter(study=study)}


def assigned(study):
    return sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))


def test_pre_task_questions_come_after_consent_and_bad_answers_store_nothing(client, study):
    enter(client, study)
    page = post(client, study, "consent", {"decision": "accept"})
    assert step_of(page) == "questions" and b"Your age?" in page.content
    q = ids(study)
    bad = post(client, study, "questions", {"phase": "pre", q["number"]: "7", q["choice"]: "phone"})
    assert b"from 18 to 99" in bad.content and b"please answer this question" in bad.content
    assert not QuestionAnswer.objects.exists()
    good = post(
        client,
        study,
        "questions",
        {"phase": "pre", q["number"]: "34", q["choice"]: "phone", q["comprehension"]: "the better drawn one"},
    )
    assert step_of(good) == "instructions"
    assert QuestionAnswer.objects.count() == 3


def test_a_comprehension_check_gives_a_second_attempt_then_screens_out(client, study):
    participant = enter(client, study)
    post(client, study, "consent", {"decision": "accept"})
    q = ids(study)
    answers = {
        "phase": "pre",
        q["number"]: "40",
        q["choice"]: "computer",
        q["comprehension"]: "the bigger one",
    }
    again = post(client, study, "questions", answers)
    assert step_of(again) == "questions" and b"one more try" in again.content
    assert b"Your age?" not in again.content  # only the check is asked again
    before = assigned(study)
    out = post(client, study, "questions", {"phase": "pre", q["comprehension"]: "the bigger one"})
    assert step_of(out) == "blocked" and b"comprehension question" in out.content
    assert default_code(study.slug, study.seed, Outcome.SCREENED_OUT).encode() in out.content
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.BLOCKED and participant.qualified is False
    assert assigned(study) == before - study.regular_trials_per_participant
    assert list(
        QuestionAnswer.objects.filter(question__kind="comprehension").values_list("attempt", "is_correct")
    ) == [
        (1, False),
        (2, False),
    ]


def test_a_right_second_attempt_continues(client, study):
    enter(client, study)
    post(client, study, "consent", {"decision": "accept"})
    q = ids(study)
    post(
        client,
        study,
        "questions",
        {"phase": "pre", q["number"]: "40", q["choice"]: "phone", q["comprehension"]: "the bigger one"},
    )
    page = post(client, study, "questions", {"phase": "pre", q["comprehension"]: "the better drawn one"})
    assert step_of(page) == "instructions"


def test_post_task_feedback_comes_before_the_code_and_goes_into_the_export(client, study):
    participant = enter(client, study)
    post(client, study, "consent", {"decision": "accept"})
    q = ids(study)
    post(
        client,
        study,
        "questions",
        {"phase": "pre", q["number"]: "40", q["choice"]: "phone", q["comprehension"]: "the better drawn one"},
    )
    post(client, study, "instructions", {})
    participant = Participant.objects.get(pk=participant.pk)
    practice = participant.trials.filter(is_practice=True, position__lt=participant.n_practice)
    for trial in practice.order_by("position"):  # the instructions' example (at n_practice) is never answered
        do_submit_answer(participant, trial.token, right_choice(trial))
    for trial in main_trials(participant):
        do_submit_answer(participant, trial.token, unbiased_choice(trial))
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    page = client.get(f"/p/{study.slug}/task/")
    assert (
        step_of(page) == "questions" and b"Any feedback?" in page.content and b"C0DE1234" not in page.content
    )
    done = post(client, study, "questions", {"phase": "post", q["text"]: "Some sketches were tiny."})
    assert step_of(done) == "complete" and b"C0DE1234" in done.content
    lines = questions_csv(study).splitlines()
    assert lines[0] == "participant_id,phase,question,kind,attempt,answer,correct"
    assert "PID-A,post,Any feedback?,text,1,Some sketches were tiny.," in lines
    assert len(main_trials(participant)) == study.trials_per_participant


def test_a_comprehension_question_must_have_its_answer_among_the_choices(study):
    question = Question(
        study=study, phase="pre", kind="comprehension", text="?", choices=["a", "b"], correct="c"
    )
    with pytest.raises(ValidationError, match="one of the choices"):
        question.full_clean()
