"""Small things a researcher sees on the admin pages: no literal ``null``, readable durations and counts."""

import pytest

from tests.factories import make_scored_study

pytestmark = pytest.mark.django_db


def test_an_unset_level_edges_box_is_empty_not_null(researcher_client, researcher):
    study = make_scored_study(owner=researcher)
    assert study.level_edges is None
    page = researcher_client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert 'name="level_edges"' in page
    box = page[page.index('name="level_edges"') :]
    box = box[: box.index("</textarea>")]
    assert box.rstrip().endswith(">") or box.split(">", 1)[1].strip() == "", box


def test_a_study_saved_with_an_empty_level_edges_box_keeps_it_unset(researcher_client, researcher):
    from studies.forms import StudyAdminForm

    field = StudyAdminForm.base_fields["level_edges"]
    assert field.prepare_value(None) == "" and field.prepare_value([0, 0.5, 1]) == "[0, 0.5, 1]"
    assert field.clean("") is None
