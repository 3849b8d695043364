"""Handing out the pairs of an adaptive study (``sampling_mode = adaptive``).

Each regular slot is ``random_start``, ``control`` or ``adaptive``
(``studies.adaptive.slot_allocations``, seeded per participant: purpose
``adaptive_slots``). Random slots are claimed like any study's (``do_claim_planned_pairs``:
least handed-out first, in the plan's seeded order). Adaptive slots rank the still
least-handed-out candidates of the frozen plan by expected information
(``studies.adaptive``) and claim them in that order (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED with
``times_assigned = k`` re-checked, then one UPDATE; SQLite: the conditional UPDATE), and the study row is locked for the whole hand-out, so two participants never get the
same pair while unclaimed pairs are left.

The scores come from the study's first ``floor(N / refit_every) * refit_every``
regular answers (in the order they were stored), so the same answers in the same order
give the same choices, and the fit is cached per (study, answers used): it is refitted
every ``refit_every`` answers, not per request. Each pair's ``allocation`` is set the
first time it is handed out.
"""

from __future__ import annotations

import numpy as np
from django.db import connection
from django.db.models import F, Min

from studies import adaptive
from studies.handout import _conditional_increment, do_claim_planned_pairs
from studies.models import AdaptiveTarget, Allocation, PlannedPair, Study

_CACHE: dict[tuple[int, int], tuple] = {}
_CACHE_SIZE = 32


def do_claim_adaptive_pairs(study: Study, participant_index: int, n: int) -> list[int]:
    """Ids of ``n`` distinct planned pairs for participant ``participant_index``; counts go up by 1.

    Locks the study row first (as ``annotation.admission.do_accept_consent`` already does):
    adaptive choices depend on what everyone was handed, so one study's adaptive hand-outs
    run one after another, each seeing the last one's claims.
    """
    Study.objects.select_for_update().only("pk").get(pk=study.pk)
    n_answers = _answered_pairs(study).count()
    n_budget = expected_answers(study)
    rng = study.rng("adaptive_slots", participant_index)
    kinds = adaptive.slot_allocations(
        n_answers, n_budget, study.adaptive_random_start, study.adaptive_control_share, n, rng
    )
    n_adaptive = kinds.count(adaptive.ADAPTIVE)
    chosen = _claim_ranked(study, n_answers, n_adaptive) if n_adaptive else []
    _mark(chosen, Allocation.ADAPTIVE)
    rest = do_claim_planned_pairs(study.pk, n - len(chosen), exclude=chosen) if n > len(chosen) else []
    random_kind = Allocation.RANDOM_START if adaptive.RANDOM_START in kinds else Allocation.CONTROL
    _mark(rest, random_kind)
    return chosen + rest


def expected_answers(study: Study) -> int:
    """The regular answers the study expects: target participants × regular trials, at most the plan.

    The random start is a share of these, not of the plan: an adaptive study's plan is the
    universe it chooses from and should be larger than what it collects (a plan no larger
    than the answers leaves the last participants no choice).
    """
    n_plan = PlannedPair.objects.filter(study=study).count()
    return min(n_plan, study.target_participants * study.regular_trials_per_participant)


def _mark(ids: list[int], allocation: str) -> None:
    if ids:
        PlannedPair.objects.filter(pk__in=ids, allocation=Allocation.UNASSIGNED).update(allocation=allocation)


def _answered_pairs(study: Study):
    from annotation.models import Answer  # annotation depends on studies, not the reverse at import

    return Answer.objects.filter(
        trial__participant__study=study, trial__kind="regular", trial__is_practice=False
    ).exclude(choice="none")


