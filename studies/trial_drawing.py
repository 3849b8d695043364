"""Drawing a participant's trial list and practice trials from the frozen plan.

* ``do_draw_trial_list(study, i)`` hands out planned pairs to participant ``i`` and lays
  out their list; call it inside the caller's ``transaction.atomic()`` that also stores
  the trials, so a failure gives the pairs back.
* ``draw_practice_trials(study, i)`` reads only: practice pairs with a known answer.
* Giving an abandoned participant's pairs back is ``studies.handout.do_release_planned_pairs``.
"""

from __future__ import annotations

from dataclasses import dataclass

from studies import checks, trial_lists
from studies.adaptive_handout import do_claim_adaptive_pairs
from studies.errors import StudyConfigError
from studies.handout import do_claim_planned_pairs
from studies.models import Allocation, GoldPair, PlannedPair, SamplingMode, Study, StudyState, TrialType
from studies.sampling import InfeasiblePlan

KIND_NAMES = {
    trial_lists.REGULAR: "regular",
    trial_lists.SENTINEL: "sentinel",
    trial_lists.DUPLICATE: "duplicate",
}


@dataclass(frozen=True)
class TrialDraft:
    position: int  # 0-based position in the participant's list (practice excluded)
    kind: str  # "regular" | "sentinel" | "duplicate"
    left_sketch_id: int
    right_sketch_id: int
    planned_pair_id: int | None  # regular and duplicate trials
    gold_pair_id: int | None  # sentinels
    duplicate_of_position: int | None  # duplicates: the position of the trial it repeats
    # best of K: options 3 and 4 (``right_sketch_id`` is None for a single trial)
    third_sketch_id: int | None = None
    fourth_sketch_id: int | None = None


@dataclass(frozen=True)
class PracticeDraft:
    left_sketch_id: int
    right_sketch_id: int | None
    better_sketch_id: int  # known answer, for feedback (single: "yes" iff it is the one shown)
    third_sketch_id: int | None = None
    fourth_sketch_id: int | None = None


def do_draw_trial_list(study: Study, participant_index: int) -> list[TrialDraft]:
    """Participant ``participant_index``'s full trial list; hands out planned pairs.

    Must run inside the caller's transaction. The skeleton (positions, kinds, sides)
    and the choice of sentinels come from the study's seed streams for
    ``participant_index`` (``studies.seeds``); which
    planned pairs fill the regular slots depends on what was handed out before (the
    least handed-out pairs first), shuffled with the participant's generator.
    Raises ``StudyConfigError`` if the study cannot give out a list.
    """
    _check_can_draw(study, participant_index)
    rng = trial_lists.trial_list_rng(study.seed, participant_index, study.seed_scheme)
    try:
        spec = trial_lists.build_trial_list(
            study.regular_trials_per_participant,
            study.sentinels_per_participant,
            study.duplicates_per_participant,
            study.min_duplicate_distance,
            rng,
        )
    except InfeasiblePlan as error:
        raise StudyConfigError([str(error)]) from None
    if study.trial_type != TrialType.PAIR:  # best of K and single: studies.set_trials (never adaptive)
        from studies.set_trials import draw_set_list

        claimed = do_claim_planned_pairs(study.pk, study.regular_trials_per_participant)
        PlannedPair.objects.filter(pk__in=claimed, allocation=Allocation.UNASSIGNED).update(
            allocation=Allocation.CONTROL
        )
        regular_ids = [claimed[k] for k in rng.permutation(len(claimed))]
        return draw_set_list(
            study, participant_index, spec, regular_ids, _sentinels_for(study, participant_index)
        )
    if study.sampling_mode == SamplingMode.ADAPTIVE:
        claimed = do_claim_adaptive_pairs(study, participant_index, study.regular_trials_per_participant)
    else:
        claimed = do_claim_planned_pairs(study.pk, study.regular_trials_per_participant)
        PlannedPair.objects.filter(pk__in=claimed, allocation=Allocation.UNASSIGNED).update(
            allocation=Allocation.CONTROL
        )
    regular_ids = [claimed[k] for k in rng.permutation(len(claimed))]
    sketches = dict(
        (pk, (a, b))
        for pk, a, b in PlannedPair.objects.filter(pk__in=claimed).values_list(
            "pk", "sketch_a_id", "sketch_b_id"
        )
    )
    sentinels = _sentinels_for(study, participant_index)

    drafts: list[TrialDraft] = []
    for position, (kind, slot, swap) in enumerate(zip(spec.kind, spec.slot, spec.swap)):
        planned_id = gold_id = original = None
        if kind == trial_lists.SENTINEL:
            gold = sentinels[slot]
            gold_id, first, second = gold.pk, gold.better_id, gold.worse_id
        else:
            if kind == trial_lists.DUPLICATE:
                original = int(slot)
                planned_id = drafts[original].planned_pair_id
            else:
                planned_id = regular_ids[slot]
            first, second = sketches[planned_id]
        left, right = (second, first) if swap else (first, second)
        drafts.append(
            TrialDraft(
                position=position,
                kind=KIND_NAMES[int(kind)],
                left_sketch_id=left,
                right_sketch_id=right,
                planned_pair_id=planned_id,
                gold_pair_id=gold_id,
                duplicate_of_position=original,
            )
        )
    return drafts


