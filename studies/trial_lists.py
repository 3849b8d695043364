"""Per-participant trial-list skeletons: where regular, sentinel and duplicate trials go.

Pure numpy, no Django. A skeleton does not know pair ids; the caller maps
``slot`` onto the participant's own regular and sentinel pairs. Practice trials are
separate and not part of the skeleton.

Placement, all drawn from the ``Generator`` passed in (see ``trial_list_rng``):

1. Sentinels: the N positions are cut into ``n_sentinels`` equal strata and one
   sentinel goes to a random position in each, so two consecutive sentinels are never
   more than ``2 N / n_sentinels`` positions apart.
2. Duplicates: the remaining (non-sentinel) trials, numbered 0..M-1, are cut from
   ``min_distance`` on into ``n_duplicates`` equal strata, one duplicate in each.
3. Originals: for each duplicate, in order, a random still-unused regular trial at
   least ``min_distance`` non-sentinel trials earlier (hence at least as many
   positions earlier). Requiring ``n_regular >= n_duplicates + min_distance``
   guarantees that one always exists, whatever the seed.
4. Sides: ``swap`` is a fair coin per position; with ``swap_duplicates`` a duplicate
   shows its original's pair with the sides swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from studies import seeds
from studies.sampling import InfeasiblePlan

REGULAR = 0
SENTINEL = 1
DUPLICATE = 2


@dataclass(frozen=True, eq=False)
class TrialListSpec:
    """Skeleton of one participant's list; the arrays are read-only and of equal length.

    * ``kind[p]``: REGULAR, SENTINEL or DUPLICATE.
    * ``slot[p]``: for a regular trial, its index among the participant's regular pairs
      (0, 1, ... in order of appearance); for a sentinel, its index among the sentinel
      pairs; for a duplicate, the POSITION of the regular trial it repeats.
    * ``swap[p]``: True shows the pair's second sketch on the left.
    """

    kind: NDArray[np.int8]
    slot: NDArray[np.int64]
    swap: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.kind.size)


def trial_list_rng(
    study_seed: int, participant_index: int, scheme: int = seeds.CURRENT
) -> np.random.Generator:
    """The generator for one participant's list, reproducible from (seed, index, scheme)."""
    if study_seed < 0 or participant_index < 0:
        raise ValueError("study_seed and participant_index must be non-negative")
    return seeds.rng(scheme, "trial_list", study_seed, participant_index)


def build_trial_list(
    n_regular: int,
    n_sentinels: int,
    n_duplicates: int,
    min_distance: int,
    rng: np.random.Generator,
    swap_duplicates: bool = True,
) -> TrialListSpec:
    """Lay out ``n_regular + n_sentinels + n_duplicates`` trials; see the module docstring."""
    if min(n_regular, n_sentinels, n_duplicates) < 0:
        raise ValueError("trial counts must be non-negative")
    if min_distance < 1:
        raise ValueError(f"min_distance must be at least 1, got {min_distance}")
    needed = n_duplicates + min_distance
    if n_duplicates and n_regular < needed:
        raise InfeasiblePlan(
            f"{n_duplicates} duplicates, each at least {min_distance} trials after a distinct "
            f"regular original, need at least {needed} regular trials (n_duplicates + "
            f"min_distance), got {n_regular} (short by {needed - n_regular})"
        )
    n_trials = n_regular + n_sentinels + n_duplicates
    kind = np.full(n_trials, REGULAR, dtype=np.int8)
    sentinel_positions = _one_per_stratum(0, n_trials, n_sentinels, rng)
    kind[sentinel_positions] = SENTINEL

    pair_positions = np.flatnonzero(kind == REGULAR)  # regular trials and duplicates
    duplicate_numbers = _one_per_stratum(min_distance, pair_positions.size, n_duplicates, rng)
    original_numbers = _pick_originals(duplicate_numbers, pair_positions.size, min_distance, rng)
    duplicate_positions = pair_positions[duplicate_numbers]
    original_positions = pair_positions[original_numbers]
    kind[duplicate_positions] = DUPLICATE

    slot = np.empty(n_trials, dtype=np.int64)
    slot[kind == REGULAR] = np.arange(n_regular)
    slot[sentinel_positions] = np.arange(n_sentinels)
    slot[duplicate_positions] = original_positions

    swap = rng.random(n_trials) < 0.5
    if swap_duplicates:
        swap[duplicate_positions] = ~swap[original_positions]
    for array in (kind, slot, swap):
        array.setflags(write=False)
    return TrialListSpec(kind=kind, slot=slot, swap=swap)


def _one_per_stratum(start: int, stop: int, count: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """One random integer in each of ``count`` equal strata of [start, stop), ascending."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    bounds = start + (np.arange(count + 1, dtype=np.int64) * (stop - start)) // count
    return rng.integers(bounds[:-1], bounds[1:]).astype(np.int64)


def _pick_originals(
    duplicates: NDArray[np.int64], n_numbers: int, min_distance: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """A distinct non-duplicate number at least ``min_distance`` before each duplicate.

    The candidate sets are nested prefixes, so drawing in ascending order cannot paint
    itself into a corner. With duplicate d at >= min_distance + 2d (guaranteed by
    n_regular >= n_duplicates + min_distance), its prefix holds >= 2d + 1 numbers, of
    which at most d are earlier duplicates and d are earlier originals.
    """
    free = np.ones(n_numbers, dtype=bool)
    free[duplicates] = False
    originals = np.empty(duplicates.size, dtype=np.int64)
    for d, number in enumerate(duplicates):
        candidates = np.flatnonzero(free[: number - min_distance + 1])
        originals[d] = candidates[rng.integers(candidates.size)]
        free[originals[d]] = False
    return originals
