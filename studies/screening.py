"""Worker screening rules: pure functions of a worker's counters (numpy/scipy, no Django).

The same rules run live (``annotation.answering``, after every answer), offline (the
worker-QA recomputation in ``analysis``) and in simulation (``studies.screening_planner``),
so what the planner predicts is what the study does.

Counters (``Counts``): sentinels answered and mistaken, duplicates answered and
consistent, main answers, how many of them were "left", and how many were too fast.

**Live blocking**, checked after every main answer:

1. *paper rule* (``rule="paper"``): more than ``max_mistakes`` sentinel mistakes blocks.
   Under ``rule="evidence"`` the same tolerance ``max_mistakes / n_sentinels`` only blocks
   through the sequential test below.
2. *sequential tests* (``sequential=True``): one-sided likelihood-ratio tests with no
   acceptance boundary, blocking when the ratio reaches 1/α_k:

   - **random answers**: sentinel mistakes and duplicate inconsistencies together, "at the
     worst tolerated rate" (p0 = the study's tolerance: ``max_mistakes / n_sentinels`` and
     ``1 − min_agreement``) against "a coin" (p1 = 0.5);
   - **side bias**: left choices, p0 = ``SIDE_TOLERATED`` against p1 = ``SIDE_BIASED``.

   For a worker whose rates are at most p0 the likelihood ratio is a non-negative
   supermartingale, so by Ville's inequality it ever reaches 1/α_k with probability at most
   α_k, however long the study. With α split evenly over three one-sided tests (random
   answers; left bias; right bias), **a good worker (error rates within the study's
   tolerances, left rate within [0.35, 0.65]) is blocked by them with probability at most
   ``alpha``** (the study's ``screening_alpha``).
3. *too fast*: once ``too_fast_block_after`` main answers are in, a share of answers under
   ``too_fast_ms`` above ``too_fast_share`` blocks.

**Final decision** (``final_verdict``), when the list is done:

- *paper rule*: unqualified when duplicate agreement < ``min_agreement`` (the paper's 70%);
- *evidence rule*: unqualified only when the Beta(1, 1) posterior puts the worker's
  consistency (or sentinel accuracy) below the threshold with probability ≥ ``confidence``
  (0.95); "ok" when it puts it above with that probability; otherwise **undecided**, which
  stays in the analysis but is shown as such on the QA pages;
- both: a too-fast share above ``too_fast_share`` is unqualified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

PAPER, EVIDENCE = "paper", "evidence"
OK, UNDECIDED, UNQUALIFIED, BLOCKED = "ok", "undecided", "unqualified", "blocked"
#: Side bias: a good worker's left rate is at most this (sides are a fair coin per trial) ...
SIDE_TOLERATED = 0.65
#: ... against the left rate of a worker who mostly presses one key.
SIDE_BIASED = 0.95
#: The rate a random clicker errs at on sentinels and duplicates.
COIN = 0.5
#: Bounds on the tolerated error rates, so that the random-answer test has a direction.
MIN_TOLERANCE, MAX_TOLERANCE = 0.02, 0.45
#: One test for random answers, and the side test on each side (left, right).
N_SEQUENTIAL_TESTS = 3


@dataclass(frozen=True)
class Rules:
    rule: str = PAPER  # PAPER | EVIDENCE
    n_sentinels: int = 40
    max_mistakes: int = 10
    n_duplicates: int = 40
    min_agreement: float = 0.7
    sequential: bool = True
    alpha: float = 0.02
    too_fast_ms: int = 350
    too_fast_share: float = 0.2
    too_fast_block_after: int = 50
    confidence: float = 0.95

    @property
    def sentinel_tolerance(self) -> float:
        rate = self.max_mistakes / self.n_sentinels if self.n_sentinels else MAX_TOLERANCE
        return float(np.clip(rate, MIN_TOLERANCE, MAX_TOLERANCE))

    @property
    def duplicate_tolerance(self) -> float:
        return float(np.clip(1.0 - self.min_agreement, MIN_TOLERANCE, MAX_TOLERANCE))

    @property
    def log_bound(self) -> float:
        """Each sequential test blocks at log-likelihood ratio log(1 / α_k), α_k = α / 3."""
        return float(np.log(N_SEQUENTIAL_TESTS / self.alpha))


@dataclass(frozen=True)
class Counts:
    sentinels: int | np.ndarray = 0
    mistakes: int | np.ndarray = 0
    duplicates: int | np.ndarray = 0
    consistent: int | np.ndarray = 0
    answers: int | np.ndarray = 0
    left: int | np.ndarray = 0
    fast: int | np.ndarray = 0
    right: int | np.ndarray | None = None  # None: every answer that is not "left" was "right"


def _llr(errors, trials, p0: float, p1: float):
    """log L(p1) / L(p0) for ``errors`` of ``trials`` Bernoulli draws (arrays welcome)."""
    errors, trials = np.asarray(errors, dtype=float), np.asarray(trials, dtype=float)
    return errors * np.log(p1 / p0) + (trials - errors) * np.log((1 - p1) / (1 - p0))


def random_answer_llr(rules: Rules, c: Counts):
    """Evidence that the worker answers at random: sentinels and duplicates together."""
    inconsistent = np.asarray(c.duplicates) - np.asarray(c.consistent)
    return _llr(c.mistakes, c.sentinels, rules.sentinel_tolerance, COIN) + _llr(
        inconsistent, c.duplicates, rules.duplicate_tolerance, COIN
    )


def side_bias_llr(rules: Rules, c: Counts):
    """Evidence that the worker mostly presses one side (left or right: whichever is more)."""
    left = np.asarray(c.left)
    right = np.asarray(c.answers) - left if c.right is None else np.asarray(c.right)
    major = np.maximum(left, right)  # "no difference" answers are on neither side
    return _llr(major, left + right, SIDE_TOLERATED, SIDE_BIASED)


def too_fast(rules: Rules, c: Counts, live: bool):
    """The too-fast rule: live only once ``too_fast_block_after`` answers are in."""
    answers, fast = np.asarray(c.answers, dtype=float), np.asarray(c.fast, dtype=float)
    if not rules.too_fast_ms:
        return np.zeros(np.shape(answers), dtype=bool)
    over = fast > rules.too_fast_share * answers
    if live:
        if not rules.too_fast_block_after:
            return np.zeros(np.shape(answers), dtype=bool)
        return over & (answers >= rules.too_fast_block_after)
    return over & (answers > 0)


def block_reason(rules: Rules, c: Counts) -> str | None:
    """Why the worker must be blocked now (live), or None. Scalars only."""
    if rules.rule == PAPER and c.mistakes > rules.max_mistakes:
        return "sentinels"
    if rules.sequential:
        if random_answer_llr(rules, c) >= rules.log_bound:
            return "random answers"
        if side_bias_llr(rules, c) >= rules.log_bound:
            return "side bias"
    if too_fast(rules, c, live=True):
        return "too fast"
    return None


def block_mask(rules: Rules, c: Counts) -> np.ndarray:
    """``block_reason(...) is not None`` over arrays of counters (the planner's fast path)."""
    blocked = np.zeros(np.shape(np.asarray(c.answers)), dtype=bool)
    if rules.rule == PAPER:
        blocked |= np.asarray(c.mistakes) > rules.max_mistakes
    if rules.sequential:
        blocked |= random_answer_llr(rules, c) >= rules.log_bound
        blocked |= side_bias_llr(rules, c) >= rules.log_bound
    return blocked | too_fast(rules, c, live=True)


def below_probability(successes, trials, threshold: float):
    """P(rate < threshold) under the Beta(1 + successes, 1 + failures) posterior."""
    successes, trials = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    return stats.beta.cdf(threshold, 1 + successes, 1 + trials - successes)


def evidence_status(successes, trials, threshold: float, confidence: float) -> str:
    """ "unqualified" / "ok" when the posterior is sure enough either way, else "undecided"."""
    below = float(below_probability(successes, trials, threshold))
    if below >= confidence:
        return UNQUALIFIED
    if 1 - below >= confidence:
        return OK
    return UNDECIDED


@dataclass(frozen=True)
class Verdict:
    status: str  # OK | UNDECIDED | UNQUALIFIED
    reasons: tuple[str, ...] = ()

    @property
    def qualified(self) -> bool:
        """Analysed: ok, and undecided (not shown to be bad)."""
        return self.status != UNQUALIFIED


def final_verdict(rules: Rules, c: Counts) -> Verdict:
    """The decision once a worker has finished their list (see the module docstring)."""
    reasons = []
    undecided = False
    if rules.rule == PAPER:
        if c.duplicates and c.consistent / c.duplicates < rules.min_agreement:
            reasons.append("duplicates")
    else:
        checks = [("duplicates", c.consistent, c.duplicates, rules.min_agreement)]
        checks.append(("sentinels", c.sentinels - c.mistakes, c.sentinels, 1 - rules.sentinel_tolerance))
        for name, good, n, threshold in checks:
            status = evidence_status(good, n, threshold, rules.confidence)
            if status == UNQUALIFIED:
                reasons.append(name)
            undecided |= status == UNDECIDED
    if too_fast(rules, c, live=False):
        reasons.append("too fast")
    if reasons:
        return Verdict(UNQUALIFIED, tuple(reasons))
    return Verdict(UNDECIDED if undecided else OK)


def cumulative_counts(
    is_sentinel, mistake, is_duplicate, consistent, chose_left, fast, chose_right=None
) -> Counts:
    """Counters after each answer of one worker (1-D boolean arrays in answer order)."""
    as_int = [np.cumsum(np.asarray(x, dtype=np.int64)) for x in (is_sentinel, mistake, is_duplicate)]
    return Counts(
        sentinels=as_int[0],
        mistakes=as_int[1],
        duplicates=as_int[2],
        consistent=np.cumsum(np.asarray(consistent, dtype=np.int64)),
        answers=np.arange(1, np.size(is_sentinel) + 1),
        left=np.cumsum(np.asarray(chose_left, dtype=np.int64)),
        fast=np.cumsum(np.asarray(fast, dtype=np.int64)),
        right=None if chose_right is None else np.cumsum(np.asarray(chose_right, dtype=np.int64)),
    )


def replay(rules: Rules, counts: Counts, n_trials: int) -> tuple[str, str, int]:
    """What the live rules decide for one worker's answers, in order: (status, reason,
    answers taken). ``status`` is BLOCKED, a final verdict's status when all ``n_trials``
    are answered, or "" while the worker is still going."""
    blocked = block_mask(rules, counts)
    if blocked.any():
        at = int(np.argmax(blocked))
        now = take(counts, at)
        return BLOCKED, block_reason(rules, now) or "", at + 1
    n = int(np.size(counts.answers))
    if n < n_trials or n == 0:
        return "", "", n
    last = take(counts, -1)
    verdict = final_verdict(rules, last)
    return verdict.status, ", ".join(verdict.reasons), n


def take(counts: Counts, index) -> Counts:
    """The counters at ``index`` along the last axis (e.g. one answer of cumulative arrays)."""
    values = {}
    for name in Counts.__dataclass_fields__:
        column = getattr(counts, name)
        values[name] = None if column is None else np.asarray(column)[..., index]
    return Counts(**values)