def draw_practice_trials(study: Study, participant_index: int, example: bool = False) -> list[PracticeDraft]:
    """The participant's practice pairs, from the accepted practice pool only.

    The practice pool is disjoint from every participant's sentinels (``studies.gold``),
    so practice feedback reveals no sentinel. With ``example=True`` one more pair follows
    the practice trials: the instructions' example, never the same as the first practice
    trial. Reads only; the same (seed, participant_index) always gives the same list.
    """
    if participant_index < 0:
        raise StudyConfigError([f"participant_index must be non-negative, got {participant_index}"])
    pool = list(GoldPair.objects.filter(study=study).practice_pool().order_by("pk"))
    rng = study.rng("practice_sides", participant_index)
    picks = [pool[k] for k in rng.permutation(len(pool))]
    chosen = picks[: study.practice_trials]
    if example and len(picks) > 1:
        chosen.append(picks[study.practice_trials] if len(picks) > study.practice_trials else picks[-1])
    if study.trial_type != TrialType.PAIR:
        from studies.set_trials import draw_practice_sets

        return draw_practice_sets(study, participant_index, chosen, pool)
    return [
        PracticeDraft(
            left_sketch_id=g.worse_id if swap else g.better_id,
            right_sketch_id=g.better_id if swap else g.worse_id,
            better_sketch_id=g.better_id,
        )
        for g, swap in zip(chosen, rng.random(len(chosen)) < 0.5)
    ]


def _check_can_draw(study: Study, participant_index: int) -> None:
    problems = []
    if participant_index < 0:
        problems.append(f"participant_index must be non-negative, got {participant_index}")
    if study.plan_frozen_at is None:
        problems.append("the pair plan is not frozen yet (freeze it before launching)")
    else:
        problems += checks.plan_size_problems(study)
    needed = study.sentinels_per_participant
    n_gold = GoldPair.objects.filter(study=study).sentinel_pool(live=study.state == StudyState.LIVE).count()
    if n_gold < needed:
        problems.append(
            f"needs {needed} gold pairs for the sentinels, the study has {n_gold} (short by {needed - n_gold})"
        )
    if problems:
        raise StudyConfigError(problems)


def _sentinels_for(study: Study, participant_index: int) -> list[GoldPair]:
    """A participant's sentinel gold pairs, drawn from their seed out of the sentinel pool
    (accepted gold; in a pilot also unreviewed candidates). Never practice gold."""
    live = study.state == StudyState.LIVE
    gold = list(GoldPair.objects.filter(study=study).sentinel_pool(live=live).order_by("pk"))
    n_sentinels = study.sentinels_per_participant
    if len(gold) < n_sentinels:
        raise StudyConfigError(
            [
                f"needs {n_sentinels} gold pairs for the sentinels, the study has {len(gold)} "
                f"(short by {n_sentinels - len(gold)})"
            ]
        )
    picks = study.rng("participant_gold", participant_index).permutation(len(gold))
    return [gold[k] for k in picks[:n_sentinels]]
