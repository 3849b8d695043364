"""Feasible maxima mean what they say, and a study from the form's defaults can be fitted and launched."""

from __future__ import annotations

import numpy as np
import pytest

from studies import sampling
from studies.actions import do_launch_study
from studies.errors import StudyConfigError
from studies.feasibility import (
    do_fit_to_data,
    feasible_sizes,
    gold_candidate_count,
    max_balanced_pairs,
    propose_fit,
)
from studies.forms import StudyAdminForm
from studies.models import Study, StudyState


@pytest.mark.parametrize("seed", range(6))
def test_the_balanced_maximum_is_exactly_the_largest_plan_that_draws(seed):
    rng = np.random.default_rng(seed)
    q = rng.gamma(2.0, 1.0, size=int(rng.integers(12, 40)))
    edges = sampling.level_edges(int(rng.integers(3, 11)))
    best = max_balanced_pairs(sampling.count_candidates_per_level(q, edges))
    plan = sampling.plan_pairs(q, best, edges, "balanced", np.random.default_rng(1))
    assert len(plan) == best
    with pytest.raises(sampling.InfeasiblePlan):
        sampling.plan_pairs(q, best + 1, edges, "balanced", np.random.default_rng(1))


@pytest.mark.parametrize("seed", range(4))
def test_the_gold_count_is_exactly_what_the_sentinel_draw_can_take(seed):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=60)
    q = np.column_stack([base + 0.3 * rng.normal(size=60), base + 0.3 * rng.normal(size=60)])
    count = gold_candidate_count(q)
    better, _ = sampling.sentinel_candidates(q, count, 0.2, np.random.default_rng(0))
    assert better.size == count
    with pytest.raises(sampling.InfeasiblePlan):
        sampling.sentinel_candidates(q, count + 1, 0.2, np.random.default_rng(0))


@pytest.fixture
def shared_categories(shared_data_dir, db):
    """Two real categories of the shared corpus, scored with feature-based q (not a model)."""
    from sketches.actions import do_import_path
    from sketches.models import Category, Sketch
    from tests.factories import make_scorer, make_scores

    for name in ("ant", "apple"):
        do_import_path(shared_data_dir / f"{name}.ndjson")
    categories = list(Category.objects.filter(slug__in=["ant", "apple"]))
    sketches = list(Sketch.objects.filter(category__in=categories))
    cos = make_scorer("shared-cos", categories)
    softmax = make_scorer("shared-softmax", categories, variant="softmax")
    make_scores(cos, sketches)
    make_scores(softmax, sketches, stroke_weight=3.0)
    return categories, [cos, softmax]


def form_defaults() -> dict:
    """What the study form posts when the researcher fills in only name, slug, categories, scorers."""
    form = StudyAdminForm()
    data = {}
    for name, field in form.fields.items():
        initial = form.get_initial_for_field(field, name)
        if initial is None or initial == [] or initial == "":
            continue
        data[name] = initial
    return data


def test_a_study_from_the_form_defaults_on_shared_data_is_fitted_and_launches(shared_categories):
    categories, scorers = shared_categories
    data = {**form_defaults(), "name": "Defaults", "slug": "defaults", "completion_code": "SQ-DEF"}
    data.update(categories=[c.pk for c in categories], scorers=[s.pk for s in scorers])
    form = StudyAdminForm(data=data)
    assert form.is_valid(), form.errors
    study = form.save()
    assert study.pairs_per_cell == 5000 and study.trials_per_participant == 1000

    sizes = feasible_sizes(study)
    assert sizes["max_pairs_per_cell"]["balanced"] < 5000  # the defaults do not fit ~150 sketches
    assert sizes["participants"]["served_each_pair_once"] == (
        sizes["pairs_per_cell"]["feasible"] * 4 // study.regular_trials_per_participant
    )
    try:
        do_launch_study(study)
    except StudyConfigError as refused:
        assert any("short by" in line for line in refused.messages)
    else:  # pragma: no cover - the shared data would have to grow a lot
        return
    study = Study.objects.get(pk=study.pk)
    values, notes = propose_fit(study)
    assert values["sampling_mode"] == "balanced" and notes
    assert values["pairs_per_cell"] == sizes["max_pairs_per_cell"]["balanced"]
    do_fit_to_data(study)
    launched = do_launch_study(Study.objects.get(pk=study.pk))
    assert launched.state == StudyState.LIVE
    assert launched.plan_summary["total_pairs"] == 4 * values["pairs_per_cell"]


def test_fitting_a_frozen_plan_is_refused(shared_categories):
    from tests.factories import make_study

    categories, scorers = shared_categories
    study = make_study("frozen", categories=categories, scorers=scorers)
    do_launch_study(study, pilot=True)
    with pytest.raises(StudyConfigError, match="only a draft"):
        do_fit_to_data(study)
