"""Write a ``Report`` as files: CSV and JSON tables, raw answers, figures, a self-contained HTML page.

``report_files(report)`` yields ``(relative path, bytes)``; ``write_report`` puts them in a
folder (all built in memory first, then moved into place, so nothing is half-written) and
``report_zip`` packs them in memory. ``render_report_html`` is also what the report page
shows, so the page, the HTML file and the CSV files come from the same ``Report``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from analysis import figures as figure_formats
from analysis.reports import ANSWER_FIELDS, Report
from analysis.results import RULES
from config.csvsafe import csv_bytes
from sketches import render
from sketches.models import Sketch

EXTREMES = 5  # best and worst sketches shown per category in the HTML report


# -- cell formats (HTML) ---------------------------------------------------------------


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def num(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def whole(x) -> str:
    return "—" if x is None else f"{x:,}"


def text(x) -> str:
    return "—" if x is None or x == "" else str(x)


def yes_no(x) -> str:
    return "—" if x is None else ("yes" if x else "no")


def pct_interval(lo, hi) -> str:
    return "—" if lo is None or hi is None else f"[{pct(lo)}, {pct(hi)}]"


def num_interval(lo, hi) -> str:
    return "—" if lo is None or hi is None else f"[{num(lo)}, {num(hi)}]"


def bound_interval(lo, hi) -> str:
    """An interval that may be one-sided (an unbeaten sketch has only a lower bound)."""
    if lo is None and hi is None:
        return "—"
    if hi is None:
        return f"≥ {num(lo)}"
    if lo is None:
        return f"≤ {num(hi)}"
    return num_interval(lo, hi)


def rank_interval(lo, hi) -> str:
    return "—" if lo is None or hi is None else f"[{lo:,}, {hi:,}]"


Column = tuple[str | tuple[str, str], str, Callable]
AGREEMENT_CELL: list[Column] = [
    ("method", "Method", text), ("category", "Category", text), ("level", "Level |Δq|", text), ("n", "n", whole),
    ("agree", "Agree", whole), ("rate", "Agreement", pct), (("wilson_lo", "wilson_hi"), "95% Wilson", pct_interval),
    (("boot_lo", "boot_hi"), "95% bootstrap (workers)", pct_interval), ("n_q_ties", "Equal q", whole),
    ("n_no_difference", "No difference", whole), ("flag", "Level flag", text),
]  # fmt: skip
TABLES: dict[str, tuple[str, list[Column]]] = {
    "agreement_by_method": ("Agreement per method (all categories and levels pooled)", [
        ("method", "Method", text), ("variant", "Variant", text), ("soft_binning", "Soft binning", yes_no),
        ("n", "n", whole), ("agree", "Agree", whole), ("rate", "Agreement", pct),
        (("wilson_lo", "wilson_hi"), "95% Wilson", pct_interval), ("category_mean", "Mean over categories", pct),
        ("category_std", "Std over categories", pct), ("n_categories", "Categories", whole),
    ]),
    "agreement_across_methods": ("Mean ± std over methods of each method's pooled agreement", [
        ("methods", "Methods", text), ("names", "Which", text), ("n_methods", "n", whole), ("mean", "Mean", pct),
        ("std", "Std", pct),
    ]),
    "agreement_by_category": ("Agreement per method and category (levels pooled)", [
        ("method", "Method", text), ("category", "Category", text), ("n", "n", whole), ("agree", "Agree", whole),
        ("rate", "Agreement", pct), (("wilson_lo", "wilson_hi"), "95% Wilson", pct_interval),
        ("n_no_difference", "No difference", whole),
    ]),
    "agreement_by_level": ("Agreement per level, category and method", AGREEMENT_CELL),
    "agreement_curves": ("Psychometric curve per method, all categories pooled (2AFC Weibull; 95% bootstrap over "
                         "workers and pairs)", [
        ("method", "Method", text), ("n", "n", whole), ("rate", "Agreement", pct),
        (("rate_lo", "rate_hi"), "95% interval", pct_interval), ("scale", "λ", num), ("shape", "k", num),
        ("g75", "Gap at 75%", num), (("g75_lo", "g75_hi"), "95% interval", num_interval),
        ("thin_levels", "Thin/empty levels", whole), ("note", "Note", text),
    ]),
    "agreement_curve_levels": ("Agreement per method and level, all categories pooled", [
        ("method", "Method", text), ("level", "Level |Δq|", text), ("n", "n", whole), ("rate", "Agreement", pct),
        (("lo", "hi"), "95% bootstrap (workers × pairs)", pct_interval), ("flag", "Level flag", text),
    ]),
    "method_differences": ("Agreement of the reference method minus each other method (95% bootstrap over "
                           "workers and pairs)", [
        ("method", "Method", text), ("versus", "Versus", text), ("level", "Level |Δq|", text),
        ("n_method", "n", whole), ("n_versus", "n versus", whole), ("difference", "Difference", pct),
        (("lo", "hi"), "95% interval", pct_interval), ("g75_difference", "Δ gap at 75%", num),
        (("g75_lo", "g75_hi"), "Δ gap interval", num_interval), ("flag", "Level flag", text),
        ("verdict", "Reading", text),
    ]),
    "recognition": ("Recognition accuracy of each scorer on the study's sketches (cf. the paper's Table 1)", [
        ("method", "Method", text), ("variant", "Variant", text), ("scored", "Sketches", whole),
        ("correct", "Correct", whole), ("accuracy", "Top-1 accuracy", pct),
    ]),
    "bt_fits": ("Bradley–Terry fits per category", [
        ("category", "Category", text), ("n_items", "Sketches", whole), ("n_comparisons", "Comparisons", whole),
        ("n_ties", "Ties", whole), ("n_never_compared", "Never compared", whole),
        ("n_components", "Graph components", whole), ("largest_component", "Largest component", whole),
        ("n_point_scores", "With a score", whole), ("n_little_evidence", "Too little evidence", whole),
        ("solver", "Solver", text), ("alpha", "alpha", num), ("interval", "Interval", text),
        ("n_boot", "Bootstrap", whole), ("converged", "Converged", yes_no), ("warning", "Warning", text),
    ]),
    "rank_correlations": ("Rank correlation between Bradley–Terry scores and q in the largest component "
                          "(95% intervals from the BT bootstrap replicates, corrected for attenuation)", [
        ("category", "Category", text), ("method", "Method", text), ("n_items", "Sketches", whole),
        ("tau", "Kendall τ", num), (("tau_lo", "tau_hi"), "τ interval", num_interval),
        ("rho", "Spearman ρ", num), (("rho_lo", "rho_hi"), "ρ interval", num_interval),
        ("interval", "Interval", text),
    ]),
    "worker_qa": ("Worker quality", [
        ("panel_id", "Participant", text), ("index", "#", whole), ("flow_status", "Progress", text),
        ("status", "Status", text), ("analysed", "Analysed", yes_no), ("trials", "Trials", whole),
        ("sentinel_mistakes", "Sentinel mistakes", whole), ("sentinels", "Sentinels", whole),
        ("duplicate_consistency", "Duplicate consistency", pct), ("duplicates", "Duplicates", whole),
        ("median_rt_ms", "Median RT (ms)", lambda x: num(x, 0)), ("fast_share", "< 300 ms", pct),
        ("left_rate", "Left (best of K: option 1; single: yes)", pct), ("majority_agreement", "With majority", pct),
    ]),
    "reliability": ("Inter-annotator agreement on pairs answered by several analysed workers", [
        ("category", "Category", text), ("units", "Pairs", whole), ("answers", "Answers", whole),
        ("krippendorff_alpha", "Krippendorff α", num), ("fleiss_kappa", "Fleiss κ", num),
        ("fleiss_units", "κ pairs", whole), ("fleiss_raters", "κ raters per pair", whole),
    ]),
    "exclusions": ("Participants not analysed, and why", [
        ("panel_id", "Participant", text), ("index", "#", whole), ("status", "Status", text),
        ("answers", "Answers", whole), ("reason", "Reason", text),
    ]),
    "kway_agreement_by_level": ("Best of K: agreement with q per level of the largest gap", [
        ("method", "Method", text), ("level", "Level", text), ("answers", "Choices", whole),
        ("agreement", "Agreement", pct), (("lo", "hi"), "Wilson 95%", pct_interval), ("abstained", "Abstained", whole),
    ]),
    "kway_rank_correlations": ("Best of K: Plackett–Luce scores against q", [
        ("category", "Category", text), ("method", "Method", text), ("items", "Sketches", whole),
        ("tau", "Kendall τ", num),
    ]),
    "kway_rankings": ("Best of K: Plackett–Luce ranking per category", [
        ("category", "Category", text), ("rank", "Rank", whole), ("sketch_id", "Sketch", whole),
        ("pl_score", "PL score", num), (("pl_lo", "pl_hi"), "95% bootstrap", bound_interval),
        ("evidence", "Evidence", text), ("offered", "Offered", whole), ("chosen", "Chosen", whole),
    ]),
    "yes_rate_fits": ("Single: logistic fit of yes against q", [
        ("method", "Method", text), ("category", "Category", text), ("answers", "Answers", whole),
        ("yes_share", "Yes", pct), ("slope", "Slope b", num), (("slope_wald_lo", "slope_wald_hi"), "Wald 95%", num_interval),
        (("slope_boot_lo", "slope_boot_hi"), "Worker bootstrap 95%", num_interval), ("intercept", "Intercept a", num),
    ]),
    "yes_rate_curve": ("Single: fitted yes rate on a grid of q", [
        ("method", "Method", text), ("category", "Category", text), ("q", "q", num),
        ("yes_rate", "Yes rate", pct), (("lo", "hi"), "95% bootstrap", pct_interval),
    ]),
    "answer_accounting": ("Answers by trial kind", [
        ("kind", "Kind", text), ("answers", "Answers", whole), ("in_scope", "From analysed workers", whole),
        ("analysed", "Analysed", whole), ("no_difference", "No difference", whole), ("used_for", "Used for", text),
    ]),
}  # fmt: skip


def html_table(name: str, rows: list[dict], columns: list[Column] | None = None) -> dict:
    """A table for the template: headers and formatted cells, each tagged with its column key."""
    title, spec = TABLES[name] if columns is None else ("", columns)
    out_rows = []
    for row in rows:
        cells = []
        for key, _, fmt in spec:
            if isinstance(key, tuple):
                cells.append({"col": "_".join(key), "text": fmt(row.get(key[0]), row.get(key[1]))})
            else:
                cells.append({"col": key, "text": fmt(row.get(key))})
        out_rows.append(cells)
    return {"id": name, "title": title, "headers": [h for _, h, _ in spec], "rows": out_rows}


# -- HTML --------------------------------------------------------------------------------


def inline_svg(data: bytes) -> str:
    """An SVG document as an element to put inside HTML (XML prolog and doctype removed)."""
    svg = data.decode()
    return mark_safe(svg[svg.index("<svg") :])  # noqa: S308 - our own matplotlib/render output


def _extremes(report: Report) -> list[dict]:
    wanted: dict[int, list] = {}
    for r in report.rankings:
        compared = [i for i in r.items if i["wins"] + i["losses"] + i["ties"] > 0]
        if len(compared) >= 2:
            k = min(EXTREMES, len(compared) // 2)
            wanted[r.category.pk] = [r.category.name, compared[:k], compared[-k:]]
    ids = [i["sketch_id"] for _, best, worst in wanted.values() for i in best + worst]
    strokes = dict(Sketch.objects.filter(pk__in=ids).values_list("pk", "strokes"))

    def pictures(items):
        return [{"id": i["sketch_id"], "rank": i["bt_rank"], "svg": mark_safe(render.svg(strokes[i["sketch_id"]]))}
                for i in items]  # fmt: skip

    return [
        {"category": name, "best": pictures(best), "worst": pictures(worst)}
        for name, best, worst in wanted.values()
    ]


def report_context(report: Report, *, links: dict | None = None, with_figures: bool = True) -> dict:
    tables = report.tables()
    rankings = [
        html_table("rankings", r.items, _ranking_columns(report)) | {"id": f"rankings-{r.category.slug}",
                                                                     "title": r.category.name}
        for r in report.rankings
    ]  # fmt: skip
    return {
        "report": report,
        "meta": report.meta,
        "rules": RULES,
        "config": list(report.meta["study"].items()),
        "figures": {name: inline_svg(report.figure(name, "svg")) for name in report.figure_names()}
        if with_figures
        else {},
        "summary_tables": [
            html_table(n, tables[n]) for n in ("agreement_by_method", "agreement_across_methods")
        ],
        "category_table": html_table("agreement_by_category", tables["agreement_by_category"]),
        "level_table": html_table("agreement_by_level", tables["agreement_by_level"]),
        "curve_tables": [
            html_table(n, tables[n])
            for n in ("agreement_curves", "method_differences", "agreement_curve_levels")
        ],
        "ranking_tables": [html_table(n, tables[n]) for n in ("bt_fits", "rank_correlations")],
        "rankings": rankings,
        "extremes": _extremes(report),
        "recognition_table": html_table("recognition", tables["recognition"]),
        "qa_table": html_table("worker_qa", tables["worker_qa"]),
        "reliability_table": html_table("reliability", tables["reliability"]),
        "exclusion_tables": [html_table(n, tables[n]) for n in ("exclusions", "answer_accounting")],
        "choice_section": _choice_section(report),
        "files": FILE_NOTES,
        "links": links or {},
    }


CHOICE_SECTIONS = {
    "kway_agreement_by_level": (
        "Best of K: Plackett–Luce rankings and agreement with q",
        "Top-1 choices among K sketches; abstentions are counted apart and left out of the fits. "
        "Agreement: the human chose the offered sketch with the highest q of the set's method, per level "
        "of the set's largest normalised gap (Wilson 95% intervals). Rankings: Plackett–Luce scores with "
        "95% percentile intervals over a Poisson bootstrap of the choices; sketches with too little evidence "
        "(never chosen, never passed over) get no point score, as in the Bradley–Terry rankings.",
    ),
    "yes_rate_fits": (
        "Single sketches: yes rate against q",
        'P(yes) = σ(a + b·q), per method, per category and over all ("all"); slope intervals: Wald (observed '
        "information) and 95% percentile over a bootstrap of workers; the curve table gives the fitted rate "
        "on a grid of q with its bootstrap band.",
    ),
}


def _choice_section(report: Report) -> dict | None:
    tables = report.choice_tables
    for key, (title, note) in CHOICE_SECTIONS.items():
        if key in tables:
            shown = [html_table(name, rows) for name, rows in tables.items() if name in TABLES]
            return {"title": title, "note": note, "tables": shown}
    return None


def _ranking_columns(report: Report) -> list[Column]:
    cols: list[Column] = [
        ("component", "Component", whole), ("bt_rank", "BT rank", whole),
        (("rank_lo", "rank_hi"), "95% rank interval", rank_interval), ("sketch_id", "Sketch", whole),
        ("bt_score", "BT score", num), (("bt_lo", "bt_hi"), "95% bootstrap", bound_interval),
        ("evidence", "Evidence", text), ("wins", "Wins", whole), ("losses", "Losses", whole), ("ties", "Ties", whole),
    ]  # fmt: skip
    for s in report.frame.scorers:
        cols += [(f"q[{s.name}]", f"q {s.name}", num), (f"q_rank[{s.name}]", f"q rank {s.name}", whole)]
    return cols


def render_report_html(
    report: Report, *, links: dict | None = None, with_figures: bool = True, pending: dict | None = None
) -> str:
    """The self-contained HTML report (no external requests: figures and sketches are inline SVG).
    ``pending``: the quick first version of the page (no bootstraps, no figures) while the full
    report is built in the background; it carries the progress poller."""
    context = report_context(report, links=links, with_figures=with_figures) | {"pending": pending}
    return render_to_string("analysis/report.html", context)


# -- files -------------------------------------------------------------------------------

FILE_NOTES = [
    ("report.html", "this page, self-contained"),
    ("report.json", "configuration, parameters, rules and every table below"),
    ("answers.csv / answers.json", "every stored answer, one row each, with why it is or is not analysed"),
    ("<table>.csv", "each table of this report"),
    ("figures/*.svg|png|pdf", "the figures"),
    ("manifest.json", "SHA-256 of every file"),
]


def _json_bytes(data) -> bytes:
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False, default=str).encode()


def report_files(report: Report) -> Iterator[tuple[str, bytes]]:
    """Every file of the export, as (relative path, content). manifest.json comes last."""
    manifest = {}

    def emit(name: str, data: bytes):
        manifest[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        return name, data

    yield emit("report.html", render_report_html(report).encode())
    yield emit("report.json", _json_bytes(report.to_dict()))
    answers = list(report.answer_rows())
    yield emit("answers.csv", csv_bytes(answers, ANSWER_FIELDS))
    yield emit("answers.json", _json_bytes(answers))
    for name, rows in report.tables().items():
        yield emit(f"{name}.csv", csv_bytes(rows))
    for name in report.figure_names():
        for fmt in figure_formats.FORMATS:
            yield emit(f"figures/{name}.{fmt}", report.figure(name, fmt))
    yield "manifest.json", _json_bytes({"study": report.study.slug, "generated_at": report.meta["generated_at"],
                                        "files": manifest})  # fmt: skip


def report_zip(report: Report) -> bytes:
    """The export as a zip, in memory; everything sits in a folder named after the study."""
    buffer = io.BytesIO()
    folder = f"{report.study.slug}-report"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in report_files(report):
            archive.writestr(f"{folder}/{name}", data)
    return buffer.getvalue()


class ExportError(ValueError):
    pass


def write_report(report: Report, out_dir, *, overwrite: bool = False) -> list[Path]:
    """Write every file under ``out_dir``. Built in memory, written to a temporary folder
    beside it, then moved into place: a failure leaves no partial report."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out} is not empty; choose an empty folder or allow overwriting")
    files = list(report_files(report))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for name, data in files:
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            out.rename(old / out.name)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / name for name, _ in files]


def safe_filename(slug: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", slug)
