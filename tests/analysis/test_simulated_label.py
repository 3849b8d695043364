"""Simulated participants are labelled everywhere their answers show, and one action removes them."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.contrib.auth.models import User

from analysis.crowd import CrowdError, simulate_crowd
from analysis.exports import report_zip
from analysis.reports import build_report
from annotation.models import Answer, Participant
from studies.actions import do_launch_study
from studies.models import PlannedPair
from tests.factories import grant_researcher_permissions, make_scored_study

pytestmark = pytest.mark.django_db

CONFIG = {"trials_per_participant": 30, "sentinels_per_participant": 4, "duplicates_per_participant": 4,
          "min_duplicate_distance": 8, "practice_trials": 2, "break_every": 0}  # fmt: skip


@pytest.fixture
def owner(db):
    user = User.objects.create_user("owner", "o@example.org", "owner-password-1", is_staff=True)
    grant_researcher_permissions(user)
    return user


def test_simulated_workers_are_labelled_on_the_pages_the_report_and_every_export(client, owner):
    study = do_launch_study(make_scored_study("sim-label", owner=owner, **CONFIG))
    simulate_crowd(study, {"good": 2, "spammer": 1}, seed=3)
    real = Participant.objects.filter(study=study)
    assert real.count() == 3 and all(p.simulated for p in real)
    report = build_report(study, agreement_boot=0, bt_boot=10, correlation_boot=10)
    assert report.meta["simulated_participants"] == 3
    assert all(row["simulated"] for row in report.answer_rows())
    assert all(row["simulated"] for row in report.worker_qa)
    archive = zipfile.ZipFile(io.BytesIO(report_zip(report)))
    answers = list(csv.DictReader(io.StringIO(archive.read("sim-label-report/answers.csv").decode())))
    assert answers and {row["simulated"] for row in answers} == {"true"}
    assert json.loads(archive.read("sim-label-report/report.json"))["meta"]["simulated_participants"] == 3
    assert b"Simulated:" in archive.read("sim-label-report/report.html")
    client.force_login(owner)
    for url in (f"/analysis/studies/{study.slug}/", f"/analysis/studies/{study.slug}/rankings/pig/"):
        assert "simulated workers (analysis.crowd), not people" in client.get(url).content.decode()


def test_one_admin_action_removes_every_simulated_participant_and_gives_their_pairs_back(client, owner):
    study = do_launch_study(make_scored_study("sim-remove", owner=owner, target_participants=10, **CONFIG))
    pool_before = sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True))
    simulate_crowd(study, {"good": 2, "always_left": 1}, seed=4)
    client.force_login(owner)
    client.get(f"/p/{study.slug}/?pid=a-real-person")  # a person, who must stay
    response = client.post(
        "/admin/analysis/studyresults/",
        {"action": "remove_simulated_participants", "_selected_action": [study.pk]},
        follow=True,
    )
    assert "removed 3 simulated participant(s)" in response.content.decode()
    assert list(Participant.objects.filter(study=study).values_list("panel_id", flat=True)) == [
        "a-real-person"
    ]
    assert not Answer.objects.filter(trial__participant__study=study).exists()
    assert (
        sum(PlannedPair.objects.filter(study=study).values_list("times_assigned", flat=True)) == pool_before
    )


def test_a_compared_scorer_cannot_be_the_simulated_truth(owner):
    study = do_launch_study(make_scored_study("sim-truth", owner=owner, **CONFIG))
    with pytest.raises(CrowdError, match="one of the methods the study compares"):
        simulate_crowd(study, {"good": 1}, seed=1, oracle_name=study.scorers.first().name)
