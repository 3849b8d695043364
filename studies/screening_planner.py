"""The screening planner: what a study's screening settings will do, by simulation (pure numpy).

Simulated workers answer the study's own trial-list layout (``trial_lists.build_trial_list``
with its trials, sentinels, duplicates and distance) and go through the very rules the
study runs (``studies.screening``): live blocking after every answer, then the final
verdict. Only the *behaviour* on sentinels, duplicates, sides and time is simulated; the
pairs themselves do not matter to the rules.

Worker types (``WORKER_TYPES``), each parameter drawn per worker from the range given:

================ ============== ================ ============ =====================
type             sentinel error inconsistency    left rate    response time median
================ ============== ================ ============ =====================
good             2–12%          5–25%            0.42–0.58    900–2,500 ms
spammer          50%            50%              0.5          450–900 ms
always_left      50% (sides)    100% (swapped)   1.0          300–900 ms
too_fast         10–30%         15–35%           0.45–0.55    150–300 ms
================ ============== ================ ============ =====================

These are assumptions, stated on the planner's page: a good worker's consistency on the
study's own pairs may be lower when many pairs are near ties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studies import screening, trial_lists
from studies.sampling import InfeasiblePlan

RT_SIGMA = 0.45


@dataclass(frozen=True)
class WorkerType:
    sentinel_error: tuple[float, float]
    inconsistency: tuple[float, float]
    left_rate: tuple[float, float]
    rt_median_ms: tuple[float, float]
    always_left: bool = False


WORKER_TYPES: dict[str, WorkerType] = {
    "good": WorkerType((0.02, 0.12), (0.05, 0.25), (0.42, 0.58), (900, 2500)),
    "spammer": WorkerType((0.5, 0.5), (0.5, 0.5), (0.5, 0.5), (450, 900)),
    "always_left": WorkerType((0.5, 0.5), (1.0, 1.0), (1.0, 1.0), (300, 900), always_left=True),
    "too_fast": WorkerType((0.1, 0.3), (0.15, 0.35), (0.45, 0.55), (150, 300)),
}
BAD_TYPES = ("spammer", "always_left", "too_fast")
#: Above this, the planner says plainly that the settings cannot tell good from bad.
MAX_GOOD_EXCLUDED, MAX_BAD_PASSING = 0.05, 0.05


@dataclass(frozen=True)
class TypeOutcome:
    kind: str
    workers: int
    excluded: float  # blocked or unqualified
    blocked: float
    undecided: float
    median_stop: float | None  # answers taken before a block (blocked workers), else None

    @property
    def passing(self) -> float:
        return 1.0 - self.excluded


@dataclass(frozen=True)
class Plan:
    outcomes: dict[str, TypeOutcome]
    verdict: str  # one plain sentence
    can_tell: bool

    @property
    def good_excluded(self) -> float:
        return self.outcomes["good"].excluded

    def bad_passing(self, kind: str) -> float:
        return self.outcomes[kind].passing


def simulate_type(
    rules: screening.Rules,
    kind: str,
    n_workers: int,
    n_trials: int,
    min_distance: int,
    rng: np.random.Generator,
) -> TypeOutcome:
    t = WORKER_TYPES[kind]
    n_dup, n_sent = rules.n_duplicates, rules.n_sentinels
    spec = trial_lists.build_trial_list(n_trials - n_sent - n_dup, n_sent, n_dup, min_distance, rng)
    is_sentinel = np.broadcast_to(spec.kind == trial_lists.SENTINEL, (n_workers, n_trials))
    is_duplicate = np.broadcast_to(spec.kind == trial_lists.DUPLICATE, (n_workers, n_trials))
    draw = lambda bounds: rng.uniform(*bounds, size=(n_workers, 1))  # noqa: E731
    err, incons, left_rate, rt_median = (
        draw(b) for b in (t.sentinel_error, t.inconsistency, t.left_rate, t.rt_median_ms)
    )
    u = rng.random((n_workers, n_trials))
    better_left = rng.random((n_workers, n_trials)) < 0.5
    if t.always_left:
        chose_left = np.ones((n_workers, n_trials), dtype=bool)
        mistake = is_sentinel & ~better_left
        consistent = np.zeros((n_workers, n_trials), dtype=bool)
    else:
        mistake = is_sentinel & (u < err)
        consistent = is_duplicate & (u >= incons)
        chose_left = np.where(is_sentinel, better_left != mistake, u < left_rate)
    rt = rt_median * np.exp(RT_SIGMA * rng.standard_normal((n_workers, n_trials)))
    fast = rt < rules.too_fast_ms if rules.too_fast_ms else np.zeros_like(chose_left)
    counts = screening.Counts(
        sentinels=np.cumsum(is_sentinel, axis=1),
        mistakes=np.cumsum(mistake, axis=1),
        duplicates=np.cumsum(is_duplicate, axis=1),
        consistent=np.cumsum(consistent & is_duplicate, axis=1),
        answers=np.broadcast_to(np.arange(1, n_trials + 1), (n_workers, n_trials)),
        left=np.cumsum(chose_left, axis=1),
        fast=np.cumsum(fast, axis=1),
    )
    blocked_at = screening.block_mask(rules, counts)
    blocked = blocked_at.any(axis=1)
    stops = np.argmax(blocked_at, axis=1) + 1
    statuses, final = [], screening.take(counts, -1)
    for w in np.flatnonzero(~blocked):
        last = screening.take(final, w)
        statuses.append(screening.final_verdict(rules, last).status)
    statuses = np.array(statuses)
    unqualified = int((statuses == screening.UNQUALIFIED).sum())
    return TypeOutcome(
        kind=kind,
        workers=n_workers,
        excluded=(int(blocked.sum()) + unqualified) / n_workers,
        blocked=float(blocked.mean()),
        undecided=int((statuses == screening.UNDECIDED).sum()) / n_workers,
        median_stop=float(np.median(stops[blocked])) if blocked.any() else None,
    )


def plan_screening(
    rules: screening.Rules, n_trials: int, min_distance: int, n_workers: int = 400, seed: int = 0
) -> Plan:
    """Simulate ``n_workers`` of every type under the study's settings (seeded)."""
    if n_trials < rules.n_sentinels + rules.n_duplicates + 1:
        raise InfeasiblePlan("the list is shorter than its sentinels and duplicates")
    outcomes = {
        kind: simulate_type(rules, kind, n_workers, n_trials, min_distance, np.random.default_rng([seed, k]))
        for k, kind in enumerate(WORKER_TYPES)
    }
    problems = []
    if outcomes["good"].excluded > MAX_GOOD_EXCLUDED:
        problems.append(f"{outcomes['good'].excluded:.0%} of good workers would be wrongly excluded")
    for kind in BAD_TYPES:
        if outcomes[kind].passing > MAX_BAD_PASSING:
            problems.append(f"{outcomes[kind].passing:.0%} of {kind.replace('_', '-')} workers would pass")
    if problems:
        verdict = (
            "These settings cannot tell good from bad workers apart reliably: "
            + "; ".join(problems)
            + ". Add sentinels or duplicates, or a response-time rule, before paying anyone."
        )
    else:
        verdict = (
            f"These settings separate the simulated workers: {outcomes['good'].excluded:.1%} of good workers "
            f"excluded, at most {max(outcomes[k].passing for k in BAD_TYPES):.1%} of any bad type passing."
        )
    return Plan(outcomes, verdict, not problems)
