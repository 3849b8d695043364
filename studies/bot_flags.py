"""Flags for bots and model-driven participants (pure: numpy, no Django).

Sentinels and duplicates catch careless people; an agent passes both. These flags look at
how the answers were given instead. Each flag has a threshold (``DEFAULTS``) that a study can
change or turn off (``Study.bot_checks``; ``None`` = off), and each comes with a sentence a
researcher can read. A flag feeds the worker-QA page and the analysis exclusion; it never
rejects anyone on the panel.

=======================  ====================================================================
flag                     raised when
=======================  ====================================================================
``too_fast``             the median response time is below ``too_fast_median_ms``
``hidden_tab``           the tab was hidden during at least ``hidden_share`` of the trials
``no_input``             no key, pointer or touch event of the person's own came before at
                         least ``no_input_share`` of the answers (scripted clicks, or no JS)
``same_side``            one side was chosen in at least ``same_side_share`` of the answers
``periodic``             the answers repeat with a short period (1–4) in at least
                         ``periodic_share`` of the trials (L R L R …, L L R R …)
``shared_network``       more than ``max_per_network`` participants of the study share a
                         network prefix
``shared_device``        more than ``max_per_device`` participants share a device hash
``scorer_agreement``     at the hardest levels (the lowest ``hard_share`` of them, at least one),
                         agreement with the scorer is
                         beyond what the study's other participants reach: a one-sided
                         binomial test against their median agreement, p < ``scorer_alpha``
=======================  ====================================================================

Response times are the browser's measurement when it was sent, else the server's (first served
→ received), as everywhere in the analysis. Side, periodic and scorer tests
need ``min_answers`` decided answers (``min_hard`` at the hard levels) before they say
anything. The scorer-agreement test compares a participant with the *other* participants'
median, so a few agents cannot raise the bar for each other.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

DEFAULTS: dict[str, float | int] = {
    "too_fast_median_ms": 600,
    "hidden_share": 0.25,
    "no_input_share": 0.5,
    "same_side_share": 0.85,
    "periodic_share": 0.9,
    "max_per_network": 5,
    "max_per_device": 2,
    "scorer_alpha": 0.001,
}
#: Settings of the tests, not flags of their own (a null here is refused).
PARAMETERS: dict[str, float | int] = {"min_answers": 20, "min_hard": 10, "hard_share": 0.3}
FLAG_OF = {
    "too_fast_median_ms": "too_fast",
    "hidden_share": "hidden_tab",
    "no_input_share": "no_input",
    "same_side_share": "same_side",
    "periodic_share": "periodic",
    "max_per_network": "shared_network",
    "max_per_device": "shared_device",
    "scorer_alpha": "scorer_agreement",
}
SHARES = ("hidden_share", "no_input_share", "same_side_share", "periodic_share", "hard_share")
MAX_PERIOD = 4


def check_config(raw) -> list[str]:
    """What is wrong with a study's ``bot_checks`` (empty when it is fine)."""
    if not isinstance(raw, Mapping):
        return ["must be an object of threshold names to numbers (or null to turn a flag off)"]
    known = {**DEFAULTS, **PARAMETERS}
    problems = []
    for key, value in raw.items():
        if key not in known:
            problems.append(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
        elif value is None:
            if key in PARAMETERS:
                problems.append(f"{key} cannot be turned off (it is a setting of the tests)")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(f"{key} must be a number or null, not {value!r}")
        elif key in SHARES and not 0 < value <= 1:
            problems.append(f"{key} is a share: between 0 (exclusive) and 1")
        elif key == "scorer_alpha" and not 0 < value < 0.5:
            problems.append("scorer_alpha is a p-value threshold: between 0 and 0.5")
        elif value < 0 or (key in ("min_answers", "min_hard") and value < 1):
            problems.append(f"{key} must be positive")
    return problems


def hard_levels(n_levels: int, hard_share: float) -> int:
    """How many of the lowest-gap levels count as the hardest (at least one)."""
    return max(1, int(round(hard_share * n_levels)))


def settings_of(raw: Mapping | None) -> dict[str, float | int | None]:
    """The defaults with a study's overrides applied (``raw`` already checked)."""
    return {**DEFAULTS, **PARAMETERS, **dict(raw or {})}


@dataclass
class Behaviour:
    """One participant's main answers in order (arrays of equal length)."""

    participant_id: int
    response_ms: np.ndarray  # float, NaN where unknown
    hidden: np.ndarray  # bool: the tab was hidden during the trial
    no_input: np.ndarray  # bool: no own key, pointer or touch event before the answer
    side: (
        np.ndarray
    )  # int8: the answer's position (0 left / option 1 / yes, 1 right / option 2 / no, …); -1 none
    hard: np.ndarray  # bool: a pair at one of the hardest levels with unequal q
    agrees: np.ndarray  # bool: chose the sketch with the higher q
    network: str = ""
    device: str = ""
    labels: tuple[str, ...] = ("left sketch", "right sketch")  # what each position is called


@dataclass(frozen=True)
class Flag:
    code: str
    reason: str


@dataclass
class StudyFlags:
    by_participant: dict[int, list[Flag]] = field(default_factory=dict)
    hard_baseline: float | None = None  # the median hard-level agreement of everyone

    def of(self, participant_id: int) -> list[Flag]:
        return self.by_participant.get(participant_id, [])


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_terms = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
        for i in range(k, n + 1)
    ]
    top = max(log_terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in log_terms))


