"""A researcher reviews model-suggested gold in the admin, with the keyboard and the mouse."""

import pytest
from playwright.sync_api import expect

from studies.actions import do_freeze_plan
from studies.models import GoldPair
from tests import services
from tests.factories import make_scored_study

pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]


def test_a_researcher_accepts_rejects_and_swaps_gold_then_launches_live(
    page, live_server, researcher, login_as, screenshot
):
    study = make_scored_study(owner=researcher, auto_gold_pairs=4)
    do_freeze_plan(study)
    first, second, third, fourth = GoldPair.objects.filter(study=study, review="candidate").order_by("pk")
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    expect(page.get_by_text("4 model-suggested gold pair(s) need a review")).to_be_visible()
    expect(page.locator("#screening-planner")).to_contain_text("Screening planner")
    page.get_by_role("link", name="Gold review (4 to review)").click()

    cards = page.locator(".gold-card")
    expect(cards).to_have_count(4)
    expect(cards.first.locator("img")).to_have_count(2)
    expect(cards.first).to_contain_text(first.better.category.name)
    screenshot(page, "gold-review")
    cards.first.focus()
    page.keyboard.press("a")  # accept the focused pair: the page reloads with 3 candidates left
    expect(page.locator(".gold-card")).to_have_count(3)
    page.keyboard.press("r")  # the first card has focus after the reload: reject it
    expect(page.locator(".gold-card")).to_have_count(2)
    page.locator(".gold-card").first.get_by_role("button", name="Swap (S)").click()
    expect(page.locator(".gold-card")).to_have_count(1)

    page.get_by_role("button", name="Accept the 1 candidates shown").click()  # without ticking: refused
    expect(page.locator(".messagelist .error")).to_contain_text("I have looked at every pair shown")
    page.get_by_label("I have looked at every pair shown above").check()
    page.get_by_role("button", name="Accept the 1 candidates shown").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Accepted 1 candidate")

    reviews = dict(
        GoldPair.objects.filter(pk__in=[first.pk, second.pk, third.pk, fourth.pk]).values_list("pk", "review")
    )
    assert reviews == {
        first.pk: "accepted",
        second.pk: "rejected",
        third.pk: "accepted",
        fourth.pk: "accepted",
    }
    assert GoldPair.objects.get(pk=third.pk).better_id == third.worse_id  # swapped

    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    page.once("dialog", lambda dialog: dialog.accept())  # launching asks first
    page.get_by_role("button", name="Launch live").click()
    expect(page.locator(".messagelist .success")).to_contain_text("is now live")
    assert page.console_errors == []
