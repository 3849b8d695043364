"""Exports: every file written, the CSVs carry the report's numbers, nothing half-written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile

import pytest
from django.core.management import CommandError, call_command

from analysis import exports, results
from analysis.reports import ANSWER_FIELDS, build_report

pytestmark = pytest.mark.django_db

TABLES = [
    "agreement_by_method", "agreement_across_methods", "agreement_by_category", "agreement_by_level", "recognition",
    "bt_fits", "rank_correlations", "rankings", "worker_qa", "reliability", "exclusions", "answer_accounting",
]  # fmt: skip


@pytest.fixture(scope="module")
def written(answered, django_db_blocker, tmp_path_factory):
    study, _ = answered
    out = tmp_path_factory.mktemp("export") / "report"
    with django_db_blocker.unblock():
        report = build_report(study, agreement_boot=50, bt_boot=10, correlation_boot=20)
        paths = exports.write_report(report, out)
    return report, out, paths


def _csv(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_it_writes_every_table_figure_and_the_raw_answers(written):
    _, out, paths = written
    names = {p.relative_to(out).as_posix() for p in paths}
    assert {f"{t}.csv" for t in TABLES} <= names
    assert {"report.html", "report.json", "answers.csv", "answers.json", "manifest.json"} <= names
    assert {f"figures/{f}.{x}" for f in ("agreement", "bt_vs_q") for x in ("svg", "png", "pdf")} <= names
    assert (out / "figures/agreement.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figures/agreement.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_manifest_hashes_every_file(written):
    _, out, _ = written
    manifest = json.loads((out / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"]


def test_the_csv_tables_carry_the_reports_numbers(written):
    report, out, _ = written
    for name, rows in report.tables().items():
        written_rows = _csv(out / f"{name}.csv")
        assert len(written_rows) == len(rows), name
        for row, back in zip(rows, written_rows):
            for key, value in row.items():
                if isinstance(value, float):
                    assert float(back[key]) == value, (name, key)
                elif value is None:
                    assert back[key] == ""


def test_raw_answers_have_one_row_per_answer_in_csv_and_json(written):
    report, out, _ = written
    rows = _csv(out / "answers.csv")
    assert list(rows[0]) == ANSWER_FIELDS
    assert len(rows) == report.meta["counts"]["answers"]
    assert json.loads((out / "answers.json").read_text()) == list(report.answer_rows())
    assert {r["trial_kind"] for r in rows} == {"practice", "regular", "sentinel", "duplicate"}


def test_the_json_report_holds_the_configuration_rules_and_tables(written):
    report, out, _ = written
    data = json.loads((out / "report.json").read_text())
    assert data["meta"]["study"]["slug"] == report.study.slug
    assert data["meta"]["scorers"][0]["checkpoint_sha256"] == "5e" * 32
    assert data["rules"] and set(TABLES) <= set(data)


def test_the_html_report_is_self_contained(written):
    _, out, _ = written
    html = (out / "report.html").read_text()
    assert "<svg" in html and 'id="table-agreement_by_method"' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html and "@import" not in html


def test_the_zip_holds_the_same_files_in_one_folder(written):
    report, out, paths = written
    with zipfile.ZipFile(io.BytesIO(exports.report_zip(report))) as archive:
        names = set(archive.namelist())
        assert names == {f"{report.study.slug}-report/{p.relative_to(out).as_posix()}" for p in paths}
        data = archive.read(f"{report.study.slug}-report/agreement_by_level.csv")
    assert data == (out / "agreement_by_level.csv").read_bytes()


def test_it_refuses_a_folder_that_is_not_empty_and_writes_nothing(written, tmp_path):
    report, _, _ = written
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(exports.ExportError, match="not empty"):
        exports.write_report(report, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_overwriting_replaces_the_folder_whole(written, tmp_path):
    report, _, _ = written
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.csv").write_text("old")
    exports.write_report(report, target, overwrite=True)
    assert not (target / "stale.csv").exists() and (target / "report.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_the_command_writes_a_report_and_explains_bad_input(answered, tmp_path, capsys, monkeypatch):
    study, _ = answered
    for name in ("AGREEMENT_BOOT", "BT_BOOT", "CORRELATION_BOOT"):
        monkeypatch.setattr(results, name, 10)
    call_command("export_report", "--study", study.slug, "--out", str(tmp_path / "r"), "--include-excluded")
    assert "analysed answers from 5 participants" in capsys.readouterr().out
    assert json.loads((tmp_path / "r/report.json").read_text())["meta"]["include_excluded"] is True
    with pytest.raises(CommandError, match="no study with slug"):
        call_command("export_report", "--study", "missing", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_report", "--study", study.slug, "--out", str(tmp_path / "r"))
    assert not (tmp_path / "x").exists()
