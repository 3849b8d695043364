"""The Prolific client and actions against a fake Prolific served over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from annotation.actions import do_expire_idle_participants
from annotation.models import Participant, ParticipantStatus
from annotation.panel_models import PanelSubmission
from annotation.prolific.client import ProlificClient, ProlificError
from annotation.prolific.export import bonus_lines, decisions_csv, submission_rows
from annotation.prolific.sync import do_pay_bonuses, do_read_study, do_send_decisions, do_sync_submissions
from annotation.review import do_decide_on_panel, do_set_bonus
from studies.actions import do_close_study
from studies.models import PlannedPair, Study
from studies.outcomes import PanelTerms
from tests.annotation.factories import at_trials, main_trials, make_running_study, right_choice
from tests.annotation.fake_prolific import TOKEN, FakeProlific

pytestmark = pytest.mark.django_db

REASON = "Checked the answers by hand."
MESSAGE = (
    "Thank you for taking part. Your answers on the check pairs, whose answer is clear, were wrong too often "
    "for us to use this submission."
)


@pytest.fixture
def fake():
    with FakeProlific() as server:
        yield server


def client_for(fake, **options) -> ProlificClient:
    return ProlificClient(TOKEN, fake.url, **{"timeout": 2, "retries": 2, "backoff": 0, **options})


@pytest.fixture
def study(fake):
    study = make_running_study("prolific-ops", target_participants=5)
    Study.objects.filter(pk=study.pk).update(prolific_study_id=fake.study_id)
    study.refresh_from_db()
    PanelTerms.objects.create(study=study, reward=Decimal("3.00"))
    return study


def assigned(study) -> int:
    return sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))


def test_it_lists_every_page_of_a_studys_submissions(fake):
    for k in range(5):
        fake.add(f"PID-{k}", "ACTIVE")
    listed = client_for(fake).list_submissions(fake.study_id)
    assert [s["participant_id"] for s in listed] == [f"PID-{k}" for k in range(5)]
    assert fake.calls_to("/submissions/") == 3  # pages of 2


def test_it_retries_server_errors_and_timeouts_then_succeeds(fake):
    fake.add("PID-0", "ACTIVE")
    fake.fail("/submissions/", 503, times=1)
    fake.stall("/submissions/", 3.0, times=1)  # longer than the 2 s timeout
    listed = client_for(fake).list_submissions(fake.study_id)
    assert [s["participant_id"] for s in listed] == ["PID-0"]
    assert fake.calls_to("/submissions/") == 3


def test_it_gives_up_after_its_retries_and_says_why(fake):
    fake.fail("/studies/", 502, times=5)
    with pytest.raises(ProlificError, match="HTTP 502"):
        client_for(fake, retries=2).get_study(fake.study_id)
    assert fake.calls_to("/studies/") == 3


def test_a_client_error_is_not_retried_and_names_the_reason(fake):
    with pytest.raises(ProlificError, match="Invalid token"):
        ProlificClient("wrong-token", fake.url, retries=3, backoff=0).get_study(fake.study_id)
    assert fake.calls_to("/studies/") == 1


def test_paying_a_bonus_batch_is_never_retried(fake):
    fake.add("PID-0", "APPROVED")
    client = client_for(fake)
    batch = client.create_bonuses(fake.study_id, "PID-0,1.00\n")
    fake.stall("/pay/", 3.0)
    with pytest.raises(ProlificError, match="may have taken effect") as error:
        client.pay_bonuses(batch["id"])
    assert error.value.uncertain
    assert fake.calls_to("/pay/") == 1


def test_it_reads_places_and_status_and_warns_of_an_idle_timeout_past_prolifics_limit(fake, study):
    fake.study.update(status="PAUSED", places_taken=4, maximum_allowed_time=45)
    read = do_read_study(study, client_for(fake))
    assert read["status"] == "PAUSED" and read["total_available_places"] == 10 and read["places_taken"] == 4
    assert study.idle_timeout_minutes == 60 and "set it to 45 or less" in read["warning"]


def test_the_periodic_task_syncs_running_prolific_studies(fake, study, settings):
    from annotation.tasks import sync_prolific_submissions

    settings.PROLIFIC_API_URL = fake.url
    assert sync_prolific_submissions.delay().get() == {"skipped": "no PROLIFIC_API_TOKEN"}
    settings.PROLIFIC_API_TOKEN = TOKEN
    at_trials(study, "PID-LEAVES")
    fake.add("PID-LEAVES", "TIMED-OUT")
    result = sync_prolific_submissions.delay().get()
    assert result[study.slug]["returned"] == ["PID-LEAVES"]
    assert Participant.objects.get(panel_id="PID-LEAVES").status == ParticipantStatus.RETURNED


def test_a_returned_submission_gives_its_pairs_back_exactly_once(fake, study):
    stays, leaves = at_trials(study, "PID-STAYS"), at_trials(study, "PID-LEAVES")
    fake.add("PID-STAYS", "ACTIVE")
    fake.add("PID-LEAVES", "RETURNED")
    fake.add("PID-NEVER-CAME", "TIMED-OUT")
    before = assigned(study)
    regular = study.regular_trials_per_participant

    report = do_sync_submissions(study, client_for(fake))
    assert report.returned == ["PID-LEAVES"] and report.pairs_released == regular
    assert report.unknown == ["PID-NEVER-CAME"]
    assert assigned(study) == before - regular
    leaves.refresh_from_db()
    stays.refresh_from_db()
    assert leaves.status == ParticipantStatus.RETURNED and stays.status == ParticipantStatus.ACTIVE
    assert PanelSubmission.objects.get(panel_id="PID-LEAVES").pairs_released_at is not None

    # A second sync, a time-out reported later, and the idle sweep release nothing more.
    fake.set_status("PID-LEAVES", "TIMED-OUT")
    again = do_sync_submissions(study, client_for(fake))
    assert again.returned == [] and again.pairs_released == 0
    assert do_expire_idle_participants(timezone.now() + timezone.timedelta(days=2)).participants == 1  # stays
    assert assigned(study) == before - 2 * regular  # "stays" went idle; "leaves" was not released again


def test_a_failed_sync_changes_nothing(fake, study):
    at_trials(study, "PID-LEAVES")
    fake.add("PID-LEAVES", "RETURNED")
    fake.fail("/submissions/", 500, times=10)
    before = assigned(study)
    with pytest.raises(ProlificError, match="HTTP 500"):
        do_sync_submissions(study, client_for(fake))
    assert assigned(study) == before
    assert Participant.objects.get(panel_id="PID-LEAVES").status == ParticipantStatus.ACTIVE
    assert not PanelSubmission.objects.exists()


def _finish(participant):
    from annotation.actions import do_submit_answer

    for trial in main_trials(participant):
        do_submit_answer(participant, trial.token, right_choice(trial))
    participant.refresh_from_db()
    return participant


def test_it_approves_and_rejects_in_bulk_with_reasons(fake, study, researcher):
    good, bad = _finish(at_trials(study, "PID-GOOD")), _finish(at_trials(study, "PID-BAD"))
    fake.add("PID-GOOD", "AWAITING REVIEW", "SUB-G")
    fake.add("PID-BAD", "AWAITING REVIEW", "SUB-B")
    do_sync_submissions(study, client_for(fake))
    do_decide_on_panel(good, "approve", REASON, researcher)
    do_decide_on_panel(bad, "reject", REASON, researcher, category="FAILED_CHECK", message=MESSAGE)

    report = do_send_decisions(study, client_for(fake))
    assert report.approved == ["PID-GOOD"] and report.rejected == ["PID-BAD"] and not report.errors
    assert fake.approved == ["PID-GOOD"]
    assert fake.rejected == [
        {"id": "SUB-B", "action": "REJECT", "rejection_category": "FAILED_CHECK", "message": MESSAGE}
    ]
    # Sent once: a second send has nothing left to send.
    assert do_send_decisions(study, client_for(fake)).as_dict() == {
        "approved": [],
        "rejected": [],
        "errors": [],
    }


def test_a_refused_approval_leaves_the_decisions_unsent(fake, study, researcher):
    good = _finish(at_trials(study, "PID-GOOD"))
    do_decide_on_panel(good, "approve", REASON, researcher)
    fake.fail("/bulk-approve/", 400)
    with pytest.raises(ProlificError, match="HTTP 400"):
        do_send_decisions(study, client_for(fake))
    assert PanelSubmission.objects.get(panel_id="PID-GOOD").decision_sent_at is None


def test_it_pays_researcher_and_pro_rata_bonuses_once(fake, study, researcher):
    good = _finish(at_trials(study, "PID-GOOD"))
    cut = at_trials(study, "PID-CUT")
    from annotation.actions import do_submit_answer

    for trial in main_trials(cut)[:10]:
        do_submit_answer(cut, trial.token, right_choice(trial))
    do_close_study(study)  # closes mid-session for PID-CUT: 10 of 30 trials done
    fake.add("PID-GOOD", "APPROVED")
    fake.add("PID-CUT", "AWAITING REVIEW")
    do_set_bonus(good, "0.50", "Very careful answers.", researcher)

    rows = {r["participant_id"]: r for r in submission_rows(study)}
    assert rows["PID-CUT"]["outcome"] == "interrupted" and rows["PID-CUT"]["bonus"] == "1.00"  # 3.00 × 10/30
    assert bonus_lines(list(rows.values())) == "PID-GOOD,0.50\nPID-CUT,1.00\n"
    assert "participant_id,submission_id" in decisions_csv(study).splitlines()[0]

    paid = do_pay_bonuses(study, client_for(fake))
    assert paid["total"] == "1.50" and fake.paid == [paid["batch"]]
    assert fake.batches[paid["batch"]]["lines"] == ["PID-GOOD,0.50", "PID-CUT,1.00"]
    assert do_pay_bonuses(study, client_for(fake))["paid"] == []  # nothing is paid twice
    assert fake.paid == [paid["batch"]]


def test_a_failed_payment_marks_nothing_paid(fake, study, researcher):
    good = _finish(at_trials(study, "PID-GOOD"))
    fake.add("PID-GOOD", "APPROVED")
    do_set_bonus(good, "0.50", "Very careful answers.", researcher)
    fake.fail("/pay/", 500)
    with pytest.raises(ProlificError, match="HTTP 500"):
        do_pay_bonuses(study, client_for(fake))
    assert PanelSubmission.objects.get(panel_id="PID-GOOD").bonus_paid_at is None


def test_without_a_prolific_study_id_it_says_so(fake, study):
    Study.objects.filter(pk=study.pk).update(prolific_study_id="")
    study.refresh_from_db()
    with pytest.raises(ProlificError, match="Prolific id"):
        do_sync_submissions(study, client_for(fake))
    assert fake.calls == []
