"""Gold pairs that do not come from the model under test, and their review.

Three sources (``GoldPair.Source``):

* **degradation gold**: a held-out sketch (not in the study's split, so never in its plan)
  against a heavily degraded copy of itself (``sketches.degradations``, severity 3). The
  copy is a derived sketch (``Sketch.derived_from``, split ``gold``), normalised and
  rendered exactly like any sketch. Its answer is known by construction, so it is
  accepted when made; the researcher may still reject it.
* **curated**: two sketches the researcher picked, better first; accepted.
* **model-suggested** (``automatic``): the largest model gaps on which every scorer agrees.
  They stay *candidates* until a person accepts, rejects or swaps them on the review page
  (``/admin/studies/study/<id>/gold/``). A live launch is refused while any remain.

Practice trials and the instructions' example come from a separate *practice* pool
(accepted, degradation or curated gold), made from other sketches than every sentinel,
so nothing a participant learns in practice identifies a sentinel (issue 18, finding 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sketches.actions import do_create_degraded_copies
from sketches.degradations import FAMILIES, Degradation
from sketches.models import Category, Sketch, Split
from studies.errors import StudyConfigError
from studies.models import GoldPair, Study, StudyState

HEAVY = 3
DEGRADATION_STREAM = 3
#: Splits a held-out source sketch may come from, in order of preference.
HELD_OUT_SPLITS = [Split.VAL, Split.TRAIN, Split.TEST]


@dataclass(frozen=True)
class DegradationGoldDraft:
    source_id: int
    degradation: Degradation
    use: str  # GoldPair.Use


def practice_needed(study: Study) -> int:
    """Practice trials plus the instructions' example, which must differ from the first one."""
    return study.practice_trials + 1 if study.practice_trials else 0


