"""What a trial's answer means for each trial type (pair, best of K, single).

Kept apart from ``annotation.answering`` so that the answer path only asks this module:

* which answers a trial offers (``offered_choices``);
* which sketch an answer chose (``chosen_sketch_id``): pairs and best of K the sketch at that
  side or option, "none" (abstain) nothing; single: the sketch for "yes", nothing for "no"
  (so a duplicate is consistent when both answers agree, as with pairs);
* whether it is right when the answer is known (``is_correct``): single trials show the gold
  pair's better sketch (known answer "yes") or its worse one ("no");
* how it counts for the side-bias test (``side_tally``): pairs count left/right; best of K
  counts option 1 as "left" and option K as "right" (a worker without position bias picks the
  first and the last equally often, since the order is a random permutation); single counts
  "yes" as left and "no" as right, so the same test catches yes-rate extremes.
"""

from __future__ import annotations

from annotation.models import Choice, Trial
from studies.models import Study, TrialType

OPTION_SIDES = ("left", "right", "third", "fourth")
OPTION_CHOICES = (Choice.OPTION_1, Choice.OPTION_2, Choice.OPTION_3, Choice.OPTION_4)


def option_sketch_ids(trial: Trial) -> list[int]:
    """The sketches a trial shows, in option order (1, 2, ...)."""
    ids = [trial.left_sketch_id, trial.right_sketch_id, trial.third_sketch_id, trial.fourth_sketch_id]
    return [pk for pk in ids if pk is not None]


def offered_choices(study: Study, trial: Trial) -> set[str]:
    if study.trial_type == TrialType.SINGLE:
        return {Choice.YES, Choice.NO}
    abstain = {Choice.NONE} if study.allow_no_difference else set()
    if study.trial_type == TrialType.BEST_OF_K:
        return set(OPTION_CHOICES[: len(option_sketch_ids(trial))]) | abstain
    return {Choice.LEFT, Choice.RIGHT} | abstain


def chosen_sketch_id(trial: Trial, choice: str) -> int | None:
    if choice == Choice.YES:
        return trial.left_sketch_id
    if choice in OPTION_CHOICES:
        options = option_sketch_ids(trial)
        index = OPTION_CHOICES.index(choice)
        return options[index] if index < len(options) else None
    return {Choice.LEFT: trial.left_sketch_id, Choice.RIGHT: trial.right_sketch_id}.get(choice)


def is_correct(trial: Trial, choice: str, better_id: int | None) -> bool:
    """Does ``choice`` match the known answer (``better_id``: the gold or practice better sketch)?"""
    if choice in (Choice.YES, Choice.NO):
        return (choice == Choice.YES) == (trial.left_sketch_id == better_id)
    return chosen_sketch_id(trial, choice) == better_id


def side_tally(trial: Trial, choice: str) -> tuple[int, int]:
    """(left, right) increments for the side-bias counters; see the module docstring."""
    if choice in (Choice.LEFT, Choice.YES):
        return 1, 0
    if choice in (Choice.RIGHT, Choice.NO):
        return 0, 1
    if choice in OPTION_CHOICES:
        index, last = OPTION_CHOICES.index(choice), len(option_sketch_ids(trial)) - 1
        return int(index == 0), int(index == last)
    return 0, 0
