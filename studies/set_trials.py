"""Trial lists of best-of-K and single-sketch studies, from the same skeleton as pairs.

``studies.trial_drawing`` lays out the list (``trial_lists.build_trial_list``: where the
regular trials, sentinels and duplicates go) and claims the planned trials; this module
fills the positions for the other trial types. Its own stream (``trial_options`` of
``studies.seeds``) draws the order of each trial's sketches, so a pair study's draws are
untouched.

* Best of K, regular: the plan's K sketches in a random order (options 1..K are left,
  right, third, fourth).
* Best of K, duplicate: the same K sketches, every one moved to another position (the
  original order rolled by 1..K−1), so a worker who answers by position disagrees.
* Best of K, sentinel: the gold pair's better and worse sketch plus K − 2 fillers, the
  worse sketches of other gold pairs of the pool (same category first): the known best
  is the gold pair's better sketch (intact or clearly top-scored) against sketches that
  each lost a clear comparison.
* Single: the planned sketch. A sentinel shows the gold pair's better or worse sketch (a
  fair coin): the known answer is "yes" for the better, "no" for the worse. A duplicate
  shows the same sketch again.

Practice follows the same rules from the practice pool only.
"""

from __future__ import annotations

import numpy as np

from studies import trial_lists
from studies.errors import StudyConfigError
from studies.models import GoldPair, PlannedPair, Study, StudyState, TrialType
from studies.trial_drawing import KIND_NAMES, PracticeDraft, TrialDraft


def _options(ids: list[int | None]) -> dict:
    padded = list(ids) + [None] * (4 - len(ids))
    return {
        "left_sketch_id": padded[0],
        "right_sketch_id": padded[1],
        "third_sketch_id": padded[2],
        "fourth_sketch_id": padded[3],
    }


def _fillers(gold: GoldPair, pool: list[GoldPair], n: int, rng: np.random.Generator) -> list[int]:
    """``n`` worse sketches of other gold pairs, of the same category when there are enough."""
    taken = {gold.better_id, gold.worse_id}
    same = sorted(
        {
            g.worse_id
            for g in pool
            if g.worse_id not in taken and g.better.category_id == gold.better.category_id
        }
    )
    other = sorted({g.worse_id for g in pool if g.worse_id not in taken} - set(same))
    picks = [same[k] for k in rng.permutation(len(same))] + [other[k] for k in rng.permutation(len(other))]
    if len(picks) < n:
        raise StudyConfigError(
            [
                f"a best-of-K sentinel needs {n} filler sketches from other gold pairs, the pool has {len(picks)}"
            ]
        )
    return picks[:n]


def draw_set_list(
    study: Study,
    participant_index: int,
    spec: trial_lists.TrialListSpec,
    regular_ids: list[int],
    sentinels: list[GoldPair],
) -> list[TrialDraft]:
    rng = study.rng("trial_options", participant_index)
    k = study.sketches_per_trial
    members = {
        pk: [x for x in row if x is not None][:k]
        for pk, *row in PlannedPair.objects.filter(pk__in=regular_ids).values_list(
            "pk", "sketch_a_id", "sketch_b_id", "sketch_c_id", "sketch_d_id"
        )
    }
    pool: list[GoldPair] = []
    if k > 2:  # fillers come from the same sentinel pool as the sentinels themselves
        live = study.state == StudyState.LIVE
        pool = list(
            GoldPair.objects.filter(study=study)
            .sentinel_pool(live=live)
            .select_related("better")
            .order_by("pk")
        )
    by_pk = {g.pk: g for g in pool}
    orders: dict[int, list[int]] = {}
    drafts: list[TrialDraft] = []
    for position, (kind, slot) in enumerate(zip(spec.kind, spec.slot)):
        planned_id = gold_id = original = None
        if kind == trial_lists.SENTINEL:
            gold = sentinels[slot]
            gold_id = gold.pk
            if study.trial_type == TrialType.SINGLE:
                shown = [single_shown(gold, rng)]
            else:
                found = by_pk.get(gold.pk, gold)
                shown = [gold.better_id, gold.worse_id] + _fillers(found, pool, k - 2, rng)
                shown = [shown[j] for j in rng.permutation(len(shown))]
        elif kind == trial_lists.DUPLICATE:
            original = int(slot)
            planned_id = drafts[original].planned_pair_id
            first = orders[original]
            shift = int(rng.integers(1, len(first))) if len(first) > 1 else 0
            shown = first[shift:] + first[:shift]
        else:
            planned_id = regular_ids[slot]
            sketches = members[planned_id]
            shown = [sketches[j] for j in rng.permutation(len(sketches))]
        orders[position] = shown
        drafts.append(
            TrialDraft(
                position=position,
                kind=KIND_NAMES[int(kind)],
                planned_pair_id=planned_id,
                gold_pair_id=gold_id,
                duplicate_of_position=original,
                **_options(shown),
            )
        )
    return drafts


def single_shown(gold: GoldPair, rng: np.random.Generator) -> int:
    """The one sketch a single-sketch sentinel or practice trial shows, and so its known answer.

    A gold pair says which sketch is better, not that the better one is a good drawing. A
    degradation-gold pair's ruined copy is a certain "no", its source is not a certain "yes" (a
    poor original stays poor), so only the copy is shown. Other gold pairs (curated, or reviewed
    model suggestions) show the better ("yes") or the worse ("no") sketch at random.
    """
    coin = rng.random() < 0.5  # drawn in every case, so the list's later draws do not move
    if gold.source == GoldPair.Source.DEGRADED:
        return gold.worse_id
    return gold.better_id if coin else gold.worse_id


def draw_practice_sets(
    study: Study, participant_index: int, chosen: list[GoldPair], pool: list[GoldPair]
) -> list[PracticeDraft]:
    """Practice (and the example) for best of K and single, from the practice pool only."""
    rng = study.rng("trial_options", participant_index)
    rng = np.random.default_rng(rng.integers(2**63))  # apart from the list's draws
    k = study.sketches_per_trial
    pool = list(GoldPair.objects.filter(pk__in=[g.pk for g in pool]).select_related("better").order_by("pk"))
    by_pk = {g.pk: g for g in pool}
    drafts = []
    for gold in chosen:
        if study.trial_type == TrialType.SINGLE:
            shown = [single_shown(gold, rng)]
        else:
            try:
                fillers = _fillers(by_pk[gold.pk], pool, k - 2, rng)
            except StudyConfigError:
                fillers = []  # a small practice pool: fewer sketches in practice
            shown = [gold.better_id, gold.worse_id] + fillers
            shown = [shown[j] for j in rng.permutation(len(shown))]
        drafts.append(PracticeDraft(better_sketch_id=gold.better_id, **_options(shown)))
    return drafts
