"""What the trial, feedback and instructions screens show for best-of-K and single trials.

Pairs keep their own markup (``steps/trial.html``); for the other types the step adds
``trial_type`` and ``options`` (one entry per sketch on screen, in option order) and the
templates include ``steps/_options.html``. Keys: 1..K pick an option, ↓ or N abstains
(best of K, when offered); Y and N answer a single trial (``static/annotation/task.js``).
"""

from __future__ import annotations

from annotation.trial_types import OPTION_SIDES
from studies.models import DEFAULT_QUESTION, Study, TrialType


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def question_for(study: Study, category: str) -> str:
    """A single trial asks the paper's §4.4 question unless the study set its own."""
    if study.trial_type == TrialType.SINGLE and study.question == DEFAULT_QUESTION:
        if category:
            return f"Is this a good drawing of {_article(category)} {category}?"
        return "Is this a good drawing?"
    if study.trial_type == TrialType.BEST_OF_K and study.question == DEFAULT_QUESTION:
        return "Select the sketch with the best visual quality"
    return study.question


def screen_context(study: Study, trial, url_of, category: str = "") -> dict:
    """``url_of(side)``: the stimulus URL of a side of this trial. Empty for a pair study."""
    if study.trial_type == TrialType.PAIR:
        return {"trial_type": TrialType.PAIR}
    ids = [trial.left_sketch_id, trial.right_sketch_id, trial.third_sketch_id, trial.fourth_sketch_id]
    options = [
        {"value": str(n + 1), "number": n + 1, "url": url_of(side), "sketch_id": pk}
        for n, (side, pk) in enumerate(zip(OPTION_SIDES, ids))
        if pk is not None
    ]
    return {
        "trial_type": study.trial_type,
        "options": options,
        "n_options": len(options),
        "question": question_for(study, category),
        "category_name": category,
    }


def known_answer(study: Study, trial, better_id: int | None) -> dict:
    """For feedback and the example: the known best option, or the known yes/no."""
    if study.trial_type == TrialType.SINGLE:
        return {"known_yes": trial.left_sketch_id == better_id}
    ids = [trial.left_sketch_id, trial.right_sketch_id, trial.third_sketch_id, trial.fourth_sketch_id]
    return {"better_option": ids.index(better_id) + 1 if better_id in ids else None}
