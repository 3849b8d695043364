"""A study's life: launch (→ pilot or live), pause, resume, close, clone, delete (drafts only).

Each transition is one conditional UPDATE on the state (``WHERE state IN (...)``) with
a row-count check, so two clicks at once cannot both win, and an illegal transition
(e.g. closed → live) is refused with a message, writing nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from studies import checks
from studies.errors import StudyConfigError
from studies.models import GoldPair, Study, StudyState

S = StudyState
#: For each action, the states it may start from.
LAUNCH_PILOT_FROM = (S.DRAFT,)
LAUNCH_LIVE_FROM = (S.DRAFT, S.PILOT)
PAUSE_FROM = (S.PILOT, S.LIVE)
RESUME_FROM = (S.PAUSED,)
CLOSE_FROM = (S.DRAFT, S.PILOT, S.LIVE, S.PAUSED)

#: Fields that change the pair plan: locked (read-only in the admin, refused by the API) once
#: the plan is frozen. In the admin's order: the seed shows under "Running it".
PLAN_FIELDS = (
    "categories",
    "scorers",
    "split",
    "pairs_per_cell",
    "n_levels",
    "level_edges",
    "sampling_mode",
    "adaptive_target",
    "adaptive_random_start",
    "adaptive_control_share",
    "adaptive_target_width",
    "adaptive_refit_every",
    "trial_type",
    "options_per_trial",
    "auto_gold_pairs",
    "degradation_gold_pairs",
    "seed",
)
#: Fields that shape participants' lists: locked once participants may enter (any state but
#: draft). The qualification study shows under "Running it" in the admin.
RUN_FIELDS = (
    "trials_per_participant",
    "practice_trials",
    "sentinels_per_participant",
    "max_sentinel_mistakes",
    "duplicates_per_participant",
    "min_duplicate_agreement",
    "min_duplicate_distance",
    "allow_no_difference",
    "qualification_study",
)
#: Screening settings (``studies.screening``): locked like ``RUN_FIELDS``.
SCREENING_FIELDS = (
    "screening_rule",
    "sequential_screening",
    "screening_alpha",
    "too_fast_ms",
    "too_fast_share",
    "too_fast_block_after",
)
#: The rest of the run's settings: editable in any state.
OTHER_RUN_FIELDS = (
    "show_category",
    "break_every",
    "idle_timeout_minutes",
    "target_participants",
    "panel",
    "completion_code",
    "completion_url",
)
#: Who may enter: editable in any state.
#: Bot defences (``studies.bot_flags``): offline flags and an optional probe, editable in any state.
BOT_FIELDS = ("bot_checks", "exclude_flagged", "instruction_probe")
ENTRY_FIELDS = ("public_title", "prolific_study_id", "require_signed_entry", "new_entries_per_network_hour")

#: Fields copied by a clone: the whole configuration, none of the run.
CLONED_FIELDS = [
    "question",
    "instructions",
    "consent_text",
    *(name for name in PLAN_FIELDS if name not in ("categories", "scorers")),  # many-to-many: set apart
    *RUN_FIELDS,
    *SCREENING_FIELDS,
    *OTHER_RUN_FIELDS,
    *BOT_FIELDS,
    *(name for name in ENTRY_FIELDS if name != "prolific_study_id"),  # a clone is another panel study
]


def do_launch_study(study: Study, pilot: bool = False, override_reason: str = "", user=None) -> Study:
    """Draft → pilot (``pilot=True``) or draft/pilot → live, after every check passes.

    A draft whose plan is not frozen yet gets it frozen in the same transaction.
    Every scorer the study compares must pass its sanity report
    (:func:`studies.checks.scorer_sanity_problems`): otherwise a pilot launches with
    the problems recorded as warnings, and a live launch is refused unless
    ``override_reason`` says why it should go ahead anyway. Both are recorded in the
    plan summary (``scorer_sanity``) with who launched and when.
    """
    from studies.planning import do_freeze_plan

    target = S.PILOT if pilot else S.LIVE
    allowed = LAUNCH_PILOT_FROM if pilot else LAUNCH_LIVE_FROM
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        _check_from(locked, allowed, f"launch as {target}")
        if locked.plan_frozen_at is None:
            try:
                do_freeze_plan(locked)
            except StudyConfigError as error:  # report the run's problems too, all at once
                raise StudyConfigError(error.messages + checks.run_problems(locked)) from None
        problems = checks.launch_problems(locked, live=not pilot)
        if problems:
            raise StudyConfigError(problems)
        now = timezone.now()
        sanity = checks.scorer_sanity_problems(locked)
        reason = (override_reason or "").strip()
        if sanity and not pilot and not reason:
            raise StudyConfigError(
                [
                    *sanity,
                    "a live launch with a scorer that fails its sanity report needs an explicit "
                    "override: give the reason (it is recorded in the plan summary), or launch a pilot first",
                ]
            )
        fields = {"launched_at": locked.launched_at or now}
        if sanity:
            summary = Study.objects.values_list("plan_summary", flat=True).get(pk=locked.pk) or {}
            record = {
                "problems": sanity,
                "state": target,
                "at": now.isoformat(timespec="seconds"),
                "by": user.get_username() if user is not None and user.is_authenticated else None,
            }
            if not pilot:
                record["override_reason"] = reason
            fields["plan_summary"] = {**summary, "scorer_sanity": [*summary.get("scorer_sanity", []), record]}
        _move(locked, allowed, target, **fields)
    return _refreshed(study)


def do_pause_study(study: Study) -> Study:
    """Pilot/live → paused: no one new may enter; it resumes to the state it had."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        _check_from(locked, PAUSE_FROM, "pause")
        _move(locked, PAUSE_FROM, S.PAUSED, paused_from=locked.state)
    return _refreshed(study)


