"""Scoring admin pages, the q-vs-θ figure view and the live progress fragments."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from scoring.actions import do_start_scoring_run
from scoring.models import JobStatus, Scorer, ScoringRun, SketchScore
from scoring.outputs import heldout_npz
from tests.factories import (
    SAMPLE_SCORER_CATEGORIES,
    make_category,
    make_scorer,
    make_sketches,
    make_trained_scorer,
    sample_checkpoint,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_media")]


@pytest.fixture
def scored(db, checkpoint_bytes, django_capture_on_commit_callbacks):
    """A real scorer that has scored the 4 sample categories (60 sketches each)."""
    sketches = [s for name in SAMPLE_SCORER_CATEGORIES for s in make_sketches(name, 60)]
    categories = list(dict.fromkeys(s.category for s in sketches))
    scorer = make_trained_scorer("sample-cos", categories, checkpoint=checkpoint_bytes)
    scorer.metrics = {
        "accuracy": 0.8,
        "chance": 0.25,
        "spearman_q_cos": 0.4,
        "spearman_q_cos_per_class": None,
        "fraction_at_bounds": 0.0,
        "n_test": 48,
        "n_train": 192,
        "q_summary": {c.name: {"min": 10, "p10": 11, "median": 12, "p90": 13, "max": 14} for c in categories},
        "accuracy_per_category": {c.name: 0.8 for c in categories},
    }
    scorer.training_seconds = 12.5
    scorer.save()
    with django_capture_on_commit_callbacks(execute=True):
        run = do_start_scoring_run(scorer, task_batch_size=120)
    run.refresh_from_db()
    return scorer, run


def test_the_scorer_list_and_change_page_show_status_metrics_and_the_figure(researcher_client, scored):
    scorer, _ = scored
    listing = researcher_client.get("/admin/scoring/scorer/").content.decode()
    assert "sample-cos" in listing and "0.800" in listing and "12 s" in listing or "13 s" in listing
    page = researcher_client.get(f"/admin/scoring/scorer/{scorer.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert scorer.checkpoint_sha256 in body and "Score every sketch" in body
    assert f'src="/scoring/scorers/{scorer.pk}/q-theta.png"' in body
    assert "Trained" in body and "hx-trigger" not in body  # finished: no polling
    assert "Best first" in body and "Worst first" in body and "240 stored scores" in body
    assert "htmx" in body  # django-htmx's own static script, no CDN
    assert "best</a> · <a" in body  # per-category links to the best and worst sketches


def test_the_score_list_shows_thumbnails_sorted_by_q_with_filters(researcher_client, scored):
    scorer, _ = scored
    pig = make_category("pig")
    response = researcher_client.get(
        f"/admin/scoring/sketchscore/?scorer__id__exact={scorer.pk}&sketch__category__id__exact={pig.pk}&o=-4"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="sketch-thumb"') == 60
    qs = list(SketchScore.objects.filter(scorer=scorer, sketch__category=pig).order_by("-q")[:2])
    best, runner_up = (f"/sketches/{s.sketch_id}.svg" for s in qs)
    assert body.index(best) < body.index(runner_up)  # best first
    for heading in ("By category", "By correct", "By split"):  # "By scorer" shows once there are two
        assert heading.lower() in body.lower()


def test_a_score_detail_page_renders_for_a_researcher(researcher_client, scored):
    score = SketchScore.objects.first()
    response = researcher_client.get(f"/admin/scoring/sketchscore/{score.pk}/change/")
    assert response.status_code == 200 and f"/sketches/{score.sketch_id}.svg" in response.content.decode()


def test_the_run_pages_show_progress_and_poll_while_unfinished(researcher_client, scored):
    scorer, run = scored
    listing = researcher_client.get("/admin/scoring/scoringrun/").content.decode()
    assert "240 of 240 sketches scored" in listing
    ScoringRun.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING, done=100)
    body = researcher_client.get(f"/admin/scoring/scoringrun/{run.pk}/change/").content.decode()
    assert "100 of 240 sketches scored" in body and f"/scoring/runs/{run.pk}/progress/?polling=1" in body


def test_the_run_fragment_asks_the_polling_page_to_reload_when_the_run_finishes(researcher_client, scored):
    _, run = scored
    fragment = researcher_client.get(f"/scoring/runs/{run.pk}/progress/?polling=1", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and fragment["HX-Refresh"] == "true"
    assert "<html" not in fragment.content.decode() and "240 of 240" in fragment.content.decode()


def test_the_scorer_fragment_reports_the_epoch_while_training(researcher_client, db):
    scorer = make_scorer("training-now", status=JobStatus.RUNNING, checkpoint_sha256="")
    scorer.progress = {
        "stage": "training",
        "epoch": 3,
        "epochs": 6,
        "loss": 1.5,
        "train_accuracy": 0.7,
        "seconds": 9,
    }
    scorer.save()
    response = researcher_client.get(
        f"/scoring/scorers/{scorer.pk}/progress/?polling=1", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "epoch 3 of 6" in body and 'hx-trigger="every 2s"' in body and "HX-Refresh" not in response


def test_a_failed_scorer_shows_its_error(researcher_client, db):
    scorer = make_scorer(
        "broken", status=JobStatus.FAILED, checkpoint_sha256="", error="training collapsed: x"
    )
    body = researcher_client.get(f"/admin/scoring/scorer/{scorer.pk}/change/").content.decode()
    assert "Training failed; no usable scorer was saved" in body and "training collapsed: x" in body
    assert "Train again" in body and "Score every sketch" not in body


def test_the_score_button_starts_a_run_and_refusals_come_back_as_messages(
    researcher_client, scored, django_capture_on_commit_callbacks
):
    scorer, _ = scored
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(f"/admin/scoring/scorer/{scorer.pk}/score/", follow=True)
    run = ScoringRun.objects.order_by("-pk").first()
    assert response.redirect_chain[-1][0] == f"/admin/scoring/scoringrun/{run.pk}/change/"
    assert run.status == JobStatus.DONE and run.total == 240
    scorer.checkpoint.storage.delete(scorer.checkpoint.name)
    response = researcher_client.post(f"/admin/scoring/scorer/{scorer.pk}/score/", follow=True)
    assert "is missing from storage" in response.content.decode()
    assert ScoringRun.objects.count() == 2
    assert researcher_client.get(f"/admin/scoring/scorer/{scorer.pk}/score/").status_code == 405


def test_the_list_action_scores_the_chosen_scorers(researcher_client, scored):
    scorer, _ = scored
    response = researcher_client.post(
        "/admin/scoring/scorer/", {"action": "score_sketches", "_selected_action": [scorer.pk]}, follow=True
    )
    assert "run #" in response.content.decode() and ScoringRun.objects.count() == 2


def test_the_cancel_action_stops_an_unfinished_run(researcher_client, scored):
    _, run = scored
    ScoringRun.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING)
    researcher_client.post("/admin/scoring/scoringrun/", {"action": "cancel", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "cancelled" in run.errors[0]


# -- the figure view ---------------------------------------------------------------------


@pytest.fixture
def with_heldout(scored):
    """Give the scorer held-out outputs as training would (its scores on the sketches' test split)."""
    scorer, _ = scored
    from django.core.files.base import ContentFile

    from scoring.training import EvalOutputs, TrainResult

    rows = list(
        SketchScore.objects.filter(scorer=scorer)
        .order_by("sketch_id")
        .values_list("sketch_id", "sketch__category__slug", "q", "cos_theta_y", "predicted_class__slug")
    )
    names = sorted(SAMPLE_SCORER_CATEGORIES)
    import numpy as np

    labels = np.array([names.index(r[1]) for r in rows])
    outputs = EvalOutputs(
        np.array([r[2] for r in rows]),
        np.array([r[3] for r in rows]),
        np.array([names.index(r[4]) for r in rows]),
    )
    result = TrainResult(None, None, names, None, outputs, [], 0.0, "cpu")
    scorer.heldout.save("h.npz", ContentFile(heldout_npz(np.array([r[0] for r in rows]), labels, result)))
    return scorer


def test_the_figure_is_a_png_or_an_svg(researcher_client, with_heldout):
    scorer = with_heldout
    png = researcher_client.get(f"/scoring/scorers/{scorer.pk}/q-theta.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG" and image.size[0] > 400
    svg = researcher_client.get(f"/scoring/scorers/{scorer.pk}/q-theta.svg?category=pig&category=face")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"pig" in svg.content and b"face" in svg.content


def test_the_figure_puts_scorers_side_by_side(
    researcher_client, with_heldout, django_capture_on_commit_callbacks
):
    gacl = with_heldout
    # A second scorer to compare with (the same weights: the layout is under test, not the model).
    twin = make_trained_scorer(
        "sample-twin", list(gacl.categories.all()), checkpoint=sample_checkpoint("cos")
    )
    with django_capture_on_commit_callbacks(execute=True):
        do_start_scoring_run(twin)
    single = Image.open(
        io.BytesIO(researcher_client.get(f"/scoring/scorers/{gacl.pk}/q-theta.png?category=pig").content)
    )
    both = researcher_client.get(f"/scoring/scorers/{gacl.pk}/q-theta.svg?compare={twin.pk}&category=pig")
    assert both.status_code == 200
    assert b"sample-cos (GACL-cos)" in both.content and b"sample-twin (GACL-cos)" in both.content
    pair = Image.open(
        io.BytesIO(
            researcher_client.get(
                f"/scoring/scorers/{gacl.pk}/q-theta.png?compare={twin.pk}&category=pig"
            ).content
        )
    )
    assert pair.size[0] > single.size[0] * 1.5  # two columns
    page = researcher_client.get(f"/admin/scoring/scorer/{gacl.pk}/change/").content.decode()
    assert f"compare={twin.pk}" in page


def test_the_figure_can_draw_stored_scores_of_one_split(researcher_client, scored):
    scorer, _ = scored
    response = researcher_client.get(f"/scoring/scorers/{scorer.pk}/q-theta.png?source=scores&split=test")
    assert response.status_code == 200 and response.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("?compare=abc", 400, "compare must be scorer ids"),
        ("?compare=999999", 400, "no scorer with id 999999"),
        ("?category=unicorn", 400, "unknown category: unicorn"),
        ("?source=elsewhere", 400, "source must be"),
        ("?source=heldout", 400, "has no held-out outputs"),
    ],
)
def test_bad_figure_requests_get_a_clear_400(researcher_client, scored, query, status, message):
    scorer, _ = scored
    response = researcher_client.get(f"/scoring/scorers/{scorer.pk}/q-theta.png{query}")
    assert response.status_code == status and message in response.content.decode()


