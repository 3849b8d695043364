"""The README's "script a study" example, run verbatim against a live server."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from tests.factories import make_sketches, make_trained_scorer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def readme_script() -> str:
    text = (Path(settings.BASE_DIR) / "README.md").read_text()
    block = re.search(r"<!-- script-a-study:start -->\s*```python\n(.*?)```", text, re.S)
    assert block, "the README lost its script-a-study example"
    return block.group(1)


def test_the_readme_example_scripts_a_study_with_only_the_api(live_server, researcher, sample_dir, tmp_path):
    from sketches.models import Category

    make_sketches("face", 1)  # the scorer's classes must exist as categories
    for name in ("apple", "cactus", "pig"):
        make_sketches(name, 1)
    scorer = make_trained_scorer("readme-gacl-cos", categories=list(Category.objects.all()))
    token = Token.objects.create(user=researcher).key
    namespace: dict = {}
    exec(compile(readme_script(), "README.md", "exec"), namespace)

    study, report = namespace["script_a_study"](
        live_server.url, token, str(sample_dir / "pig.ndjson"), scorer.name, "pig"
    )

    assert study["state"] == "pilot" and study["plan_frozen_at"]
    names = zipfile.ZipFile(io.BytesIO(report)).namelist()
    assert any(name.endswith("report.html") for name in names), names
