"""A researcher opens the sketch list in the admin; the thumbnails load and are not blank."""

import io

import pytest
from PIL import Image

from tests import services
from tests.factories import make_sketches


def make_category_id(name: str) -> int:
    from sketches.models import Category

    return Category.objects.get(slug=name).pk


pytestmark = [pytest.mark.browser, services.requires_chromium(), pytest.mark.django_db(transaction=True)]


def test_the_admin_sketch_list_shows_real_non_blank_thumbnails(
    page, live_server, researcher, login_as, screenshot
):
    make_sketches("pig", 6)
    make_sketches("face", 4)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/sketches/sketch/")
    thumbs = page.locator("img.sketch-thumb")
    assert thumbs.count() == 10
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.sketch-thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    for index in range(3):
        png = thumbs.nth(index).screenshot()
        pixels = Image.open(io.BytesIO(png)).convert("L")
        dark = sum(1 for value in pixels.tobytes() if value < 128)
        assert dark > 20, f"thumbnail {index} is blank"
        assert dark < pixels.width * pixels.height * 0.5, f"thumbnail {index} is a filled box"
    screenshot(page, "sketch-list")
    assert page.console_errors == []


def test_the_sketch_list_filters_by_category(page, live_server, researcher, login_as):
    make_sketches("pig", 3)
    make_sketches("face", 2)
    login_as(page, researcher)
    page.goto(f"{live_server.url}/admin/sketches/sketch/")
    face = make_category_id("face")
    page.locator(f"#changelist-filter a[href*='category__id__exact={face}']").click()
    page.wait_for_url(f"**category__id__exact={face}*")
    page.wait_for_load_state()
    assert page.locator("img.sketch-thumb").count() == 2