def test_an_unknown_format_or_scorer_is_404(researcher_client, scored):
    scorer, _ = scored
    assert researcher_client.get(f"/scoring/scorers/{scorer.pk}/q-theta.gif").status_code == 404
    assert researcher_client.get("/scoring/scorers/999999/q-theta.png").status_code == 404


def test_figures_and_fragments_are_for_researchers_only(client, outsider, scored):
    scorer, run = scored
    urls = [
        f"/scoring/scorers/{scorer.pk}/q-theta.png",
        f"/scoring/scorers/{scorer.pk}/progress/",
        f"/scoring/runs/{run.pk}/progress/",
    ]
    for url in urls:
        assert client.get(url).status_code == 403
    client.force_login(outsider)
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.get(f"/admin/scoring/scorer/{scorer.pk}/change/").status_code == 302  # to the login


def test_nobody_edits_scores_or_scorers_by_hand(researcher_client, scored):
    scorer, _ = scored
    assert Scorer.objects.filter(pk=scorer.pk).exists()
    score = SketchScore.objects.first()
    response = researcher_client.post(f"/admin/scoring/sketchscore/{score.pk}/change/", {"q": 0})
    assert response.status_code == 403
    assert researcher_client.get("/admin/scoring/sketchscore/add/").status_code == 403
