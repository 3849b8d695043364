"""The participant's pages through the test client: plain form posts and htmx fragments."""

from __future__ import annotations

import re

import pytest
from django.db.models import F
from django.test import Client

from annotation.models import Answer, Participant, ParticipantStatus, RefusedSubmission
from studies.outcomes import Outcome, default_code
from tests.annotation.factories import main_trials, make_running_study, right_choice, wrong_choice

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def study():
    return make_running_study(break_every=10)


def enter(client, study, panel_id="PID-A"):
    client.get(f"/p/{study.slug}/?PROLIFIC_PID={panel_id}&STUDY_ID=s&SESSION_ID=x")
    return Participant.objects.get(study=study, panel_id=panel_id)


def unbiased_choice(trial) -> str:
    return "left" if trial.left_sketch_id < trial.right_sketch_id else "right"


def step_of(response) -> str:
    return re.search(rb'data-step="([\w-]+)"', response.content).group(1).decode()


def token_on(response) -> str:
    return re.search(rb'name="token" value="([\w-]+)"', response.content).group(1).decode()


def post(client, study, what, data, htmx=True):
    return client.post(f"/p/{study.slug}/{what}/", data, **(HTMX if htmx else {}))


def through_practice(client, study, participant):
    post(client, study, "consent", {"decision": "accept"})
    post(client, study, "instructions", {})
    for trial in participant.trials.filter(
        is_practice=True, position__lt=F("participant__n_practice")
    ).order_by("position"):
        response = post(client, study, "answer", {"token": trial.token, "choice": right_choice(trial)})
        assert step_of(response) == "feedback"
    return client.get(f"/p/{study.slug}/task/", **HTMX)


def test_declining_consent_shows_a_polite_exit_with_the_no_consent_code(client, study):
    participant = enter(client, study)
    response = post(client, study, "consent", {"decision": "decline"}, htmx=False)
    assert response.status_code == 303
    page = client.get(response["Location"])
    code = default_code(study.slug, study.seed, Outcome.DECLINED).encode()
    assert step_of(page) == "declined" and code in page.content and b"return your submission" in page.content
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.DECLINED and not participant.trials.exists()


def test_accepting_consent_leads_to_instructions_with_an_example_pair_then_practice(client, study):
    enter(client, study)
    response = post(client, study, "consent", {"decision": "accept"})
    assert step_of(response) == "instructions" and b"<html" not in response.content
    assert response.content.count(b'src="data:image/svg+xml,') == 2 and b"better one" in response.content
    response = post(client, study, "instructions", {})
    assert step_of(response) == "trial" and b"Practice 1 of 3" in response.content


def test_practice_gives_feedback_and_then_the_first_trial(client, study):
    participant = enter(client, study)
    post(client, study, "consent", {"decision": "accept"})
    post(client, study, "instructions", {})
    trial = participant.trials.get(is_practice=True, position=0)
    response = post(client, study, "answer", {"token": trial.token, "choice": wrong_choice(trial)})
    assert step_of(response) == "feedback" and b"Not quite" in response.content
    for trial in participant.trials.filter(
        is_practice=True, position__gt=0, position__lt=F("participant__n_practice")
    ).order_by("position"):
        response = post(client, study, "answer", {"token": trial.token, "choice": right_choice(trial)})
        assert b"Right!" in response.content
    assert b"the real trials start now" in response.content
    first = client.get(f"/p/{study.slug}/task/", **HTMX)
    assert step_of(first) == "trial" and b"Trial 1 of 30" in first.content


def test_without_javascript_every_post_redirects_and_practice_feedback_survives_it(client, study):
    participant = enter(client, study)
    post(client, study, "consent", {"decision": "accept"}, htmx=False)
    post(client, study, "instructions", {}, htmx=False)
    trial = participant.trials.get(is_practice=True, position=0)
    response = post(client, study, "answer", {"token": trial.token, "choice": "left"}, htmx=False)
    assert response.status_code == 303 and response["Location"].endswith(f"?after={trial.token}")
    page = client.get(response["Location"])
    assert step_of(page) == "feedback" and b"<html" in page.content