def _claim_ranked(study: Study, n_answers: int, need: int) -> list[int]:
    pairs = PlannedPair.objects.filter(study=study)
    level = pairs.aggregate(low=Min("times_assigned"))["low"]
    if level is None:
        return []
    rows = list(
        pairs.filter(times_assigned=level)
        .order_by("order")
        .values_list("pk", "category_id", "scorer_id", "level", "sketch_a_id", "sketch_b_id")
    )
    if not rows:
        return []
    used = (n_answers // study.adaptive_refit_every) * study.adaptive_refit_every
    ranked = _rank(study, used, rows, need)
    won: list[int] = []
    start = 0
    while len(won) < need and start < len(ranked):
        batch = ranked[start : start + need - len(won)]
        start += len(batch)
        won += _claim_batch(pairs, batch, level)
    return won


def _claim_batch(pairs, batch: list[int], level: int) -> list[int]:
    """The ids of ``batch`` still at ``level`` that this transaction wins, in ``batch`` order.

    PostgreSQL: lock them with SKIP LOCKED first (never waiting, so two participants
    locking in different orders cannot deadlock), then add 1. Others: the conditional
    UPDATE of ``studies.handout`` (SQLite serialises writers).
    """
    if not connection.features.has_select_for_update_skip_locked:
        return _conditional_increment(pairs, batch, level)
    locked = set(
        pairs.filter(pk__in=batch, times_assigned=level)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    got = [pk for pk in batch if pk in locked]
    pairs.filter(pk__in=got).update(times_assigned=F("times_assigned") + 1)
    return got


def _rank(study: Study, used: int, rows: list[tuple], need: int) -> list[int]:
    """Candidate ids, best first: the greedy picks, then the rest in plan order."""
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    fit = _fit(study, used)
    if study.adaptive_target == AdaptiveTarget.AGREEMENT:
        order = _agreement_order(study, fit, rows, need)
    else:
        index, theta, var = fit
        a = np.array([index[r[4]] for r in rows], dtype=np.int64)
        b = np.array([index[r[5]] for r in rows], dtype=np.int64)
        group = np.array([r[1] for r in rows], dtype=np.int64)
        # ask for more than needed, so that pairs lost to a concurrent participant have stand-ins
        order = adaptive.greedy_ranking_picks(
            theta, var, a, b, group, min(len(rows), 2 * need), study.adaptive_target_width
        )
    return [int(ids[i]) for i in order]


def _agreement_order(study: Study, fit, rows, need: int) -> list[int]:
    n_cell, k_cell = fit
    cells = sorted({(r[2], r[3]) for r in rows})
    n = np.array([n_cell.get(c, 0) for c in cells])
    k = np.array([k_cell.get(c, 0) for c in cells])
    members: dict[tuple, list[int]] = {c: [] for c in cells}
    for i, r in enumerate(rows):
        members[(r[2], r[3])].append(i)
    cap = np.array([len(members[c]) for c in cells])
    counts = adaptive.greedy_cell_counts(n, k, cap, min(len(rows), 2 * need), study.adaptive_target_width)
    order: list[int] = []
    for c, count in zip(cells, counts):
        order += members[c][: int(count)]
    return sorted(order)


def _fit(study: Study, used: int):
    key = (study.pk, used)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _compute_fit(study, used)
    return _CACHE[key]


def _compute_fit(study: Study, used: int):
    answers = list(
        _answered_pairs(study)
        .order_by("pk")
        .values_list(
            "chosen_sketch_id",
            "trial__planned_pair__sketch_a_id",
            "trial__planned_pair__sketch_b_id",
            "trial__planned_pair__q_a",
            "trial__planned_pair__q_b",
            "trial__planned_pair__scorer_id",
            "trial__planned_pair__level",
        )[:used]
    )
    if study.adaptive_target == AdaptiveTarget.AGREEMENT:
        n_cell: dict[tuple, int] = {}
        k_cell: dict[tuple, int] = {}
        for chosen, sa, _sb, qa, qb, scorer, level in answers:
            cell = (scorer, level)
            n_cell[cell] = n_cell.get(cell, 0) + 1
            k_cell[cell] = k_cell.get(cell, 0) + int((chosen == sa) == (qa >= qb))
        return n_cell, k_cell
    sketch_ids = sorted(
        set(PlannedPair.objects.filter(study=study).values_list("sketch_a_id", flat=True))
        | set(PlannedPair.objects.filter(study=study).values_list("sketch_b_id", flat=True))
    )
    index = {pk: i for i, pk in enumerate(sketch_ids)}
    winners = [index[c] for c, sa, sb, *_ in answers]
    losers = [index[sb if c == sa else sa] for c, sa, sb, *_ in answers]
    theta, var = adaptive.fit_strengths(len(sketch_ids), winners, losers)
    return index, theta, var
