import numpy as np
import pytest

from analysis.agreement import level_labels
from analysis.figures import agreement_figure, bt_vs_q_figure

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


def _is_valid(data: bytes, fmt: str) -> bool:
    if fmt == "svg":
        return (
            data.lstrip().startswith(b"<?xml")
            and b"<svg" in data[:2000]
            and data.rstrip().endswith(b"</svg>")
        )
    if fmt == "pdf":
        return data.startswith(MAGIC["pdf"]) and b"%%EOF" in data[-64:]
    return data.startswith(MAGIC[fmt]) and data[-8:-4] == b"IEND"


def _curves():
    levels = np.arange(10)
    rates = np.linspace(0.52, 0.98, 10)
    gap = rates.copy()
    gap[3] = np.nan  # an empty cell leaves a gap
    return {
        "cat": {
            "Ours-Cos": (levels, rates, rates - 0.04, np.minimum(rates + 0.04, 1)),
            "w/o sbin": (levels, gap, gap - 0.05, gap + 0.05),
        },
        "angel": {"Ours-Cos": (levels, rates, rates - 0.04, np.minimum(rates + 0.04, 1))},
    }


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_agreement_figure_returns_valid_bytes(fmt):
    data = agreement_figure(_curves(), level_labels(10), fmt)
    assert _is_valid(data, fmt)


def test_agreement_svg_has_panels_legend_and_level_labels_and_is_deterministic():
    a = agreement_figure(_curves(), level_labels(10), "svg")
    assert a == agreement_figure(_curves(), level_labels(10), "svg")
    text = a.decode()
    for s in ["angel", "Ours-Cos", "w/o sbin", "(.9,1]", "% agreement"]:
        assert s in text


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_bt_vs_q_figure_returns_valid_bytes(fmt):
    rng = np.random.default_rng(0)
    q = rng.random(40)
    s = q + rng.normal(scale=0.1, size=40)
    data = bt_vs_q_figure(
        {"cat": (q, s), "pig": (q, s, s - 0.2, s + 0.2)}, fmt, annotations={"cat": "τ = 0.80"}
    )
    assert _is_valid(data, fmt)


def test_unknown_format_or_empty_input_gets_a_clear_message():
    with pytest.raises(ValueError, match="out_format"):
        agreement_figure(_curves(), level_labels(10), "gif")
    with pytest.raises(ValueError, match="no categories"):
        bt_vs_q_figure({}, "svg")
