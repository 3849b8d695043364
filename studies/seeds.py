"""The seed registry: every random stream drawn from a study's seed, named by purpose.

Pure (numpy only). Each draw asks for ``rng(scheme, purpose, seed, *index)``; nothing
else in SketchQ builds a ``SeedSequence`` from a study's seed.

Scheme 2 (``TAGGED``, every plan frozen from now on) keys a stream with the words

    [seed_lo, seed_hi, TAG, index_0_lo, index_0_hi, index_1_lo, ...]

(64-bit integers split into two uint32 words). The seed fills slots 0-1 whatever its
size, the purpose's tag always sits in slot 2, and each purpose has a fixed number of
indices, so two different (purpose, seed, index) triples never give the same key, not
even after numpy's zero padding of short entropy (``SeedSequence([5])`` and
``SeedSequence([5, 0])`` are the same stream).

Scheme 1 (``LEGACY``) is the bare lists SketchQ used before: ``[seed, participant]``
for a trial list, ``[seed, 1]`` for the hand-out order, ``[seed, 101]`` for the report's
agreement bootstrap... They collide (participant 1's trial list and the hand-out order
share ``[seed, 1]``), but a study whose plan was frozen under them keeps them, so that
it re-draws bit for bit. The plan summary records the scheme (``seed_scheme``); a
frozen summary without it is scheme 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEGACY = 1
TAGGED = 2
CURRENT = TAGGED
SCHEMES = (LEGACY, TAGGED)

_WORD = 2**32
_LIMIT = 2**64


@dataclass(frozen=True)
class Purpose:
    tag: int  # slot 2 of a scheme-2 key; distinct and non-zero
    indices: tuple[str, ...]  # what the indices after the seed are, in order
    legacy: str  # the scheme-1 key, a format over seed and the indices
    about: str


#: Every stream SketchQ draws. Tags are fixed forever: never renumber one, add new ones.
PURPOSES: dict[str, Purpose] = {
    "plan_cell": Purpose(
        0x504C_4E01, ("category_id", "scorer_id"), "{seed},0,{0},{1}", "the pairs of one plan cell"
    ),
    "handout_order": Purpose(0x4F52_4401, (), "{seed},1", "the order the planned pairs are handed out in"),
    "auto_gold": Purpose(0x474C_4401, ("category_id",), "{seed},2,{0}", "automatic gold pairs of a category"),
    "trial_list": Purpose(
        0x5452_4C01, ("participant_index",), "{seed},{0}", "a participant's trial list, sides, pair order"
    ),
    "participant_gold": Purpose(
        0x5047_4C01, ("participant_index",), "{seed},{0},1", "which gold pairs are a participant's sentinels"
    ),
    "practice_sides": Purpose(
        0x5052_4301,
        ("participant_index",),
        "{seed},{0},1,1",
        "the order and sides of a participant's practice trials (practice pool)",
    ),
    "trial_options": Purpose(
        0x544F_5001,
        ("participant_index",),
        "{seed},{0},2",
        "best of K and single trials: the order of a trial's sketches, sentinel fillers and sides",
    ),
    "report_agreement": Purpose(0x5241_4701, (), "{seed},101", "the report's agreement bootstrap"),
    "report_ranking": Purpose(
        0x5252_4B01, ("category_id",), "{seed},102,{0}", "the report's Bradley-Terry bootstrap of a category"
    ),
    "report_curves": Purpose(0x5243_5601, (), "{seed},103", "the report's psychometric-curve bootstrap"),
    "adaptive_slots": Purpose(
        0x4144_5001,
        ("participant_index",),
        "{seed},{0},2",
        "adaptive studies: which of a participant's regular slots are control (random) slots",
    ),
    "report_choices": Purpose(
        0x5243_4801, (), "{seed},104", "the report's best-of-K and single-sketch bootstraps"
    ),
    "crowd_latent": Purpose(0x434C_5401, (), "{seed},0", "simulated crowd: latent quality of the sketches"),
    "crowd_arrivals": Purpose(0x4341_5201, (), "{seed},1", "simulated crowd: the order profiles arrive in"),
    "crowd_worker": Purpose(
        0x4357_4B01, ("number",), "{seed},2,{0}", "simulated crowd: one worker's answers"
    ),
}


def key(scheme: int, purpose: str, seed: int, *index: int) -> list[int]:
    """The entropy of one stream (what ``SeedSequence`` gets), as a list of ints."""
    spec = PURPOSES.get(purpose)
    if spec is None:
        raise ValueError(f"unknown seed purpose {purpose!r} (known: {', '.join(sorted(PURPOSES))})")
    if len(index) != len(spec.indices):
        raise ValueError(
            f"{purpose} takes {len(spec.indices)} indices ({', '.join(spec.indices)}), got {len(index)}"
        )
    values = (seed, *index)
    if any(not 0 <= int(v) < _LIMIT for v in values):
        raise ValueError(f"seed and indices must be integers in [0, 2**64), got {values}")
    if scheme == LEGACY:
        return [int(word) for word in spec.legacy.format(*index, seed=seed).split(",")]
    if scheme == TAGGED:
        words = [*_split(seed), spec.tag]
        for value in index:
            words += _split(value)
        return words
    raise ValueError(f"unknown seed scheme {scheme!r} (known: {SCHEMES})")


def rng(scheme: int, purpose: str, seed: int, *index: int) -> np.random.Generator:
    """The generator for one purpose: the same arguments always give the same stream."""
    return np.random.default_rng(key(scheme, purpose, seed, *index))


def scheme_of(plan_summary: dict | None, frozen: bool) -> int:
    """The scheme a study draws with: the current one until its plan is frozen, then the
    one its frozen summary records (scheme 1 if it records none)."""
    if not frozen:
        return CURRENT
    return int((plan_summary or {}).get("seed_scheme", LEGACY))


def _split(value: int) -> tuple[int, int]:
    value = int(value)
    return value % _WORD, value // _WORD
