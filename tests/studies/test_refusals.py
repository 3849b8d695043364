"""Every infeasible configuration is refused before launch, saying what is short, and nothing is written."""

from __future__ import annotations

import pytest

from scoring.models import JobStatus, SketchScore
from sketches.models import Split
from studies.actions import StudyConfigError, do_launch_study
from studies.models import GoldPair, PlannedPair, StudyState
from tests.factories import make_category, make_scored_study, make_scorer, make_scores, make_sketches


def refusal(study, *, pilot: bool = False) -> str:
    with pytest.raises(StudyConfigError) as refused:
        do_launch_study(study, pilot=pilot)
    study.refresh_from_db()
    assert study.state == StudyState.DRAFT and study.plan_frozen_at is None
    assert not PlannedPair.objects.filter(study=study).exists()
    assert not GoldPair.objects.filter(study=study).exclude(source=GoldPair.Source.CURATED).exists()
    return " | ".join(refused.value.messages)


def test_a_level_with_too_few_candidate_pairs_is_named_with_its_shortfall(db):
    message = refusal(make_scored_study(pairs_per_cell=1000))
    assert "level 3 (0.75, 1]: needs 250 pairs, only" in message and "short by" in message


def test_natural_mode_asking_for_more_pairs_than_exist_is_refused(db):
    message = refusal(make_scored_study(sampling_mode="natural", pairs_per_cell=2000))
    assert "needs 2000 distinct pairs, only 1128 exist among 48 sketches (short by 872)" in message


def test_a_category_with_too_few_sketches_in_the_split_is_refused(db):
    study = make_scored_study()
    cactus = make_category("cactus")
    make_sketches("cactus", 1, split=Split.TEST)
    study.categories.add(cactus)
    for scorer in study.scorers.all():
        scorer.categories.add(cactus)
        make_scores(scorer, cactus.sketches.all())
    assert "cactus: 1 test sketch(es), needs at least 2 (short by 1)" in refusal(study)


def test_a_scorer_without_scores_for_the_studys_sketches_is_refused(db):
    study = make_scored_study()
    unscored = make_scorer("unscored", list(study.categories.all()))
    study.scorers.add(unscored)
    assert "pig × unscored: no scores for 48 of 48 test sketches" in refusal(study)


def test_a_scorer_missing_some_scores_is_refused(db):
    study = make_scored_study()
    scorer = study.scorers.first()
    SketchScore.objects.filter(scorer=scorer, sketch__category__slug="face")[:1].get().delete()
    assert f"face × {scorer.name}: no scores for 1 of 48 test sketches" in refusal(study)


def test_a_scorer_that_is_not_ready_is_refused(db):
    study = make_scored_study()
    scorer = study.scorers.first()
    scorer.status = JobStatus.RUNNING
    scorer.save(update_fields=["status"])
    assert f"scorer {scorer.name} is not ready (status running)" in refusal(study)


def test_a_category_the_scorer_was_not_trained_on_is_refused(db):
    study = make_scored_study()
    scorer = study.scorers.first()
    scorer.categories.remove(*scorer.categories.filter(slug="face"))
    assert f"scorer {scorer.name} was not trained on: face" in refusal(study)


def test_trials_per_participant_too_small_for_sentinels_duplicates_and_distance_is_refused(db):
    study = make_scored_study(
        trials_per_participant=20,
        sentinels_per_participant=4,
        duplicates_per_participant=4,
        min_duplicate_distance=10,
    )
    message = refusal(study)
    assert (
        "need 14 regular trials, but 20 trials − 4 sentinels − 4 duplicates leave 12 (short by 2" in message
    )


def test_too_few_gold_pairs_for_sentinels_and_practice_is_refused(db):
    study = make_scored_study(degradation_gold_pairs=2, sentinels_per_participant=4, practice_trials=3)
    message = refusal(study)
    assert "each participant needs 4, the study would have 2 (short by 2)" in message


def test_too_few_practice_gold_for_practice_and_the_example_is_refused(db):
    study = make_scored_study(
        held_out=5, degradation_gold_pairs=4, sentinels_per_participant=4, practice_trials=3
    )
    # 10 held-out sketches make 4 practice (3 + the example) and 4 sentinel pairs: enough
    assert do_launch_study(study).state == StudyState.LIVE
    other = make_scored_study("short-practice", degradation_gold_pairs=4, practice_trials=9)
    assert "not enough held-out sketches" in refusal(other)


def test_a_plan_smaller_than_one_participants_list_is_refused(db):
    study = make_scored_study(pairs_per_cell=5, n_levels=1, trials_per_participant=40)
    assert "= 20) is smaller than one participant's 32 regular trials (short by 12)" in refusal(study)


def test_no_categories_or_no_scorers_are_refused(db):
    study = make_scored_study()
    study.categories.clear()
    study.scorers.clear()
    message = refusal(study)
    assert "choose at least one category" in message and "choose at least one scorer" in message


def test_malformed_level_edges_are_refused(db):
    message = refusal(make_scored_study(n_levels=3, level_edges=[0, 0.5, 0.4, 1]))
    assert "strictly increasing" in message


def test_a_prolific_study_without_a_completion_code_is_refused_at_launch(db):
    study = make_scored_study(completion_code="")
    assert "a Prolific study needs its completion code" in refusal(study)


def test_a_qualification_study_that_never_ran_is_refused(db):
    screening = make_scored_study("screening")
    study = make_scored_study("main", qualification_study=screening)
    assert "the qualification study 'screening' has not run yet" in refusal(study)


def test_all_problems_are_reported_at_once(db):
    study = make_scored_study(completion_code="", pairs_per_cell=1000)
    message = refusal(study)
    assert "completion code" in message and "short by" in message
