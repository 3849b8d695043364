"""The screening rules on counters (pure): each rule at its boundary, and what alpha means."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from studies import screening as s
from studies.screening_planner import BAD_TYPES, plan_screening

PAPER = s.Rules(rule=s.PAPER)
EVIDENCE = s.Rules(rule=s.EVIDENCE)


def test_the_evidence_rule_turns_from_undecided_to_unqualified_exactly_where_the_posterior_is_sure():
    n, threshold = 40, 0.7
    below = [stats.beta.cdf(threshold, 1 + k, 1 + n - k) for k in range(n + 1)]
    boundary = max(k for k in range(n + 1) if below[k] >= 0.95)  # most consistent answers still "bad"
    assert s.evidence_status(boundary, n, threshold, 0.95) == s.UNQUALIFIED
    assert s.evidence_status(boundary + 1, n, threshold, 0.95) == s.UNDECIDED
    top = min(k for k in range(n + 1) if 1 - below[k] >= 0.95)
    assert s.evidence_status(top - 1, n, threshold, 0.95) == s.UNDECIDED
    assert s.evidence_status(top, n, threshold, 0.95) == s.OK
    assert boundary < 28 <= top  # 27/40 < 70% is unqualified for the paper, undecided here


def test_two_of_four_duplicates_is_undecided_under_evidence_but_unqualified_under_the_paper_rule():
    small = dict(n_sentinels=4, max_mistakes=2, n_duplicates=4)
    counts = s.Counts(sentinels=4, mistakes=0, duplicates=4, consistent=2, answers=60)
    assert s.final_verdict(s.Rules(rule=s.PAPER, **small), counts).status == s.UNQUALIFIED
    verdict = s.final_verdict(s.Rules(rule=s.EVIDENCE, **small), counts)
    assert verdict.status == s.UNDECIDED and verdict.qualified
    none_right = s.Counts(sentinels=4, mistakes=0, duplicates=4, consistent=0, answers=60)
    assert s.final_verdict(s.Rules(rule=s.EVIDENCE, **small), none_right).status == s.UNQUALIFIED


def test_the_paper_rule_blocks_on_the_eleventh_sentinel_mistake_not_the_tenth():
    rules = s.Rules(rule=s.PAPER, sequential=False)
    assert s.block_reason(rules, s.Counts(sentinels=40, mistakes=10, answers=1000)) is None
    assert s.block_reason(rules, s.Counts(sentinels=40, mistakes=11, answers=1000)) == "sentinels"


def test_the_too_fast_rule_blocks_live_only_from_the_nth_answer_on():
    rules = s.Rules(too_fast_share=0.2, too_fast_block_after=50, sequential=False)
    assert s.block_reason(rules, s.Counts(answers=49, fast=49)) is None
    assert s.block_reason(rules, s.Counts(answers=50, fast=11)) == "too fast"
    assert s.block_reason(rules, s.Counts(answers=50, fast=10)) is None  # exactly the share: not more


def test_the_too_fast_rule_offline_unqualifies_above_the_share_even_without_live_blocking():
    rules = s.Rules(too_fast_share=0.2, too_fast_block_after=0, sequential=False)
    assert s.block_reason(rules, s.Counts(answers=1000, fast=900)) is None  # flag only
    assert s.final_verdict(rules, s.Counts(answers=100, fast=21, duplicates=40, consistent=40)).reasons == (
        "too fast",
    )
    assert s.final_verdict(rules, s.Counts(answers=100, fast=20, duplicates=40, consistent=40)).status == s.OK
    off = s.Rules(too_fast_ms=0, sequential=False)
    assert s.final_verdict(off, s.Counts(answers=100, fast=100, duplicates=40, consistent=40)).status == s.OK


def test_an_always_left_worker_is_stopped_after_the_answers_the_bound_needs():
    step = math.log(s.SIDE_BIASED / s.SIDE_TOLERATED)
    needed = math.ceil(PAPER.log_bound / step)
    assert s.block_reason(PAPER, s.Counts(answers=needed - 1, left=needed - 1)) is None
    assert s.block_reason(PAPER, s.Counts(answers=needed, left=needed)) == "side bias"
    assert s.block_reason(PAPER, s.Counts(answers=needed, left=0)) == "side bias"  # always right too
    assert needed == 14


def test_the_sequential_tests_block_good_workers_at_most_alpha_of_the_time():
    """Workers exactly at the tolerated rates (the worst good case) over a long list: the share
    ever blocked stays under alpha (Ville's inequality), as the study page states."""
    rng = np.random.default_rng(5)
    rules = s.Rules(rule=s.EVIDENCE, alpha=0.05, too_fast_ms=0)
    n_workers, n = 4000, 1500
    is_sentinel = rng.random((n_workers, n)) < 0.1
    is_duplicate = ~is_sentinel & (rng.random((n_workers, n)) < 0.1)
    mistake = is_sentinel & (rng.random((n_workers, n)) < rules.sentinel_tolerance)
    consistent = is_duplicate & (rng.random((n_workers, n)) >= rules.duplicate_tolerance)
    left = rng.random((n_workers, n)) < s.SIDE_TOLERATED
    counts = s.Counts(
        sentinels=np.cumsum(is_sentinel, 1),
        mistakes=np.cumsum(mistake, 1),
        duplicates=np.cumsum(is_duplicate, 1),
        consistent=np.cumsum(consistent, 1),
        answers=np.broadcast_to(np.arange(1, n + 1), (n_workers, n)),
        left=np.cumsum(left, 1),
    )
    blocked = s.block_mask(rules, counts).any(axis=1).mean()
    assert 0 < blocked <= rules.alpha


def test_coins_are_stopped_by_the_random_answer_test_and_replay_names_it():
    """The paper's layout density (40 sentinels + 40 duplicates per 1,000): most coins are
    stopped before the list ends, the rest are unqualified at its end; replay reports the rule that stopped it."""
    rng = np.random.default_rng(1)
    n, rules = 1000, s.Rules(rule=s.EVIDENCE, too_fast_ms=0)
    is_sentinel, is_duplicate = np.arange(n) % 25 == 3, np.arange(n) % 25 == 7
    outcomes = []
    for _ in range(200):
        coin = rng.random(n) < 0.5
        counts = s.cumulative_counts(
            is_sentinel,
            is_sentinel & coin,
            is_duplicate,
            is_duplicate & ~coin,
            rng.random(n) < 0.5,
            np.zeros(n),
        )
        outcomes.append(s.replay(rules, counts, n))
    stopped = [
        taken for status, reason, taken in outcomes if (status, reason) == (s.BLOCKED, "random answers")
    ]
    assert len(stopped) >= 0.85 * len(outcomes)
    assert all(status in (s.BLOCKED, s.UNQUALIFIED) for status, _, _ in outcomes)  # the rest at the end
    assert np.median(stopped) < 500  # the paper's fixed rule needs about 540 trials


@pytest.mark.parametrize("rule", [s.PAPER, s.EVIDENCE])
def test_at_the_papers_settings_the_planner_meets_the_goals(rule):
    plan = plan_screening(s.Rules(rule=rule), n_trials=1000, min_distance=100, n_workers=300, seed=2)
    assert plan.good_excluded < 0.05
    assert all(plan.outcomes[kind].excluded >= 0.95 for kind in BAD_TYPES)
    assert plan.can_tell and "separate" in plan.verdict


def test_at_the_demos_small_settings_the_planner_says_plainly_that_it_cannot_tell():
    small = s.Rules(rule=s.PAPER, n_sentinels=4, max_mistakes=2, n_duplicates=4)
    plan = plan_screening(small, n_trials=60, min_distance=20, n_workers=300, seed=2)
    assert not plan.can_tell and plan.verdict.startswith("These settings cannot tell good from bad")
    assert plan.good_excluded > 0.05  # the paper's fixed rules at 4 duplicates exclude good workers
    evidence = plan_screening(
        s.Rules(rule=s.EVIDENCE, n_sentinels=4, max_mistakes=2, n_duplicates=4), 60, 20, n_workers=300, seed=2
    )
    assert evidence.good_excluded < plan.good_excluded  # undecided instead of excluded at random
    assert evidence.outcomes["good"].undecided > 0.5
