"""The researcher's review: analysis overrides and panel decisions, audited; the review pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.actions import do_submit_answer
from annotation.models import Participant
from annotation.panel_models import PanelSubmission, ReviewDecision
from annotation.prolific.export import submission_rows
from annotation.review import ReviewError, do_decide_on_panel, do_override_analysis, do_set_bonus
from tests.annotation.factories import at_trials, main_trials, make_running_study, right_choice

pytestmark = pytest.mark.django_db


def finished(study, pid, *, consistent=True):
    """Completed; ``consistent=False`` answers every duplicate the other way (unqualified)."""
    participant = at_trials(study, pid)
    first = {}
    for trial in main_trials(participant):
        choice = right_choice(trial)
        if trial.kind == "regular":
            first[trial.pk] = choice
        if trial.kind == "duplicate":  # sides are swapped: the same sketch is on the other side
            original = first[trial.duplicate_of_id]
            other = "right" if original == "left" else "left"
            choice = other if consistent else original
        do_submit_answer(participant, trial.token, choice)
    participant.refresh_from_db()
    return participant


@pytest.fixture
def study(researcher):
    # The paper's fixed rules only: an inconsistent worker finishes and is unqualified at the end
    # (the sequential tests would block them mid-list, which these review tests do not need).
    return make_running_study(
        "review-study", owner=researcher, target_participants=5, sequential_screening=False
    )


def analysable(study) -> set[str]:
    return set(Participant.objects.filter(study=study).analysable().values_list("panel_id", flat=True))


def test_an_override_is_audited_with_who_when_why_and_the_figures_then(study, researcher):
    good, sloppy = finished(study, "GOOD"), finished(study, "SLOPPY", consistent=False)
    assert sloppy.qualified is False and analysable(study) == {"GOOD"}

    do_override_analysis(good, "exclude", "Same answer on every trial in the last 100.", researcher)
    do_override_analysis(sloppy, "include", "Duplicates were shown on a broken screen.", researcher)
    assert analysable(study) == {"SLOPPY"}

    entries = list(ReviewDecision.objects.order_by("pk"))
    assert [(e.participant.panel_id, e.kind, e.decision) for e in entries] == [
        ("GOOD", "analysis", "exclude"),
        ("SLOPPY", "analysis", "include"),
    ]
    first = entries[0]
    assert first.decided_by == researcher and first.decided_by_name == "researcher"
    assert first.reason == "Same answer on every trial in the last 100." and first.decided_at is not None
    assert first.figures["status"] == "completed" and first.figures["qualified"] is True
    assert first.figures["trials_done"] == study.trials_per_participant
    assert first.figures["analysis_override"] == ""  # the figures before the decision
    assert entries[1].figures["duplicate_agreement"] == sloppy.duplicate_agreement

    # Back to the rules: logged too, and the rules decide again.
    do_override_analysis(good, "", "Checked again: fine.", researcher)
    assert analysable(study) == {"GOOD", "SLOPPY"}
    assert ReviewDecision.objects.filter(participant=good).count() == 2


def test_exports_use_the_override_and_its_reason(study, researcher):
    good = finished(study, "GOOD")
    do_override_analysis(good, "exclude", "Answered with one hand on a phone in a bus.", researcher)
    row = next(r for r in submission_rows(study) if r["participant_id"] == "GOOD")
    assert row["analysed"] is False and row["analysis_override"] == "exclude"
    assert row["analysis_reason"] == "Answered with one hand on a phone in a bus."

    from analysis.results import exclusion_reason
    from analysis.selectors import participant_table

    entry = next(p for p in participant_table(study) if p["panel_id"] == "GOOD")
    assert (
        exclusion_reason(entry, study)
        == "excluded by the researcher: Answered with one hand on a phone in a bus."
    )


def test_exclusion_and_rejection_are_separate_decisions(study, researcher):
    good = finished(study, "GOOD")
    message = "x" * 120
    do_decide_on_panel(good, "reject", "Copied answers.", researcher, category="LOW_EFFORT", message=message)
    assert analysable(study) == {"GOOD"}  # rejecting on the panel does not exclude
    do_override_analysis(good, "exclude", "Copied answers.", researcher)
    assert PanelSubmission.objects.get(panel_id="GOOD").decision == "reject"
    assert analysable(study) == set()
    assert list(ReviewDecision.objects.values_list("kind", flat=True).order_by("pk")) == ["panel", "analysis"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p, u: do_override_analysis(p, "exclude", "  ", u), "give a reason"),
        (lambda p, u: do_override_analysis(p, "maybe", "why", u), "decision must be"),
        (
            lambda p, u: do_decide_on_panel(p, "reject", "why", u, category="LOW_EFFORT", message="short"),
            "100",
        ),
        (
            lambda p, u: do_decide_on_panel(p, "reject", "why", u, category="NOPE", message="x" * 100),
            "category",
        ),
        (lambda p, u: do_set_bonus(p, "-1", "why", u), "between 0"),
        (lambda p, u: do_set_bonus(p, "1.234", "why", u), "2 decimals"),
        (lambda p, u: do_set_bonus(p, "abc", "why", u), "amount"),
    ],
)
def test_bad_review_input_is_refused_and_writes_nothing(study, researcher, call, match):
    participant = finished(study, "GOOD")
    with pytest.raises(ReviewError, match=match):
        call(participant, researcher)
    assert not ReviewDecision.objects.exists() and not PanelSubmission.objects.exists()
    participant.refresh_from_db()
    assert participant.analysis_override == ""


def test_only_a_completed_participant_can_be_included(study, researcher):
    midway = at_trials(study, "MIDWAY")
    with pytest.raises(ReviewError, match="only a participant who completed"):
        do_override_analysis(midway, "include", "Looks fine.", researcher)
    assert not ReviewDecision.objects.exists()


def test_the_review_page_shows_every_answer_and_records_an_override(study, researcher, researcher_client):
    good = finished(study, "GOOD")
    url = reverse("admin:annotation_participant_review", args=[good.pk])
    page = researcher_client.get(url)
    assert page.status_code == 200
    answers = study.trials_per_participant + study.practice_trials
    assert page.content.decode().count('class="sketch-thumb"') == 2 * answers
    response = researcher_client.post(
        url, {"form": "override", "decision": "exclude", "reason": "Too regular."}
    )
    assert response.status_code == 302
    assert ReviewDecision.objects.get().reason == "Too regular."
    refused = researcher_client.post(url, {"form": "bonus", "amount": "-3", "reason": "x"}, follow=True)
    assert "Nothing changed" in refused.content.decode() and ReviewDecision.objects.count() == 1


def test_the_sketch_page_shows_every_judgement_with_both_thumbnails(study, researcher_client):
    good = finished(study, "GOOD")
    trial = main_trials(good)[0]
    sketch = trial.left_sketch_id
    judged = [
        t
        for p in Participant.objects.filter(study=study)
        for t in main_trials(p)
        if sketch in (t.left_sketch_id, t.right_sketch_id)
    ]
    page = researcher_client.get(reverse("admin:annotation_sketch_judgements", args=[sketch]))
    assert page.status_code == 200
    body = page.content.decode()
    assert f"{len(judged)} judgement" in body
    assert body.count('class="sketch-thumb"') == 1 + 2 * len(judged)


def test_the_prolific_page_lists_codes_and_downloads_the_exports(study, researcher_client):
    finished(study, "GOOD")
    url = reverse("admin:annotation_studylinks_prolific", args=[study.pk])
    page = researcher_client.get(url)
    assert page.status_code == 200 and "C0DE1234" in page.content.decode()
    csv = researcher_client.get(url + "?download=decisions")
    assert csv.content.decode().splitlines()[1].startswith("GOOD,")


def test_the_prolific_page_buttons_call_prolific_and_report_failures(study, researcher_client, settings):
    from studies.models import Study
    from studies.outcomes import PanelTerms
    from tests.annotation.fake_prolific import TOKEN, FakeProlific

    with FakeProlific() as fake:
        settings.PROLIFIC_API_TOKEN, settings.PROLIFIC_API_URL, settings.PROLIFIC_API_RETRIES = (
            TOKEN,
            fake.url,
            0,
        )
        Study.objects.filter(pk=study.pk).update(prolific_study_id=fake.study_id)
        study.refresh_from_db()
        PanelTerms.objects.create(study=study)
        at_trials(study, "PID-LEAVES")
        fake.add("PID-LEAVES", "RETURNED")
        url = reverse("admin:annotation_studylinks_prolific", args=[study.pk])
        fake.fail("/submissions/", 500)
        failed = researcher_client.post(url, {"action": "sync"}, follow=True).content.decode()
        assert "nothing changed" in failed and "HTTP 500" in failed
        assert Participant.objects.get(panel_id="PID-LEAVES").status == "active"
        synced = researcher_client.post(url, {"action": "sync"}, follow=True).content.decode()
        assert "PID-LEAVES" in synced and Participant.objects.get(panel_id="PID-LEAVES").status == "returned"


def test_an_unqualified_worker_gets_the_screen_out_code_not_the_completion_code(study):
    from annotation.outcomes import participant_outcome
    from studies.outcomes import Outcome

    good, sloppy = finished(study, "GOOD"), finished(study, "SLOPPY", consistent=False)
    assert sloppy.status == "completed" and sloppy.qualified is False
    assert participant_outcome(good) == Outcome.COMPLETED
    assert participant_outcome(sloppy) == Outcome.SCREENED_OUT