def do_resume_study(study: Study) -> Study:
    """Paused → the state it was paused from (pilot or live)."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        _check_from(locked, RESUME_FROM, "resume")
        _move(locked, RESUME_FROM, locked.paused_from or S.LIVE, paused_from="")
    return _refreshed(study)


def do_close_study(study: Study) -> Study:
    """Any state but closed → closed, for good."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        _check_from(locked, CLOSE_FROM, "close")
        _move(locked, CLOSE_FROM, S.CLOSED, closed_at=timezone.now(), paused_from="")
    return _refreshed(study)


def locked_fields(study: Study) -> set[str]:
    """The configuration fields that ``study`` no longer lets anyone change."""
    locked: set[str] = set()
    if study.plan_frozen_at is not None:
        locked |= set(PLAN_FIELDS)
    if study.state != S.DRAFT:
        locked |= set(RUN_FIELDS) | set(SCREENING_FIELDS)
    return locked


def delete_problems(study: Study) -> list[str]:
    """Why ``study`` may not be deleted (empty: it may)."""
    if study.state != S.DRAFT:
        return [f"only drafts can be deleted; {study.slug!r} is {study.state} (close it instead)"]
    return []


def do_delete_study(study: Study) -> None:
    """Delete a draft with its plan and gold pairs, in one transaction. Any other state is
    refused (``StudyConfigError``, nothing deleted): its participants' answers must stay."""
    from studies.planning import do_discard_plan

    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        problems = delete_problems(locked)
        if problems:
            raise StudyConfigError(problems)
        do_discard_plan(locked)
        locked.delete()


def do_clone_study(study: Study, *, slug: str | None = None, name: str | None = None, owner=None) -> Study:
    """A new draft with the same configuration and curated gold pairs, and a new slug.

    The plan is not copied: freezing the clone draws it again (the same seed and
    scores give the same pairs).
    """
    if slug and Study.objects.filter(slug=slug).exists():
        raise StudyConfigError(f"the slug {slug!r} is taken")
    with transaction.atomic():
        clone = Study(
            name=name or f"Copy of {study.name}"[:200],
            slug=slug or _free_slug(study.slug),
            owner=owner if owner is not None else study.owner,
            **{f: getattr(study, f) for f in CLONED_FIELDS},
        )
        clone.save()
        clone.categories.set(study.categories.all())
        clone.scorers.set(study.scorers.all())
        clone.shared_with.set(study.shared_with.all())
        GoldPair.objects.bulk_create(
            [
                GoldPair(
                    study=clone,
                    better_id=g.better_id,
                    worse_id=g.worse_id,
                    source=g.source,
                    note=g.note,
                    review=g.review,
                    use=g.use,
                )
                for g in study.gold_pairs.filter(source=GoldPair.Source.CURATED)
            ]
        )
    return clone


def allowed_actions(study: Study) -> list[str]:
    """The lifecycle actions that make sense from the study's state, for buttons."""
    actions = []
    if study.state == S.DRAFT:
        actions += ["freeze_plan"] if study.plan_frozen_at is None else ["discard_plan"]
        actions += ["launch_pilot", "launch_live"]
    elif study.state == S.PILOT:
        actions += ["launch_live", "pause"]
    elif study.state == S.LIVE:
        actions += ["pause"]
    elif study.state == S.PAUSED:
        actions += ["resume"]
    if study.state != S.CLOSED:
        actions.append("close")
    return actions + ["clone"]


def _check_from(study: Study, allowed: tuple[str, ...], verb: str) -> None:
    if study.state not in allowed:
        names = " or ".join(str(s) for s in allowed)
        raise StudyConfigError(
            f"cannot {verb} {study.slug!r}: it is {study.state}, and only a {names} study can"
        )


def _move(study: Study, allowed: tuple[str, ...], target: str, **fields) -> None:
    updated = Study.objects.filter(pk=study.pk, state__in=allowed).update(state=target, **fields)
    if updated != 1:
        raise StudyConfigError(f"{study.slug!r} changed state meanwhile; reload and try again")


def _refreshed(study: Study) -> Study:
    study.refresh_from_db()
    return study


def _free_slug(slug: str) -> str:
    base = f"{slug[:70]}-copy"
    candidate, n = base, 2
    while Study.objects.filter(slug=candidate).exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate
