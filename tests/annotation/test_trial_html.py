"""The pair trial's htmx fragment written without templates (``annotation.trial_html``) is
byte for byte what the templates render, whatever the screen shows and whatever its text holds."""

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from annotation.steps import current_step
from annotation.trial_html import pair_trial_fragment
from tests.annotation.factories import at_trials, main_trials, make_running_study

pytestmark = pytest.mark.django_db
MARKUP = """<script>alert("x")</script> & 'quotes' {{ braces }} %s {0}"""


def templated(context: dict) -> str:
    request = RequestFactory().post("/", HTTP_HX_REQUEST="true")
    request.htmx = True
    return render_to_string("annotation/task.html#step", context, request=request)


def trial_step_context(study):
    participant = at_trials(study)
    step = current_step(participant)
    assert step.name == "trial"
    return step.context | {"step_template": step.template, "step_name": step.name}


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"category": ""},
        {"allow_none": True},
        {"notice": "This tab was behind: <b>nothing</b> was lost & that's fine."},
        {"question": MARKUP, "category": MARKUP, "label": MARKUP, "notice": MARKUP},
        {
            "token": 'a"b<c>',
            "answer_url": "/p/x/answer/?a=1&b=2",
            "done": 1234,
            "total": 100000,
            "percent": 1,
        },
    ],
    ids=["plain", "no-category", "no-difference", "notice", "markup", "odd-values"],
)
def test_the_fragment_is_exactly_what_the_templates_render(change):
    context = trial_step_context(make_running_study("fragment")) | change
    fragment = pair_trial_fragment(context)
    assert fragment is not None
    assert fragment == templated(context)
    assert "<script>" not in fragment


def test_numbers_follow_the_thousand_separator_setting_as_the_templates_do(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    context = trial_step_context(make_running_study("fragment-numbers")) | {"done": 1234, "total": 100000}
    assert pair_trial_fragment(context) == templated(context)
    assert 'max="100,000"' in templated(context)


@pytest.mark.parametrize(
    "change",
    [
        {"preview": True},
        {"prefetch": ["/x.svg"]},
        {"step_name": "feedback"},
        {"trial_type": "best_of_k", "options": [{"value": "1"}]},
        {"trial_type": "single", "options": [{"value": "1"}]},
    ],
    ids=["preview", "prefetch", "feedback", "best-of-k", "single"],
)
def test_screens_it_does_not_cover_are_left_to_the_templates(change):
    context = trial_step_context(make_running_study("fragment-other")) | change
    assert pair_trial_fragment(context) is None


def test_an_htmx_answer_returns_the_fragment_and_a_plain_post_still_redirects():
    study = make_running_study("fragment-answer")
    participant = at_trials(study)
    client = Client()
    client.get(f"/p/{study.slug}/?pid={participant.panel_id}")
    trials = main_trials(participant)
    response = client.post(
        f"/p/{study.slug}/answer/", {"token": trials[0].token, "choice": "left"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert body.startswith('\n<main id="step"') and f'value="{trials[1].token}"' in body
    assert "data:image/svg+xml," in body and "Content-Security-Policy" in response
    plain = client.post(f"/p/{study.slug}/answer/", {"token": trials[1].token, "choice": "right"})
    assert plain.status_code == 303
