import io

import pytest
from PIL import Image

from sketches import render
from sketches.models import ImportBatch, Sketch
from tests.factories import make_sketches

pytestmark = pytest.mark.django_db


def test_the_svg_has_a_viewbox_round_caps_and_cache_headers(researcher_client):
    sketch = make_sketches("pig", 1)[0]
    response = researcher_client.get(f"/sketches/{sketch.pk}.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert 'viewBox="-0.04 -0.04 1.08 1.08"' in body and 'stroke-linecap="round"' in body
    assert body.count("<path") == sketch.stroke_count
    assert "max-age=" in response["Cache-Control"] and response["ETag"]


def test_a_repeat_request_with_the_etag_gets_304(researcher_client):
    sketch = make_sketches("pig", 1)[0]
    first = researcher_client.get(f"/sketches/{sketch.pk}.svg")
    again = researcher_client.get(f"/sketches/{sketch.pk}.svg", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_sketches_are_not_served_to_anonymous_or_non_staff_users(client, outsider):
    sketch = make_sketches("pig", 1)[0]
    assert client.get(f"/sketches/{sketch.pk}.svg").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/sketches/{sketch.pk}.svg").status_code == 403


def test_an_unknown_sketch_is_404(researcher_client):
    assert researcher_client.get("/sketches/999999.svg").status_code == 404


def test_the_png_rendering_draws_the_sketch(researcher_client):
    sketch = make_sketches("face", 1)[0]
    response = researcher_client.get(f"/sketches/{sketch.pk}.png?size=128")
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (128, 128)
    dark = sum(1 for v in image.convert("L").tobytes() if v < 128)
    assert 50 < dark < 128 * 128 / 2


def test_a_single_point_stroke_renders_as_a_dot():
    assert "M0.500 0.500l0 0" in render.svg([[[0.5], [0.5]]])


def test_the_admin_upload_imports_through_the_same_path(
    researcher_client, sample_dir, django_capture_on_commit_callbacks
):
    with (sample_dir / "pig.ndjson").open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post("/admin/sketches/sketch/import/", {"file": handle})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/importbatch/{batch.pk}/change/")
    response = researcher_client.get(response["Location"])
    assert batch.status == "done" and batch.n_new == 60
    assert Sketch.objects.filter(import_batch=batch).count() == 60
    assert "60 new, 0 already present" in response.content.decode()


def test_a_bad_admin_upload_writes_nothing_and_shows_why(
    researcher_client, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "pig.ndjson"
    path.write_text('{"word": "pig", "key_id": "1", "drawing": []}\n')
    with path.open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        researcher_client.post("/admin/sketches/sketch/import/", {"file": handle})
    batch = ImportBatch.objects.get()
    response = researcher_client.get(f"/admin/sketches/importbatch/{batch.pk}/change/")
    assert batch.status == "failed" and Sketch.objects.count() == 0
    assert "pig.ndjson:line 1: empty drawing" in response.content.decode()


def test_the_admin_upload_refuses_another_file_type(researcher_client, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with path.open("rb") as handle:
        response = researcher_client.post("/admin/sketches/sketch/import/", {"file": handle})
    assert (
        response.status_code == 200 and "Upload a .ndjson, .jsonl or .npz file." in response.content.decode()
    )
    assert ImportBatch.objects.count() == 0


def test_the_admin_sketch_list_filters_and_searches(researcher_client):
    pigs = make_sketches("pig", 3)
    make_sketches("face", 2)
    response = researcher_client.get("/admin/sketches/sketch/", {"q": pigs[0].key_id})
    assert response.context["cl"].result_count == 1
    response = researcher_client.get("/admin/sketches/sketch/", {"split__exact": "test"})
    assert response.status_code == 200


@pytest.mark.parametrize("where", ["admin", "api"])
def test_admin_and_api_import_jobs_share_one_rule_for_long_names(where, researcher, sample_dir):
    """One action creates the job: a category name over 100 characters is refused with a
    message, with nothing written, in both places; a long filename fits the job's field."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from rest_framework.test import APIClient

    name, data = "p" * 300 + ".ndjson", (sample_dir / "pig.ndjson").read_bytes()
    client, url = (
        (Client(), "/admin/sketches/sketch/import/") if where == "admin" else (APIClient(), "/api/imports/")
    )
    client.force_login(researcher)
    extra = {"format": "multipart"} if where == "api" else {}
    response = client.post(url, {"file": SimpleUploadedFile(name, data), "category": "x" * 101}, **extra)
    assert response.status_code in (200, 400)
    assert "100 characters" in response.content.decode()
    assert ImportBatch.objects.count() == 0
    client.post(url, {"file": SimpleUploadedFile(name, data), "category": "pig"}, **extra)
    batch = ImportBatch.objects.get()
    assert batch.filename.endswith(".ndjson") and len(batch.filename) <= 255
    assert batch.category_name == "pig" and batch.created_by == researcher


def test_the_import_job_action_keeps_the_filename_in_its_field_and_refuses_a_long_category(
    researcher, sample_dir
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sketches.actions import do_create_import_batch

    data = (sample_dir / "pig.ndjson").read_bytes()
    with pytest.raises(ValueError, match="at most 100 characters, got 101"):
        do_create_import_batch(SimpleUploadedFile("pig.ndjson", data), category="x" * 101)
    assert ImportBatch.objects.count() == 0
    upload = SimpleUploadedFile("p" * 300 + ".ndjson", data)
    batch = do_create_import_batch(upload, user=researcher)
    assert batch.filename == upload.name and len(batch.filename) <= 255 and batch.status == "pending"