def plan_degradation_gold(
    study: Study, categories: list[Category]
) -> tuple[list[DegradationGoldDraft], list[str]]:
    """Which held-out sketches become degradation gold (reads only).

    Sentinels (``degradation_gold_pairs``) and the practice pool (practice + example,
    less the accepted curated practice gold) are spread over the categories, each from a
    distinct source sketch, so the practice pool shares no sketch with any sentinel.
    """
    n_sentinels = study.degradation_gold_pairs
    curated_practice = GoldPair.objects.filter(study=study, use=GoldPair.Use.PRACTICE).practice_pool().count()
    n_practice = max(0, practice_needed(study) - curated_practice)
    if not (n_sentinels + n_practice) or not categories:
        return [], []
    rng = np.random.default_rng([study.seed, DEGRADATION_STREAM])
    held_out = {}
    for category in categories:
        ids = []
        for split in HELD_OUT_SPLITS:
            if split == study.split:
                continue
            ids += list(
                Sketch.objects.originals()
                .filter(category=category, split=split)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        held_out[category.pk] = [ids[k] for k in rng.permutation(len(ids))]
    uses = [GoldPair.Use.PRACTICE] * n_practice + [GoldPair.Use.SENTINEL] * n_sentinels
    drafts, taken = [], {c.pk: 0 for c in categories}
    for k, use in enumerate(uses):
        category = categories[k % len(categories)]
        pool = held_out[category.pk]
        if taken[category.pk] >= len(pool):
            category = next((c for c in categories if taken[c.pk] < len(held_out[c.pk])), None)
            if category is None:
                short = len(uses) - len(drafts)
                return drafts, [
                    f"degradation gold: not enough held-out sketches (outside the {study.split} split) "
                    f"for {len(uses)} pairs (short by {short}); import more sketches or lower the "
                    "degradation gold pairs"
                ]
            pool = held_out[category.pk]
        source = pool[taken[category.pk]]
        taken[category.pk] += 1
        family = FAMILIES[k % len(FAMILIES)]
        drafts.append(DegradationGoldDraft(source, Degradation(family, HEAVY), use))
    return drafts, []


def store_degradation_gold(study: Study, drafts: list[DegradationGoldDraft]) -> list[GoldPair]:
    """Make the derived sketches and their gold pairs (inside the freeze's transaction)."""
    sources = Sketch.objects.in_bulk([d.source_id for d in drafts])
    copies = do_create_degraded_copies([(sources[d.source_id], d.degradation, study.seed) for d in drafts])
    now = timezone.now()
    return GoldPair.objects.bulk_create(
        [
            GoldPair(
                study=study,
                better_id=d.source_id,
                worse=copy,
                source=GoldPair.Source.DEGRADED,
                review=GoldPair.Review.ACCEPTED,
                reviewed_at=now,
                use=d.use,
                note=f"{copy.degradation} copy of sketch {d.source_id}",
            )
            for d, copy in zip(drafts, copies)
        ]
    )


def gold_problems(study: Study, live: bool) -> list[str]:
    """Enough gold in each pool, reviewed before a live launch, practice apart from sentinels."""
    problems = []
    gold = GoldPair.objects.filter(study=study)
    candidates = gold.filter(review=GoldPair.Review.CANDIDATE).count()
    if live and candidates:
        problems.append(
            f"{candidates} model-suggested gold pair(s) are not reviewed: accept, reject or swap them on the "
            "gold review page before launching live (a pilot may run with them)"
        )
    n_sentinel = gold.sentinel_pool(live=live).count()
    need = study.sentinels_per_participant
    if n_sentinel < need:
        problems.append(
            f"too few sentinel gold pairs: each participant needs {need}, the study has {n_sentinel} "
            f"{'accepted' if live else 'accepted or candidate'} (short by {need - n_sentinel}); add curated "
            "gold pairs, accept candidates or raise the degradation gold pairs"
        )
    n_practice, need_practice = gold.practice_pool().count(), practice_needed(study)
    if n_practice < need_practice:
        problems.append(
            f"too few accepted practice gold pairs: {study.practice_trials} practice trials and the "
            f"instructions' example need {need_practice}, the study has {n_practice} (short by "
            f"{need_practice - n_practice})"
        )
    shared = _practice_sketches_in_sentinels(study)
    if shared:
        problems.append(
            f"{len(shared)} sketch(es) of the practice pool also appear in sentinel gold pairs "
            f"(e.g. sketch {min(shared)}): practice would reveal those sentinels' answers"
        )
    return problems


def pilot_warnings(study: Study) -> list[str]:
    candidates = GoldPair.objects.filter(study=study, review=GoldPair.Review.CANDIDATE).count()
    if not candidates:
        return []
    return [
        f"this pilot uses {candidates} model-suggested gold pair(s) nobody has reviewed yet: their answers "
        "are the model's opinion; review them before launching live"
    ]


def _practice_sketches_in_sentinels(study: Study) -> set[int]:
    practice = GoldPair.objects.filter(study=study).practice_pool()
    sketches = set(practice.values_list("better_id", flat=True)) | set(
        practice.values_list("worse_id", flat=True)
    )
    if not sketches:
        return set()
    sentinels = GoldPair.objects.filter(study=study, use=GoldPair.Use.SENTINEL).exclude(
        review=GoldPair.Review.REJECTED
    )
    clash = sentinels.filter(Q(better_id__in=sketches) | Q(worse_id__in=sketches))
    return {s for pair in clash.values_list("better_id", "worse_id") for s in pair} & sketches


# -- review ------------------------------------------------------------------------

REVIEW_DECISIONS = ("accept", "reject", "swap")


def do_review_gold(study: Study, gold_id: int, decision: str, user=None) -> GoldPair:
    """Accept, reject or swap (accept with the answer reversed) one gold pair.

    Allowed while no participant can have drawn it as a sentinel under the old answer:
    in draft and pilot (a pilot's participants keep the pairs they drew). Bad input is
    refused with ``StudyConfigError`` and changes nothing.
    """
    if decision not in REVIEW_DECISIONS:
        raise StudyConfigError(f"unknown decision {decision!r}; choose accept, reject or swap")
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state not in (StudyState.DRAFT, StudyState.PILOT, StudyState.PAUSED):
            raise StudyConfigError(
                f"gold can be reviewed in draft or pilot only; {locked.slug!r} is {locked.state}"
            )
        gold = GoldPair.objects.select_for_update().filter(study=locked, pk=gold_id).first()
        if gold is None:
            raise StudyConfigError(f"gold pair {gold_id} is not part of study {locked.slug!r}")
        if decision == "swap":
            if GoldPair.objects.filter(
                study=locked, better_id=gold.worse_id, worse_id=gold.better_id
            ).exists():
                raise StudyConfigError(f"gold pair {gold_id}: the swapped pair already exists")
            gold.better_id, gold.worse_id = gold.worse_id, gold.better_id
        gold.review = GoldPair.Review.REJECTED if decision == "reject" else GoldPair.Review.ACCEPTED
        gold.reviewed_by = user if user is not None and user.is_authenticated else None
        gold.reviewed_at = timezone.now()
        gold.save(update_fields=["better", "worse", "review", "reviewed_by", "reviewed_at"])
    return gold


def do_accept_gold_seen(study: Study, gold_ids: list[int], user=None) -> int:
    """Bulk accept: only the candidates the reviewer had on screen (their ids come from the
    page), never the whole queue blind. Returns how many were accepted."""
    ids = sorted({int(pk) for pk in gold_ids})
    if not ids:
        raise StudyConfigError("no gold pairs were shown: look at the pairs before accepting them")
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state not in (StudyState.DRAFT, StudyState.PILOT, StudyState.PAUSED):
            raise StudyConfigError(
                f"gold can be reviewed in draft or pilot only; {locked.slug!r} is {locked.state}"
            )
        return GoldPair.objects.filter(study=locked, pk__in=ids, review=GoldPair.Review.CANDIDATE).update(
            review=GoldPair.Review.ACCEPTED,
            reviewed_by=user if user is not None and user.is_authenticated else None,
            reviewed_at=timezone.now(),
        )
