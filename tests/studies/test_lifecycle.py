"""The study's states: draft → pilot → live ⇄ paused → closed, and nothing else."""

from __future__ import annotations

import pytest

from sketches.models import Sketch
from studies.actions import (
    StudyConfigError,
    do_clone_study,
    do_close_study,
    do_freeze_plan,
    do_launch_study,
    do_pause_study,
    do_resume_study,
)
from studies.models import GoldPair, PlannedPair, StudyState
from studies.planning import do_discard_plan
from tests.factories import make_scored_study


@pytest.fixture
def study(db):
    return make_scored_study()


def test_launching_a_draft_freezes_its_plan_and_opens_it(study):
    do_launch_study(study)
    assert study.state == StudyState.LIVE and study.is_accepting
    assert study.plan_frozen_at is not None and study.launched_at is not None
    assert PlannedPair.objects.filter(study=study).count() == study.plan_summary["total_pairs"] == 160


def test_a_pilot_goes_live_and_keeps_its_first_launch_time(study):
    do_launch_study(study, pilot=True)
    assert study.state == StudyState.PILOT
    launched = study.launched_at
    do_launch_study(study)
    assert study.state == StudyState.LIVE and study.launched_at == launched


def test_pausing_and_resuming_returns_to_the_state_it_left(study):
    do_launch_study(study, pilot=True)
    do_pause_study(study)
    assert study.state == StudyState.PAUSED and not study.is_accepting
    do_resume_study(study)
    assert study.state == StudyState.PILOT
    do_launch_study(study)
    do_pause_study(study)
    do_resume_study(study)
    assert study.state == StudyState.LIVE


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        ([], do_pause_study, "cannot pause 'pig-face-study': it is draft"),
        ([], do_resume_study, "cannot resume 'pig-face-study': it is draft"),
        (
            ["live"],
            lambda s: do_launch_study(s, pilot=True),
            "cannot launch as pilot 'pig-face-study': it is live",
        ),
        (["live"], do_resume_study, "it is live, and only a paused study can"),
        (["live", "close"], do_launch_study, "cannot launch as live 'pig-face-study': it is closed"),
        (["live", "close"], do_pause_study, "it is closed"),
        (["live", "close"], do_close_study, "cannot close 'pig-face-study': it is closed"),
        (["live", "pause"], do_launch_study, "it is paused"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(study, setup, action, message):
    steps = {"live": do_launch_study, "close": do_close_study, "pause": do_pause_study}
    for step in setup:
        steps[step](study)
    before = study.state
    with pytest.raises(StudyConfigError, match=message):
        action(study)
    study.refresh_from_db()
    assert study.state == before


def test_a_stale_copy_cannot_close_a_study_twice(study):
    do_launch_study(study)
    stale = type(study).objects.get(pk=study.pk)
    do_close_study(study)
    with pytest.raises(StudyConfigError, match="it is closed"):
        do_close_study(stale)


def test_a_launched_plan_cannot_be_discarded_or_frozen_again(study):
    do_launch_study(study)
    with pytest.raises(StudyConfigError, match="only a draft's plan can be discarded"):
        do_discard_plan(study)
    with pytest.raises(StudyConfigError, match="already frozen"):
        do_freeze_plan(study)


def test_a_clone_is_a_new_draft_with_the_same_configuration_and_curated_gold(study, researcher):
    pig = list(Sketch.objects.filter(category__slug="pig")[:2])
    GoldPair.objects.create(study=study, better=pig[0], worse=pig[1], note="clear")
    do_launch_study(study)
    clone = do_clone_study(study, owner=researcher)
    assert (
        clone.state == StudyState.DRAFT
        and clone.plan_frozen_at is None
        and clone.slug == "pig-face-study-copy"
    )
    assert clone.owner == researcher and clone.name == "Copy of Pig Face Study"
    for field in (
        "pairs_per_cell",
        "n_levels",
        "trials_per_participant",
        "seed",
        "sentinels_per_participant",
    ):
        assert getattr(clone, field) == getattr(study, field)
    assert set(clone.categories.all()) == set(study.categories.all())
    assert set(clone.scorers.all()) == set(study.scorers.all())
    assert list(clone.gold_pairs.values_list("better_id", "worse_id", "source")) == [
        (pig[0].pk, pig[1].pk, "curated")
    ]
    assert not PlannedPair.objects.filter(study=clone).exists()
    assert do_clone_study(study).slug == "pig-face-study-copy-2"
    do_freeze_plan(clone)
    assert sorted(
        PlannedPair.objects.filter(study=clone).values_list("sketch_a_id", "sketch_b_id", "order")
    ) == sorted(PlannedPair.objects.filter(study=study).values_list("sketch_a_id", "sketch_b_id", "order"))


def test_cloning_into_a_taken_slug_is_refused(study):
    with pytest.raises(StudyConfigError, match="is taken"):
        do_clone_study(study, slug=study.slug)
