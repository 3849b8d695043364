"""The sanity report end to end: a real tiny scorer is trained, evaluated on its held-out
sketches, the report is stored and shown, and a study launch respects it."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from scoring.models import Scorer
from sketches.degradations import FAMILIES, SEVERITIES
from studies import lifecycle
from studies.errors import StudyConfigError
from studies.models import StudyState
from tests.factories import SAMPLE_SCORER_CATEGORIES, make_scored_study, make_sketches

pytestmark = pytest.mark.django_db
TINY = ["--encoder", "cnn", "--epochs", "6", "--batch-size", "16", "--lr", "3e-3", "--encoder-kwargs",
        '{"feat_dim": 128, "channels": [32, 64, 96]}']  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _train_and_report(name="tiny-sane", categories=SAMPLE_SCORER_CATEGORIES) -> tuple[Scorer, str]:
    for category in categories:
        make_sketches(category, 60)
    out = io.StringIO()
    call_command("train_scorer", "--name", name, "--categories", *categories, *TINY,
                 stdout=out, stderr=io.StringIO())  # fmt: skip
    return Scorer.objects.get(name=name), out.getvalue()


def test_training_ends_with_a_stored_sanity_report_shown_on_the_scorer_page(researcher_client, settings):
    scorer, out = _train_and_report()
    assert "Sanity report" in out and "truncate" in out
    report = scorer.metrics["sanity"]
    held_out = scorer.metrics["n_test"]
    assert report["n_sketches"] == held_out  # every held-out sketch, nothing from the train split
    cells = {(r["category"], r["family"], r["severity"]) for r in report["rows"]}
    slugs = sorted(SAMPLE_SCORER_CATEGORIES)
    assert cells == {(c, f, s) for c in [*slugs, "all"] for f in FAMILIES for s in SEVERITIES}
    for row in report["rows"]:
        assert row["low"] <= row["share"] <= row["high"]
        assert row["falls"] == round(row["share"] * row["n"])
    assert set(report["summary"]) == set(FAMILIES)

    page = researcher_client.get(f"/admin/scoring/scorer/{scorer.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and "Sanity report" in html
    pooled = report["summary"]["jitter"]
    assert f"{pooled['share']:.3f}" in html  # the table shows the stored numbers
    figure = researcher_client.get(f"/scoring/scorers/{scorer.pk}/sanity.png")
    assert figure.status_code == 200 and figure["Content-Type"] == "image/png"
    assert figure.content[:8] == b"\x89PNG\r\n\x1a\n"

    # The command recomputes the same report (seeded), and refuses what it cannot evaluate.
    out = io.StringIO()
    call_command("evaluate_scorer", scorer.name, stdout=out)
    scorer.refresh_from_db()
    assert scorer.metrics["sanity"]["rows"] == report["rows"]
    with pytest.raises(CommandError, match="no scorer named 'nope'"):
        call_command("evaluate_scorer", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="at least 1"):
        call_command("evaluate_scorer", scorer.name, "--per-category", "0", stdout=io.StringIO())


def test_a_live_launch_with_a_failing_report_is_refused_without_an_override(settings, researcher):
    scorer, _ = _train_and_report("tiny-judged", ("apple", "cactus"))  # the study's own are pig and face
    study = make_scored_study(owner=researcher)
    gacl = study.scorers.get(variant="cos")
    gacl.metrics = {**gacl.metrics, "sanity": scorer.metrics["sanity"]}  # the real report of a real scorer
    gacl.save(update_fields=["metrics"])
    settings.SKETCHQ_SANITY_MIN_SHARE = 1.01  # no real scorer reaches it: the report fails

    with pytest.raises(StudyConfigError) as refused:
        lifecycle.do_launch_study(study)
    messages = refused.value.messages
    assert any("fails its sanity report" in m and "test-gacl-cos" in m for m in messages), messages
    assert any("override" in m for m in refused.value.messages)
    study.refresh_from_db()
    assert study.state == StudyState.DRAFT and study.launched_at is None

    lifecycle.do_launch_study(study, pilot=True, user=researcher)  # a pilot goes ahead, with a warning
    study.refresh_from_db()
    assert study.state == StudyState.PILOT
    (warning,) = study.plan_summary["scorer_sanity"]
    assert warning["state"] == "pilot" and "override_reason" not in warning and warning["by"] == "researcher"

    api = APIClient()
    api.force_authenticate(researcher)
    response = api.post(f"/api/studies/{study.slug}/launch/", {"pilot": False}, format="json")
    assert response.status_code == 400 and any("override" in m for m in response.data["detail"])
    response = api.post(
        f"/api/studies/{study.slug}/launch/",
        {"pilot": False, "override_reason": "pilot agreement looked fine; checking q later"},
        format="json",
    )
    assert response.status_code == 200, response.data
    study.refresh_from_db()
    assert study.state == StudyState.LIVE
    record = study.plan_summary["scorer_sanity"][-1]
    assert record["override_reason"] == "pilot agreement looked fine; checking q later"
    assert any("test-gacl-cos" in p for p in record["problems"])


def test_a_scorer_without_a_report_blocks_a_live_launch_in_the_admin_until_a_reason_is_given(
    researcher_client, researcher
):
    study = make_scored_study(owner=researcher)
    Scorer.objects.filter(name="test-softmax").update(metrics={})
    page = researcher_client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert "has no sanity report" in page and 'name="override_reason"' in page
    url = f"/admin/studies/study/{study.pk}/do/launch_live/"
    researcher_client.post(url)
    study.refresh_from_db()
    assert study.state == StudyState.DRAFT
    researcher_client.post(url, {"override_reason": "softmax is the baseline we expect to fail"})
    study.refresh_from_db()
    assert study.state == StudyState.LIVE
    assert study.plan_summary["scorer_sanity"][-1]["override_reason"].startswith("softmax is the baseline")


def test_study_reports_carry_each_scorers_sanity_verdict(researcher):
    from analysis.reports import sanity_digest

    study = make_scored_study(owner=researcher)
    gacl, softmax = study.scorers.get(variant="cos"), study.scorers.get(variant="softmax")
    Scorer.objects.filter(pk=softmax.pk).update(metrics={})
    softmax.refresh_from_db()
    passing, missing = sanity_digest(gacl), sanity_digest(softmax)
    assert passing["problem"] is None and set(passing["moderate"]) == set(FAMILIES)
    assert "no sanity report" in missing["problem"] and missing["moderate"] == {}
