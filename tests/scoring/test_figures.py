"""The q-vs-θ figure on arrays: formats, layout, and refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scoring.figures import Panel, q_theta_figure, theta_of


def _panel(title: str) -> Panel:
    # A deterministic "L" shape: high q at small θ, like a GACL scorer on real sketches.
    cos = np.linspace(0.2, 0.95, 50)
    return Panel(title, {"pig": (10 + 40 * cos, cos), "face": (30 - 10 * cos, cos)})


def test_theta_is_in_degrees_and_tolerates_rounding_past_one():
    assert theta_of(np.array([1.0000001, 0.0, -1.0])).tolist() == pytest.approx([0.0, 90.0, 180.0])


def test_one_scorer_is_a_grid_and_two_scorers_are_side_by_side_columns():
    single = Image.open(io.BytesIO(q_theta_figure([_panel("gacl")], ["pig"])))
    pair = Image.open(io.BytesIO(q_theta_figure([_panel("gacl"), _panel("softmax")], ["pig"])))
    tall = Image.open(io.BytesIO(q_theta_figure([_panel("gacl"), _panel("softmax")], ["pig", "face"])))
    assert pair.size[0] > 1.8 * single.size[0] and pair.size[1] == single.size[1]
    assert tall.size[0] == pair.size[0] and tall.size[1] > 1.8 * pair.size[1]


def test_the_svg_names_scorers_categories_and_the_rank_correlation():
    svg = q_theta_figure([_panel("gacl-cos"), _panel("softmax")], ["pig", "rabbit"], fmt="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "gacl-cos" in svg and "softmax" in svg and "ρ(q, cosθ)=+1.00" in svg
    assert "rabbit: no points" in svg


def test_an_unknown_format_or_nothing_to_draw_is_refused():
    with pytest.raises(ValueError, match="format must be one of"):
        q_theta_figure([_panel("gacl")], ["pig"], fmt="gif")
    with pytest.raises(ValueError, match="at least one scorer"):
        q_theta_figure([], ["pig"])
