"""Another researcher's study names never show in the admin: not in lists, not in filter sidebars."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.annotation.factories import admitted, make_running_study

pytestmark = pytest.mark.django_db

SECRET = "Secret conditions A-vs-B"


@pytest.fixture
def world(researcher, other_researcher):
    mine = [make_running_study(owner=researcher, slug=f"mine-{i}", name=f"My study {i}") for i in range(2)]
    theirs = make_running_study(owner=other_researcher, slug="theirs", name=SECRET)
    for study in (*mine, theirs):
        admitted(study, f"worker-of-{study.slug}")
    return {"mine": mine, "theirs": theirs}


def changelists():
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label in ("sketches", "scoring", "studies", "annotation", "analysis")
    ]


def test_the_participants_filter_lists_my_studies(researcher_client, world):
    body = researcher_client.get(reverse("admin:annotation_participant_changelist")).content.decode()
    assert "My study 0" in body and "My study 1" in body  # the sidebar is there, with my studies


@pytest.mark.parametrize("url", changelists())
def test_no_changelist_or_filter_sidebar_names_another_researchers_study(researcher_client, world, url):
    response = researcher_client.get(url)
    assert response.status_code == 200, url
    assert SECRET not in response.content.decode(), url