def longest_period_share(side: np.ndarray) -> tuple[int, float]:
    """(period, share): the period 1–4 whose answers most often repeat the answer one period
    back, and that share. Only decided answers count."""
    decided = side[side >= 0]
    best = (0, 0.0)
    for period in range(1, MAX_PERIOD + 1):
        if decided.size <= period:
            break
        share = float(np.mean(decided[period:] == decided[:-period]))
        if share > best[1]:
            best = (period, share)
    return best


def _hard_rate(b: Behaviour) -> tuple[int, int]:
    sel = b.hard & (b.side >= 0)
    return int(b.agrees[sel].sum()), int(sel.sum())


def _own_flags(b: Behaviour, s: Mapping[str, float | int | None]) -> list[Flag]:
    flags = []
    n = int(b.side.size)
    decided = b.side[b.side >= 0]
    limit = s["too_fast_median_ms"]
    times = b.response_ms[np.isfinite(b.response_ms)]
    if limit is not None and times.size:
        median = float(np.median(times))
        if median < limit:
            flags.append(Flag("too_fast", f"median response {median:.0f} ms, below {limit:.0f} ms"))
    for key, mask, what in (
        ("hidden_share", b.hidden, "the tab was hidden during"),
        ("no_input_share", b.no_input, "no key, pointer or touch event came before"),
    ):
        limit = s[key]
        if limit is not None and n:
            share = float(np.mean(mask))
            if share >= limit:
                flags.append(
                    Flag(FLAG_OF[key], f"{what} {100 * share:.0f}% of the trials ({int(mask.sum())} of {n})")
                )
    enough = decided.size >= int(s["min_answers"] or 0)
    limit = s["same_side_share"]
    if limit is not None and enough and decided.size:
        counts = np.bincount(decided, minlength=len(b.labels))
        top = int(counts.argmax())
        share = float(counts[top] / decided.size)
        name = b.labels[top] if top < len(b.labels) else f"option {top + 1}"
        if share >= limit:
            flags.append(
                Flag("same_side", f"chose the {name} in {100 * share:.0f}% of {decided.size} answers")
            )
    limit = s["periodic_share"]
    if limit is not None and enough and not any(f.code == "same_side" for f in flags):
        period, share = longest_period_share(b.side)
        if period and share >= limit:
            flags.append(
                Flag(
                    "periodic",
                    f"answers repeat every {period} trial(s) in {100 * share:.0f}% of {decided.size}",
                )
            )
    return flags


def _shared_flags(group: Sequence[Behaviour], s: Mapping[str, float | int | None]) -> dict[int, list[Flag]]:
    out: dict[int, list[Flag]] = {}
    for key, attr, what in (
        ("max_per_network", "network", "network prefix"),
        ("max_per_device", "device", "device fingerprint"),
    ):
        limit = s[key]
        if limit is None:
            continue
        counts = Counter(getattr(b, attr) for b in group if getattr(b, attr))
        for b in group:
            shared = counts.get(getattr(b, attr), 0) if getattr(b, attr) else 0
            if shared > limit:
                out.setdefault(b.participant_id, []).append(
                    Flag(
                        FLAG_OF[key],
                        f"{shared} participants of this study share one {what} (more than {limit:g})",
                    )
                )
    return out


def _scorer_flags(
    group: Sequence[Behaviour], s: Mapping[str, float | int | None]
) -> tuple[dict[int, list[Flag]], float | None]:
    alpha = s["scorer_alpha"]
    min_hard = int(s["min_hard"] or 1)
    rates = {b.participant_id: _hard_rate(b) for b in group}
    usable = {pid: k / n for pid, (k, n) in rates.items() if n >= min_hard}
    baseline = float(np.median(list(usable.values()))) if usable else None
    out: dict[int, list[Flag]] = {}
    if alpha is None or len(usable) < 3:
        return out, baseline  # too few people to know what humans reach
    for pid, (k, n) in rates.items():
        if n < min_hard:
            continue
        others = [rate for other, rate in usable.items() if other != pid]
        reference = float(np.median(others))
        p_value = binomial_tail(k, n, min(max(reference, 0.5), 0.999))
        if p_value < alpha:
            out[pid] = [
                Flag(
                    "scorer_agreement",
                    f"agreed with the scorer on {k} of {n} pairs at the hardest levels ({100 * k / n:.0f}%), "
                    f"where the other participants' median is {100 * reference:.0f}% (p = {p_value:.1g})",
                )
            ]
    return out, baseline


def flag_study(group: Sequence[Behaviour], raw_settings: Mapping | None = None) -> StudyFlags:
    """Every flag of every participant of one study."""
    s = settings_of(raw_settings)
    result = StudyFlags()
    shared = _shared_flags(group, s)
    scorer, result.hard_baseline = _scorer_flags(group, s)
    for b in group:
        flags = _own_flags(b, s) + shared.get(b.participant_id, []) + scorer.get(b.participant_id, [])
        if flags:
            result.by_participant[b.participant_id] = flags
    return result
