"""The exported HTML report opens in a real browser, offline, and shows the CSV files' numbers."""

from __future__ import annotations

import csv
import re

import pytest

from analysis import exports
from analysis.reports import build_report
from tests import services as test_services

pytestmark = [pytest.mark.browser, test_services.requires_chromium(), pytest.mark.django_db]


@pytest.fixture(scope="module")
def exported(answered, django_db_blocker, tmp_path_factory):
    study, _ = answered
    out = tmp_path_factory.mktemp("browser-report") / "report"
    with django_db_blocker.unblock():
        exports.write_report(build_report(study, agreement_boot=50, bt_boot=10, correlation_boot=20), out)
    return out


def _csv(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def _cells(page, table: str, col: str) -> list[str]:
    return page.locator(f"#table-{table} tbody td[data-col='{col}']").all_inner_texts()


def test_the_report_opens_offline_and_its_numbers_match_the_csv_files(page, exported, screenshot):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((exported / "report.html").as_uri())
    assert page.title().startswith("SketchQ report")
    assert all(url.startswith(("file:", "data:")) for url in requests), requests

    by_method = _csv(exported / "agreement_by_method.csv")
    shown = _cells(page, "agreement_by_method", "rate")
    assert len(shown) == len(by_method) > 0
    for text, row in zip(shown, by_method):
        assert _number(text) == pytest.approx(100 * float(row["rate"]), abs=0.005)

    by_level = _csv(exported / "agreement_by_level.csv")
    page.locator("summary", has_text="Per level, category and method").click()
    counts = _cells(page, "agreement_by_level", "n")
    assert [int(_number(t)) for t in counts] == [int(r["n"]) for r in by_level]

    correlations = _csv(exported / "rank_correlations.csv")
    for text, row in zip(_cells(page, "rank_correlations", "tau"), correlations):
        assert _number(text) == pytest.approx(float(row["tau"]), abs=0.0005)

    qa = _csv(exported / "worker_qa.csv")
    assert _cells(page, "worker_qa", "panel_id") == [r["panel_id"] for r in qa]
    assert _cells(page, "worker_qa", "sentinel_mistakes") == [r["sentinel_mistakes"] for r in qa]
    assert _cells(page, "exclusions", "reason") == [r["reason"] for r in _csv(exported / "exclusions.csv")]

    figure = page.locator("#figure-agreement svg").bounding_box()
    assert figure["width"] > 300 and figure["height"] > 200
    assert page.locator(".sketches svg").count() >= 4
    assert page.locator("td[data-col='checkpoint_sha256']").first.inner_text() == "5e" * 32
    screenshot(page, "report")
    assert page.console_errors == []