def test_a_full_session_shows_breaks_and_ends_with_the_completion_code_and_redirect(client, study):
    participant = enter(client, study)
    page = through_practice(client, study, participant)
    seen_breaks = 0
    for trial in main_trials(participant):
        if step_of(page) == "break":
            seen_breaks += 1
            assert f"You have done {trial.position} of 30".encode() in page.content
            page = post(client, study, "break", {})
        assert token_on(page) == trial.token
        # the known answer on sentinels; elsewhere the lower sketch id, whichever side (no side bias)
        choice = right_choice(trial) if trial.kind == "sentinel" else unbiased_choice(trial)
        page = post(client, study, "answer", {"token": trial.token, "choice": choice, "client_ms": "850"})
    assert seen_breaks == 2
    assert step_of(page) == "complete" and b"C0DE1234" in page.content
    assert b"https://app.prolific.com/submissions/complete?cc=C0DE1234" in page.content
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    assert Answer.objects.filter(trial__participant=participant, trial__is_practice=False).count() == 30


def test_a_reload_resumes_on_the_same_trial(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    trials = main_trials(participant)
    for trial in trials[:3]:
        post(client, study, "answer", {"token": trial.token, "choice": "left"})
    reloaded = client.get(f"/p/{study.slug}/task/")
    assert token_on(reloaded) == trials[3].token and b"Trial 4 of 30" in reloaded.content
    again = Client().get(f"/p/{study.slug}/?PROLIFIC_PID=PID-A", follow=True)
    assert token_on(again) == trials[3].token


def test_a_stale_second_tab_never_stores_a_second_answer(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    tab_one = client.get(f"/p/{study.slug}/task/")
    tab_two = client.get(f"/p/{study.slug}/task/")
    token = token_on(tab_one)
    assert token == token_on(tab_two)
    post(client, study, "answer", {"token": token, "choice": "left"})
    stale = post(client, study, "answer", {"token": token, "choice": "right"})
    assert token_on(stale) == main_trials(participant)[1].token
    answers = Answer.objects.filter(trial__token=token)
    assert answers.count() == 1 and answers.get().choice == "left"


def test_an_out_of_order_answer_shows_the_current_trial_with_a_notice(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    later = main_trials(participant)[4]
    response = post(client, study, "answer", {"token": later.token, "choice": "left"})
    assert b"not reached yet" in response.content and token_on(response) == main_trials(participant)[0].token
    assert RefusedSubmission.objects.filter(reason="not_current").count() == 1


def test_a_blocked_worker_gets_the_screen_out_code_and_cannot_answer_more(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    page = None
    for trial in main_trials(participant):
        if page is not None and step_of(page) == "break":
            post(client, study, "break", {})
        page = post(client, study, "answer", {"token": trial.token, "choice": wrong_choice(trial)})
        if step_of(page) == "blocked":
            break
    code = default_code(study.slug, study.seed, Outcome.SCREENED_OUT).encode()
    assert code in page.content and b"C0DE1234" not in page.content
    assert step_of(client.get(f"/p/{study.slug}/task/")) == "blocked"


def test_pages_without_a_participant_session_say_so(client, study):
    response = client.get(f"/p/{study.slug}/task/")
    assert response.status_code == 403 and b"session has ended" in response.content
    assert client.post(f"/p/{study.slug}/answer/", {"token": "x", "choice": "left"}).status_code == 403


def test_a_post_without_a_csrf_token_is_refused(study):
    browser = Client(enforce_csrf_checks=True)
    participant = enter(browser, study)
    response = browser.post(f"/p/{study.slug}/consent/", {"decision": "accept"})
    assert response.status_code == 403
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.CONSENTING


def test_a_post_with_the_csrf_header_from_the_page_is_accepted(study):
    browser = Client(enforce_csrf_checks=True)
    enter(browser, study)
    page = browser.get(f"/p/{study.slug}/task/")
    header = re.search(rb'"X-CSRFToken": "([^"]+)"', page.content).group(1).decode()
    response = browser.post(
        f"/p/{study.slug}/consent/", {"decision": "accept"}, HTTP_X_CSRFTOKEN=header, **HTMX
    )
    assert response.status_code == 200 and step_of(response) == "instructions"


def test_trial_fragments_carry_no_csrf_field_and_answers_pass_on_the_pages_header(study):
    """The htmx answer fragment leaves the form's CSRF field out (htmx sends the page's header);
    the full page, which also works without JavaScript, keeps it. CSRF is enforced throughout."""
    browser = Client(enforce_csrf_checks=True)
    participant = enter(browser, study)
    page = browser.get(f"/p/{study.slug}/task/")
    header = {"HTTP_X_CSRFTOKEN": re.search(rb'"X-CSRFToken": "([^"]+)"', page.content).group(1).decode()}
    for name in ("consent", "instructions"):
        browser.post(f"/p/{study.slug}/{name}/", {"decision": "accept"}, **header, **HTMX)
    while step_of(page := browser.get(f"/p/{study.slug}/task/")) == "trial" and b"Practice" in page.content:
        assert b"csrfmiddlewaretoken" in page.content  # the full page: a plain form post works too
        browser.post(
            f"/p/{study.slug}/answer/", {"token": token_on(page), "choice": "left"}, **header, **HTMX
        )
    trials = main_trials(participant)
    for trial in trials[:3]:
        response = browser.post(
            f"/p/{study.slug}/answer/",
            {"token": trial.token, "choice": right_choice(trial)},
            **header,
            **HTMX,
        )
        assert response.status_code == 200 and token_on(response) == trials[trial.position + 1].token
        assert b"csrfmiddlewaretoken" not in response.content
    assert Answer.objects.filter(trial__in=trials[:3]).count() == 3
    forged = browser.post(f"/p/{study.slug}/answer/", {"token": trials[3].token, "choice": "left"}, **HTMX)
    assert forged.status_code == 403 and not Answer.objects.filter(trial=trials[3]).exists()


def test_get_is_not_allowed_on_the_answer_endpoint(client, study):
    enter(client, study)
    assert client.get(f"/p/{study.slug}/answer/").status_code == 405


def test_the_trial_page_carries_its_pictures_and_names_no_other_trial(client, study):
    """One request per trial: the pair's pictures are inline (the same SVG the stimulus URL
    serves), and no other trial's token (no prefetch URL) is anywhere on the page."""
    from annotation.pictures import svg_of_uri

    participant = enter(client, study)
    page = through_practice(client, study, participant)
    current, following = main_trials(participant)[:2]
    sources = re.findall(r'<img src="([^"]+)"', page.content.decode())
    assert len(sources) == 2 and all(src.startswith("data:image/svg+xml,") for src in sources)
    for side, src in zip(("left", "right"), sources):
        assert svg_of_uri(src) == client.get(f"/p/{study.slug}/s/{current.token}/{side}.svg").content
    assert following.token.encode() not in page.content and f"/p/{study.slug}/s/".encode() not in page.content


def test_a_paused_study_lets_admitted_participants_finish(client, study):
    from studies.actions import do_pause_study

    participant = enter(client, study)
    through_practice(client, study, participant)
    do_pause_study(study)
    trial = main_trials(participant)[0]
    page = post(client, study, "answer", {"token": trial.token, "choice": "left"})
    assert token_on(page) == main_trials(participant)[1].token
    assert b"paused" in Client().get(f"/p/{study.slug}/?pid=newcomer").content


def test_computing_the_screen_writes_nothing_and_sending_a_trial_starts_its_clock(client, study):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotation.steps import current_step

    participant = enter(client, study)
    post(client, study, "consent", {"decision": "accept"})
    post(client, study, "instructions", {})
    participant.refresh_from_db()
    Participant.objects.filter(pk=participant.pk).update(trial_served_at=None)
    participant.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        step = current_step(participant)
    assert step.name == "trial"
    assert not [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    participant.refresh_from_db()
    assert participant.trial_served_at is None
    client.get(f"/p/{study.slug}/task/", **HTMX)
    participant.refresh_from_db()
    assert participant.trial_served_at is not None


def test_an_answer_during_a_break_is_refused_until_the_break_ends(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    trials = main_trials(participant)
    for trial in trials[:9]:
        post(client, study, "answer", {"token": trial.token, "choice": right_choice(trial)})
    before_break = post(client, study, "answer", {"token": trials[9].token, "choice": "left"}, htmx=False)
    assert before_break.status_code == 303
    on_break = client.get(before_break["Location"])
    assert step_of(on_break) == "break" and trials[10].token.encode() not in on_break.content
    refused = post(client, study, "answer", {"token": trials[10].token, "choice": "left"})
    assert step_of(refused) == "break" and b"You are on a break" in refused.content
    assert not Answer.objects.filter(trial=trials[10]).exists()
    assert RefusedSubmission.objects.get(participant=participant).reason == "on_break"
    after = post(client, study, "break", {})
    assert token_on(after) == trials[10].token
    post(client, study, "answer", {"token": trials[10].token, "choice": "left"})
    stored = Answer.objects.get(trial=trials[10])
    assert stored.server_response_ms is not None  # its clock started when the break ended


def test_no_page_holds_the_token_of_a_pair_not_yet_on_screen(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    trials = main_trials(participant)
    for trial in trials[:9]:
        page = post(client, study, "answer", {"token": trial.token, "choice": right_choice(trial)})
        assert token_on(page) == trials[trial.position + 1].token
        assert trials[trial.position + 2].token.encode() not in page.content
        assert trials[trial.position + 2].token.encode() not in client.get(f"/p/{study.slug}/task/").content


def test_without_javascript_a_refusal_still_says_what_happened(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    trials = main_trials(participant)
    ahead = post(client, study, "answer", {"token": trials[3].token, "choice": "left"}, htmx=False)
    assert ahead.status_code == 303 and ahead["Location"].endswith("?notice=ahead")
    page = client.get(ahead["Location"]).content.decode()
    assert "not reached yet" in page and "earlier" not in page
    post(client, study, "answer", {"token": trials[0].token, "choice": "left"})
    stale = post(client, study, "answer", {"token": trials[0].token, "choice": "right"}, htmx=False)
    assert client.get(stale["Location"]).content.decode().count("This tab was behind") == 1
    forged = client.get(f"/p/{study.slug}/task/?notice=<script>")
    assert b"<script>" not in forged.content.split(b"</head>")[1].split(b"<script")[0]
    assert Answer.objects.filter(trial=trials[0]).get().choice == "left"


def test_a_resent_answer_after_a_lost_response_shows_no_notice(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    trial = main_trials(participant)[0]
    post(client, study, "answer", {"token": trial.token, "choice": "left"})
    again = post(client, study, "answer", {"token": trial.token, "choice": "left"})
    assert b'class="notice"' not in again.content and token_on(again) == main_trials(participant)[1].token


def test_the_trial_screen_names_the_category_unless_the_study_turns_it_off(client, study):
    participant = enter(client, study)
    through_practice(client, study, participant)
    trial = main_trials(participant)[0]
    page = client.get(f"/p/{study.slug}/task/").content.decode()
    assert f"Both are drawings of: <strong>{trial.left_sketch.category.name}</strong>" in page
    study.show_category = False
    study.save(update_fields=["show_category"])
    assert "Both are drawings of" not in client.get(f"/p/{study.slug}/task/").content.decode()
