"""The studies app's actions: the index that admin, API, commands and the annotation app import.

Each name is defined in the concept module named beside it.

* The study's life (``studies.lifecycle``): ``do_launch_study``, ``do_pause_study``,
  ``do_resume_study``, ``do_close_study``, ``do_clone_study``, ``do_delete_study`` (drafts only).
* Its plan (``studies.planning``): ``preview_plan`` (reads only), ``do_freeze_plan``, ``do_discard_plan``;
  ``do_fit_to_data`` shrinks the settings to what the data allows (``studies.feasibility``).
* Gold pairs (``studies.gold``): ``do_review_gold``, ``do_accept_gold_seen``.
* Questions (``studies.questionnaires``): ``do_add_authenticity_question`` (the optional probe).
* Trial lists (``studies.trial_drawing``): ``do_draw_trial_list`` (claims planned pairs; call it
  inside the transaction that stores the trials), ``draw_practice_trials`` (reads only),
  and ``do_release_planned_pairs`` (``studies.handout``).
"""

from studies.errors import StudyConfigError
from studies.feasibility import do_fit_to_data
from studies.gold import do_accept_gold_seen, do_review_gold
from studies.handout import do_release_planned_pairs
from studies.lifecycle import (
    do_clone_study,
    do_close_study,
    do_delete_study,
    do_launch_study,
    do_pause_study,
    do_resume_study,
)
from studies.planning import do_discard_plan, do_freeze_plan, preview_plan
from studies.questionnaires import do_add_authenticity_question
from studies.trial_drawing import (
    KIND_NAMES,
    PracticeDraft,
    TrialDraft,
    do_draw_trial_list,
    draw_practice_trials,
)

__all__ = [
    "KIND_NAMES",
    "PracticeDraft",
    "StudyConfigError",
    "TrialDraft",
    "do_accept_gold_seen",
    "do_add_authenticity_question",
    "do_clone_study",
    "do_close_study",
    "do_delete_study",
    "do_discard_plan",
    "do_fit_to_data",
    "do_freeze_plan",
    "do_launch_study",
    "do_pause_study",
    "do_release_planned_pairs",
    "do_resume_study",
    "do_review_gold",
    "draw_practice_trials",
    "do_draw_trial_list",
    "preview_plan",
]
