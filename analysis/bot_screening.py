"""A study's bot flags (``studies.bot_flags``) from its stored answers and telemetry.

Reads only. ``study_flags(study, answers, participants)`` is what the worker-QA page, the
exclusion decision and the exports use; the instructions' probe (``Study.instruction_probe``)
adds its own flag for anyone who typed into the field no person sees.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from analysis.selectors import StudyAnswers
from annotation.models import TrialKind
from studies import bot_flags
from studies.models import Study, TrialType

#: An answer's position for the side and periodic tests, whatever the trial type.
POSITION = {"left": 0, "right": 1, "1": 0, "2": 1, "3": 2, "4": 3, "yes": 0, "no": 1}
LABELS = {
    TrialType.PAIR: ("left sketch", "right sketch"),
    TrialType.BEST_OF_K: ("first option", "second option", "third option", "fourth option"),
    TrialType.SINGLE: ('answer "yes"', 'answer "no"'),
}


def _most_common(values: np.ndarray) -> str:
    counted = Counter(v for v in values.tolist() if v)
    return counted.most_common(1)[0][0] if counted else ""


def behaviours(study: Study, answers: StudyAnswers) -> list[bot_flags.Behaviour]:
    """One ``Behaviour`` per participant with main answers, from the stored answers."""
    share = float(bot_flags.settings_of(study.bot_checks)["hard_share"] or 0)
    hard_levels = bot_flags.hard_levels(study.n_levels, share)
    main = answers.take(answers.main)
    rt = np.where(np.isnan(main.client_ms), main.server_ms, main.client_ms)  # as the report times answers
    side = np.array([POSITION.get(str(c), -1) for c in main.choice.tolist()], np.int8)
    is_pair = study.trial_type == TrialType.PAIR  # agreement with q at a level: pairs only
    paired = is_pair & ((main.kind == TrialKind.REGULAR) | (main.kind == TrialKind.DUPLICATE))
    unequal = np.isfinite(main.q_a) & np.isfinite(main.q_b) & (main.q_a != main.q_b)
    hard = paired & unequal & (main.level >= 0) & (main.level < hard_levels)
    better = np.where(
        main.q_a > main.q_b, main.sketch_a, np.where(main.left == main.sketch_a, main.right, main.left)
    )
    agrees = main.chosen == better
    no_input = main.input_kind == ""  # no telemetry at all counts too: nothing was recorded
    out = []
    for pid in np.unique(main.participant_id).tolist():
        sel = main.participant_id == pid
        out.append(
            bot_flags.Behaviour(
                participant_id=int(pid),
                response_ms=rt[sel],
                hidden=np.nan_to_num(main.hidden_count[sel]) > 0,
                no_input=no_input[sel],
                side=side[sel],
                hard=hard[sel],
                agrees=agrees[sel],
                network=_most_common(main.network_hash[sel]),
                device=_most_common(main.device_hash[sel]),
                labels=LABELS.get(study.trial_type, LABELS[TrialType.PAIR]),
            )
        )
    return out


def study_flags(study: Study, answers: StudyAnswers, participants: list[dict]) -> bot_flags.StudyFlags:
    flags = bot_flags.flag_study(behaviours(study, answers), study.bot_checks)
    if study.instruction_probe:
        for p in participants:
            typed = (p.get("probe_answer") or "").strip()
            if typed:
                flags.by_participant.setdefault(p["id"], []).append(
                    bot_flags.Flag(
                        "instruction_probe",
                        f"typed {typed[:40]!r} into the instructions' hidden field, which no person sees",
                    )
                )
    return flags


def flagged_out(study: Study, flags: bot_flags.StudyFlags, participants: list[dict]) -> set[int]:
    """Who the flags leave out of the analysis: every flagged participant when the study says
    so, unless a researcher included them again (``analysis_override = include``)."""
    if not study.exclude_flagged:
        return set()
    return {p["id"] for p in participants if flags.of(p["id"]) and p.get("analysis_override") != "include"}


def reasons(flags: list[bot_flags.Flag]) -> str:
    return "; ".join(f"{flag.code}: {flag.reason}" for flag in flags)
