"""Gold that does not come from the model: degradation gold, review, and what a launch allows."""

from __future__ import annotations

import pytest

from sketches import geometry
from sketches.models import Sketch, Split
from studies import gold
from studies.actions import StudyConfigError, do_draw_trial_list, do_freeze_plan, do_launch_study
from studies.models import GoldPair, PlannedPair, StudyState
from tests.factories import make_scored_study

pytestmark = pytest.mark.django_db


def test_degradation_gold_is_stored_as_derived_sketches_that_say_so_and_never_enter_the_plan():
    study = make_scored_study()
    do_freeze_plan(study)
    degraded = GoldPair.objects.filter(study=study, source=GoldPair.Source.DEGRADED)
    assert degraded.filter(use=GoldPair.Use.SENTINEL).count() == study.degradation_gold_pairs
    assert degraded.filter(use=GoldPair.Use.PRACTICE).count() == study.practice_trials + 1
    for pair in degraded.select_related("better", "worse"):
        copy = pair.worse
        assert (
            copy.derived_from_id == pair.better_id and copy.source == "degraded" and copy.split == Split.GOLD
        )
        assert copy.degradation.endswith("-3") and pair.review == GoldPair.Review.ACCEPTED
        assert pair.better.split != study.split  # held out of the study's split
        # normalised like any imported sketch: the unit box, touching both ends of its long side
        points = [p for stroke in geometry.strokes_from_json(copy.strokes) for p in stroke]
        lo, hi = min(min(p) for p in points), max(max(p) for p in points)
        assert lo >= 0 and hi <= 1 and (hi - lo) > 0.99
    derived = set(Sketch.objects.filter(derived_from__isnull=False).values_list("pk", flat=True))
    planned = set(PlannedPair.objects.filter(study=study).values_list("sketch_a_id", flat=True))
    planned |= set(PlannedPair.objects.filter(study=study).values_list("sketch_b_id", flat=True))
    assert derived and not derived & planned


def test_the_practice_pool_shares_no_sketch_with_any_sentinel():
    study = make_scored_study(auto_gold_pairs=10)
    do_freeze_plan(study)
    practice = GoldPair.objects.filter(study=study).practice_pool()
    sentinels = GoldPair.objects.filter(study=study, use=GoldPair.Use.SENTINEL)
    sketches = lambda qs: {s for pair in qs.values_list("better_id", "worse_id") for s in pair}  # noqa: E731
    assert practice.exists() and not sketches(practice) & sketches(sentinels)
    assert not practice.filter(source=GoldPair.Source.AUTOMATIC).exists()  # never the model's opinion


def test_a_live_launch_with_unreviewed_model_gold_is_refused_and_a_pilot_launches_with_a_warning():
    study = make_scored_study(auto_gold_pairs=10)
    with pytest.raises(StudyConfigError) as refused:
        do_launch_study(study)
    assert "10 model-suggested gold pair(s) are not reviewed" in " ".join(refused.value.messages)
    study.refresh_from_db()
    assert study.state == StudyState.DRAFT
    do_freeze_plan(study)  # the refusal wrote nothing; freeze again and run a pilot
    assert do_launch_study(study, pilot=True).state == StudyState.PILOT
    assert "10 model-suggested gold pair(s) nobody has reviewed" in gold.pilot_warnings(study)[0]


def test_after_review_only_accepted_gold_reaches_a_live_participant():
    study = make_scored_study(auto_gold_pairs=10, degradation_gold_pairs=0, sentinels_per_participant=4)
    do_freeze_plan(study)
    candidates = list(GoldPair.objects.filter(study=study, review=GoldPair.Review.CANDIDATE).order_by("pk"))
    for pair in candidates[:6]:
        gold.do_review_gold(study, pair.pk, "reject")
    with pytest.raises(StudyConfigError) as refused:  # 4 candidates still unreviewed
        do_launch_study(study)
    assert "4 model-suggested" in " ".join(refused.value.messages)
    assert gold.do_accept_gold_seen(study, [p.pk for p in candidates[6:]]) == 4
    study = do_launch_study(study)
    accepted = set(
        GoldPair.objects.filter(study=study, review=GoldPair.Review.ACCEPTED).values_list("pk", flat=True)
    )
    from django.db import transaction

    for index in range(5):
        with transaction.atomic():
            used = {d.gold_pair_id for d in do_draw_trial_list(study, index) if d.kind == "sentinel"}
        assert used and used <= accepted


def test_review_decisions_swap_reject_and_refuse_bad_input_without_changing_anything():
    study = make_scored_study(auto_gold_pairs=4)
    do_freeze_plan(study)
    pair = GoldPair.objects.filter(study=study, review=GoldPair.Review.CANDIDATE).first()
    swapped = gold.do_review_gold(study, pair.pk, "swap")
    assert (swapped.better_id, swapped.worse_id) == (pair.worse_id, pair.better_id)
    assert swapped.review == GoldPair.Review.ACCEPTED
    for bad in [(pair.pk, "maybe"), (999_999, "accept")]:
        with pytest.raises(StudyConfigError):
            gold.do_review_gold(study, *bad)
    with pytest.raises(StudyConfigError, match="look at the pairs"):
        gold.do_accept_gold_seen(study, [])
    unchanged = GoldPair.objects.get(pk=pair.pk)
    assert (unchanged.better_id, unchanged.review) == (swapped.better_id, GoldPair.Review.ACCEPTED)
