"""do_freeze_plan through the database: exact level counts, reproducible, no repeated pairs, gold pairs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.models import SketchScore
from studies.actions import do_freeze_plan, preview_plan
from studies.models import GoldPair, PlannedPair
from studies.planning import do_discard_plan
from studies.sampling import balanced_quotas
from tests.factories import TEST_SHA256, make_scored_study

FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def stored_pairs(study):
    return list(
        PlannedPair.objects.filter(study=study).values_list(
            "category_id", "scorer_id", "sketch_a_id", "sketch_b_id", "level", "order"
        )
    )


@pytest.fixture
def scored(db):
    """Sketches and scorers exist once; each example makes its own study over them."""
    return make_scored_study("fixture-study")


@FEW
@given(pairs_per_cell=st.integers(1, 60), n_levels=st.integers(1, 5), seed=st.integers(0, 2**32))
def test_balanced_plans_hit_every_level_quota_exactly(scored, pairs_per_cell, n_levels, seed):
    study = make_scored_study(
        f"balanced-{pairs_per_cell}-{n_levels}-{seed}",
        pairs_per_cell=pairs_per_cell,
        n_levels=n_levels,
        seed=seed,
        trials_per_participant=1,
        sentinels_per_participant=0,
        duplicates_per_participant=0,
        practice_trials=0,
        auto_gold_pairs=0,
    )
    summary = do_freeze_plan(study)
    quotas = balanced_quotas(pairs_per_cell, n_levels).tolist()
    rows = stored_pairs(study)
    for cell in summary["cells"]:
        assert cell["requested"] == cell["counts"] == quotas
        stored = [r[4] for r in rows if r[:2] == (cell["category_id"], cell["scorer_id"])]
        assert np.bincount(stored, minlength=n_levels).tolist() == quotas
    assert len({r[:4] for r in rows}) == len(rows)  # no pair twice within a (category, method)
    assert sorted(r[5] for r in rows) == list(range(len(rows)))  # hand-out order is a permutation
    study.delete()


def test_the_same_seed_gives_the_same_plan_and_another_seed_does_not(scored):
    do_freeze_plan(scored)
    twin = make_scored_study("twin-study")
    do_freeze_plan(twin)
    other = make_scored_study("other-seed", seed=scored.seed + 1)
    do_freeze_plan(other)
    assert stored_pairs(twin) == stored_pairs(scored)
    assert stored_pairs(other) != stored_pairs(scored)
    assert twin.plan_summary["cells"] == scored.plan_summary["cells"]


def test_a_frozen_plan_records_the_scores_and_scorer_versions_it_used(scored):
    summary = do_freeze_plan(scored)
    assert {s["checkpoint_sha256"] for s in summary["scorers"]} == {TEST_SHA256}
    scores = {(s.sketch_id, s.scorer_id): s.q for s in SketchScore.objects.all()}
    cells = {(c["category_id"], c["scorer_id"]): c for c in summary["cells"]}
    for pair in PlannedPair.objects.filter(study=scored):
        assert pair.sketch_a_id != pair.sketch_b_id
        assert pair.q_a == scores[(pair.sketch_a_id, pair.scorer_id)]
        cell = cells[(pair.category_id, pair.scorer_id)]
        assert pair.gap == pytest.approx(abs(pair.q_a - pair.q_b) / (cell["q_max"] - cell["q_min"]))
        assert pair.level == min(int(pair.gap * scored.n_levels - 1e-9), scored.n_levels - 1) or pair.gap == 0


def test_natural_mode_reports_the_counts_it_achieved(db):
    study = make_scored_study(sampling_mode="natural", pairs_per_cell=100)
    summary = do_freeze_plan(study)
    for cell in summary["cells"]:
        assert sum(cell["counts"]) == 100 and cell["requested"] == cell["counts"]
    assert PlannedPair.objects.filter(study=study).count() == summary["total_pairs"] == 400


def test_automatic_gold_pairs_agree_with_every_scorer(scored):
    do_freeze_plan(scored)
    gold = GoldPair.objects.filter(study=scored, source=GoldPair.Source.AUTOMATIC)
    assert gold.count() == scored.auto_gold_pairs
    q = {(s.sketch_id, s.scorer_id): s.q for s in SketchScore.objects.all()}
    for pair in gold:
        for scorer in scored.scorers.all():
            assert q[(pair.better_id, scorer.pk)] > q[(pair.worse_id, scorer.pk)]


def test_a_dry_run_writes_nothing_and_matches_what_freezing_stores(scored):
    dry = preview_plan(scored)
    assert not dry["frozen"] and dry["problems"] == []
    assert not PlannedPair.objects.exists() and not GoldPair.objects.exists()
    frozen = do_freeze_plan(scored)
    assert dry["cells"] == frozen["cells"]
    assert preview_plan(scored)["frozen"]


def test_a_frozen_plan_is_not_drawn_again_and_discarding_it_frees_the_draft(scored):
    from studies.errors import StudyConfigError

    do_freeze_plan(scored)
    with pytest.raises(StudyConfigError, match="already frozen"):
        do_freeze_plan(scored)
    assert do_discard_plan(scored) == 160
    assert not GoldPair.objects.filter(study=scored).exists() and scored.plan_frozen_at is None
    do_freeze_plan(scored)
    assert PlannedPair.objects.filter(study=scored).count() == 160


def test_the_stored_plan_counts_come_from_one_query(scored, django_assert_num_queries):
    from studies.selectors import plan_table, stored_plan_counts

    do_freeze_plan(scored)
    with django_assert_num_queries(1):
        stored = stored_plan_counts(scored)
    table = plan_table(scored.plan_summary, stored)
    assert table["total"] == 160 and table["totals"] == [40, 40, 40, 40]
    assert all(row["handed"] == 0 for row in table["rows"])
