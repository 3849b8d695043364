"""One staff gate (sketches.staff.staff_required) with one behaviour on every staff page."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_scored_study, make_sketches

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(researcher):
    sketch = make_sketches("pig", 1)[0]
    study = make_scored_study(owner=researcher)
    scorer = study.scorers.first()
    return [
        f"/sketches/{sketch.pk}.svg",
        f"/sketches/{sketch.pk}.png",
        f"/scoring/scorers/{scorer.pk}/progress/",
        "/analysis/",
        f"/analysis/studies/{study.slug}/",
        f"/p/{study.slug}/preview/",
    ]


def test_an_anonymous_visitor_gets_403_with_a_sign_in_link_on_every_staff_page(pages):
    for url in pages:
        response = Client().get(url)
        assert response.status_code == 403, url
        assert f'href="/admin/login/?next={url}"' in response.content.decode(), url


def test_a_signed_in_non_researcher_gets_403_saying_why_on_every_staff_page(pages, outsider):
    client = Client()
    client.force_login(outsider)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 403 and b"not a researcher" in response.content, url


def test_a_researcher_gets_every_staff_page(pages, researcher_client):
    for url in pages:
        assert researcher_client.get(url).status_code == 200, url


def test_staff_without_the_named_permission_is_refused(pages, researcher):
    from django.contrib.auth.models import Permission

    researcher.user_permissions.remove(Permission.objects.get(codename="view_scorer"))
    client = Client()
    client.force_login(researcher)
    response = client.get(pages[2])
    assert response.status_code == 403 and b"with the permission this page needs" in response.content
