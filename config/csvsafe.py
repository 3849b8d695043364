"""The one CSV writer: every CSV the project exports goes through :func:`csv_bytes`.

Spreadsheets (Excel, LibreOffice Calc, Google Sheets) evaluate a cell as a formula when its text
starts with ``=``, ``+``, ``-`` or ``@``, and some also after a leading tab, carriage return or NUL.
Participant ids (``PROLIFIC_PID``) and category names come from outside, so a cell such as
``=HYPERLINK("https://evil.example", "click")`` would run in the researcher's spreadsheet.

Following OWASP's guidance (https://owasp.org/www-community/attacks/CSV_Injection, and ASVS 5.0
requirement V1.2.10), a text cell that starts with one of those characters is prefixed with a
single quote, which spreadsheets read as "this is text" and do not display. Quoting itself follows
RFC 4180 (Python's ``csv`` module). Numbers are written as numbers: a Python ``int`` or ``float``
cannot hold a formula, so ``-0.25`` stays a number while the text ``"-0.25"`` would be escaped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def safe_cell(value) -> str:
    """A value as CSV cell text: ``None`` empty, booleans ``true``/``false``, floats round-tripping,
    and text that a spreadsheet would evaluate prefixed with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def csv_bytes(rows: Iterable[dict], columns: list[str] | None = None) -> bytes:
    """Rows (dicts) as UTF-8 CSV with a header; columns in first-seen order unless given.

    Header names are escaped like any other cell."""
    rows = list(rows)
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode()
