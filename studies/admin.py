"""Design, preview, launch and run studies in the admin. Every state change calls an action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from sketches.templatetags.sketch_tags import sketch_thumbnail
from studies import actions, admin_gold, checks, gold, lifecycle, planning, power, setup_admin
from studies.errors import StudyConfigError
from studies.forms import GoldPairForm, StudyAdminForm
from studies.models import GoldPair, Study, StudyState
from studies.outcomes_admin import OutcomeCodeAdmin, PanelTermsAdmin  # noqa: F401 (registers them)
from studies.selectors import plan_table, stored_plan_counts

PLAN_FIELDS, RUN_FIELDS = list(lifecycle.PLAN_FIELDS), list(lifecycle.RUN_FIELDS)
SCREENING_FIELDS = list(lifecycle.SCREENING_FIELDS)
ACTION_LABELS = {
    "freeze_plan": "Freeze the plan",
    "discard_plan": "Discard the plan",
    "launch_pilot": "Launch as pilot",
    "launch_live": "Launch live",
    "pause": "Pause",
    "resume": "Resume",
    "close": "Close",
    "clone": "Clone",
}


def run_action(study: Study, action: str, user, override_reason: str = "") -> tuple[str, Study]:
    """Call the action behind a button; returns (success message, study to show next)."""
    if action == "freeze_plan":
        summary = actions.do_freeze_plan(study)
        counts = summary["gold_pairs"]
        return (
            f"Plan frozen: {summary['total_pairs']:,} pairs in {len(summary['cells'])} cells; "
            f"{counts['degradation']} degradation + {counts['automatic']} model-suggested (to review) + "
            f"{counts['curated']} curated sentinel gold pairs, {counts['practice']} practice."
        ), study
    if action == "discard_plan":
        deleted = actions.do_discard_plan(study)
        return f"Plan discarded ({deleted:,} rows); the configuration can be edited again.", study
    if action in ("launch_pilot", "launch_live"):
        actions.do_launch_study(
            study, pilot=action == "launch_pilot", override_reason=override_reason, user=user
        )
        message = f"{study.name} is now {study.state}: participants may enter."
        records = (study.plan_summary or {}).get("scorer_sanity") or []
        if records and records[-1].get("state") == study.state:
            how = (
                "overridden: " + records[-1]["override_reason"]
                if "override_reason" in records[-1]
                else "a pilot"
            )
            message += f" Warning ({how}; recorded in the plan summary): " + "; ".join(
                records[-1]["problems"]
            )
        if study.state == StudyState.PILOT:
            message += "".join(f" Warning: {w}." for w in gold.pilot_warnings(study))
        return message, study
    if action == "pause":
        actions.do_pause_study(study)
        return f"{study.name} is paused: no one new may enter.", study
    if action == "resume":
        actions.do_resume_study(study)
        return f"{study.name} is {study.state} again.", study
    if action == "close":
        actions.do_close_study(study)
        return f"{study.name} is closed.", study
    if action == "clone":
        clone = actions.do_clone_study(study, owner=user)
        return f"Cloned into the draft {clone.slug!r}; edit it and freeze its own plan.", clone
    raise Http404(f"no study action {action!r}")


def colleagues(user, study: Study | None = None):
    """Whom ``user`` may share a study with: active staff in one of their groups (superusers:
    all active staff), plus whoever the study is already shared with."""
    staff = User.objects.filter(is_staff=True, is_active=True)
    if not user.is_superuser:
        staff = staff.filter(groups__in=user.groups.all())
    already = study.shared_with.values("pk") if study is not None and study.pk else User.objects.none()
    return (
        User.objects.filter(Q(pk__in=staff.values("pk")) | Q(pk__in=already))
        .exclude(pk=user.pk)
        .order_by("username")
    )


def power_context(study: Study, summary: dict, params) -> dict:
    """The power planner for the plan page: assumptions from the query string, bad ones listed."""
    assumptions, errors = power.parse_assumptions(params)
    result = planning.power_plan(study, summary, **assumptions)
    if errors:
        result = {**result, "problems": errors + list(result.get("problems", []))}
    return result


class GoldPairInline(admin.TabularInline):
    model = GoldPair
    form = GoldPairForm
    extra = 0
    raw_id_fields = ["better", "worse"]
    fields = ["better", "better_sketch", "worse", "worse_sketch", "use", "source", "review", "note"]
    readonly_fields = ["better_sketch", "worse_sketch", "source", "review"]
    verbose_name = "gold pair"
    verbose_name_plural = (
        "gold pairs: pick two sketches by id, the better one first (review model-suggested ones on "
        "the Gold review page; practice gold must share no sketch with any sentinel)"
    )

    def _editable(self, obj) -> bool:
        return obj is None or obj.state == StudyState.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)

    @admin.display(description="better sketch")
    def better_sketch(self, obj):
        return sketch_thumbnail(obj.better_id) if obj.better_id else "–"

    @admin.display(description="worse sketch")
    def worse_sketch(self, obj):
        return sketch_thumbnail(obj.worse_id) if obj.worse_id else "–"


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    form = StudyAdminForm
    inlines = [GoldPairInline]
    list_display = ["name", "slug", "state", "owner", "plan_frozen", "target_participants", "created_at"]
    list_filter = ["state", "panel", "sampling_mode"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["categories", "scorers", "shared_with"]
    actions = ["launch_pilot", "launch_live", "pause", "resume", "close", "clone", "ask_authenticity"]
    fieldsets = [
        (
            "Content",
            {
                "fields": [
                    "name",
                    "public_title",
                    "slug",
                    "question",
                    "show_category",
                    "instructions",
                    "consent_text",
                    "owner",
                    "shared_with",
                ]
            },
        ),
        ("Sampling (the pair plan)", {"fields": PLAN_FIELDS[:-1] + ["feasible_sizes"]}),
        ("Per-participant trial list", {"fields": RUN_FIELDS[:-1] + ["break_every", "idle_timeout_minutes"]}),
        ("Screening (see the screening planner below)", {"fields": SCREENING_FIELDS}),
        ("Bot defences (flags never reject anyone on the panel)", {"fields": list(lifecycle.BOT_FIELDS)}),
        (
            "Running it",
            {
                "fields": [
                    "seed",
                    "state",
                    "target_participants",
                    "panel",
                    "prolific_study_id",
                    "require_signed_entry",
                    "new_entries_per_network_hour",
                    "completion_code",
                    "completion_url",
                    "qualification_study",
                    "plan_frozen_at",
                    "launched_at",
                    "closed_at",
                    "links",
                    "checklist",
                ]
            },
        ),
    ]
    change_form_template = "admin/studies/study/change_form.html"

    # -- who sees what -------------------------------------------------------------

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).select_related("owner")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "shared_with" in form.base_fields:
            # Share with your colleagues (the members of your groups), never a list of every user.
            form.base_fields["shared_with"].queryset = colleagues(request.user, obj)
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "qualification_study":
            kwargs["queryset"] = Study.objects.visible_to(request.user).exclude(state=StudyState.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        readonly = [
            "state",
            "plan_frozen_at",
            "launched_at",
            "closed_at",
            "links",
            "feasible_sizes",
            "checklist",
        ]
        if not request.user.is_superuser:
            readonly.append("owner")
        if obj is not None:
            locked = lifecycle.locked_fields(obj)
            readonly += [name for name in PLAN_FIELDS + RUN_FIELDS + SCREENING_FIELDS if name in locked]
            if obj.state != StudyState.DRAFT:
                readonly.append("slug")
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None and obj.state != StudyState.DRAFT else self.prepopulated_fields

    def save_model(self, request, obj, form, change):
        if not change and obj.owner_id is None:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    # -- deleting: drafts only, as in the API (actions.do_delete_study) -------------------

    def has_delete_permission(self, request, obj=None):
        if obj is not None and lifecycle.delete_problems(obj):
            return False  # no delete button; "delete selected" lists it as not deletable
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        try:
            actions.do_delete_study(obj)
        except StudyConfigError as error:  # launched since the confirmation page
            messages.error(request, "; ".join(error.messages))

    def delete_queryset(self, request, queryset):
        for study in queryset:
            self.delete_model(request, study)

    # -- columns and read-only displays ------------------------------------------------

    @admin.display(boolean=True, description="plan frozen")
    def plan_frozen(self, obj):
        return obj.plan_frozen_at is not None

    @admin.display(description="what the data allow")
    def feasible_sizes(self, obj):
        return setup_admin.feasible_html(obj)

    @admin.display(description="checklist")
    def checklist(self, obj):
        return setup_admin.checklist_html(obj)

    @admin.display(description="links")
    def links(self, obj):
        if obj is None or obj.pk is None:
            return "–"
        plan = reverse("admin:studies_study_plan", args=[obj.pk])
        preview = reverse("annotation:preview", args=[obj.slug])
        return format_html(
            '<a href="{}">Plan preview</a> · <a href="{}" target="_blank">Preview a trial as a participant sees it</a>',
            plan,
            preview,
        )

    # -- pages and buttons ---------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/plan/", view(self.plan_view), name="studies_study_plan"),
            path("<int:object_id>/gold/", view(self.gold_view), name="studies_study_gold"),
            path(
                "<int:object_id>/gold/decide/", view(self.gold_decide_view), name="studies_study_gold_decide"
            ),
            path("<int:object_id>/do/<slug:action>/", view(self.action_view), name="studies_study_action"),
            path(
                "<int:object_id>/fit/",
                view(lambda r, object_id: setup_admin.fit_view(self, r, object_id)),
                name="studies_study_fit",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        study = self.get_object(request, object_id)
        if study is not None:
            extra_context = {
                **(extra_context or {}),
                "plan_url": reverse("admin:studies_study_plan", args=[study.pk]),
                "gold_url": reverse("admin:studies_study_gold", args=[study.pk]),
                "gold_candidates": GoldPair.objects.filter(
                    study=study, review=GoldPair.Review.CANDIDATE
                ).count(),
                **(admin_gold.planner_context(study) if study.state != StudyState.CLOSED else {}),
                "trial_preview_url": reverse("annotation:preview", args=[study.slug]),
                "scorer_sanity_problems": checks.scorer_sanity_problems(study)
                if study.state in (StudyState.DRAFT, StudyState.PILOT)
                else [],
                "lifecycle_buttons": [
                    (ACTION_LABELS[a], reverse("admin:studies_study_action", args=[study.pk, a]), a)
                    for a in lifecycle.allowed_actions(study)
                ]
                if self.has_change_permission(request, study)
                else [],
            }
            if study.state == StudyState.DRAFT and study.plan_frozen_at is None:
                fit = ("Fit to data", reverse("admin:studies_study_fit", args=[study.pk]), "fit")
                extra_context["lifecycle_buttons"] = [fit] + extra_context["lifecycle_buttons"]
        return super().change_view(request, object_id, form_url, extra_context)

    def _visible_study(self, request, object_id) -> Study:
        study = self.get_object(request, str(object_id))
        if study is None or not self.has_view_permission(request, study):
            raise Http404("no such study")
        return study

    def plan_view(self, request, object_id):
        return require_GET(self._plan_view)(request, object_id)

    def _plan_view(self, request, object_id):
        study = self._visible_study(request, object_id)
        summary = planning.preview_plan(study)
        stored = stored_plan_counts(study) if summary["frozen"] else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": study,
            "study": study,
            "summary": summary,
            "table": plan_table(summary, stored),
            "power": power_context(study, summary, request.GET),
            "title": f"Pair plan of {study.name}" + ("" if summary["frozen"] else " (dry run)"),
            "freeze_url": reverse("admin:studies_study_action", args=[study.pk, "freeze_plan"])
            if study.state == StudyState.DRAFT
            and not summary["frozen"]
            and self.has_change_permission(request, study)
            else None,
        }
        return TemplateResponse(request, "admin/studies/study/plan.html", context)

    def gold_view(self, request, object_id):
        return require_GET(self._gold_view)(request, object_id)

    def _gold_view(self, request, object_id):
        study = self._visible_study(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": study,
            **admin_gold.gold_review_context(request, study, self.has_change_permission(request, study)),
        }
        return TemplateResponse(request, "admin/studies/study/gold.html", context)

    def gold_decide_view(self, request, object_id):
        return require_POST(self._gold_decide_view)(request, object_id)

    def _gold_decide_view(self, request, object_id):
        study = self._visible_study(request, object_id)
        if not self.has_change_permission(request, study):
            messages.error(request, "You may not change this study.")
            return redirect("admin:studies_study_gold", study.pk)
        return admin_gold.decide(request, study)

    def action_view(self, request, object_id, action):
        return require_POST(self._action_view)(request, object_id, action)

    def _action_view(self, request, object_id, action):
        study = self._visible_study(request, object_id)
        if not self.has_change_permission(request, study):
            messages.error(request, "You may not change this study.")
            return redirect("admin:studies_study_change", study.pk)
        if action not in ACTION_LABELS:
            raise Http404(f"no study action {action!r}")
        try:
            message, shown = run_action(
                study, action, request.user, override_reason=request.POST.get("override_reason", "")[:500]
            )
        except StudyConfigError as error:
            for line in error.messages:
                messages.error(request, f"{ACTION_LABELS[action]} refused: {line}")
            return redirect("admin:studies_study_change", study.pk)
        messages.success(request, message)
        return HttpResponseRedirect(reverse("admin:studies_study_change", args=[shown.pk]))

    # -- changelist actions ----------------------------------------------------------------

    def _bulk(self, request, queryset, action):
        for study in queryset:
            try:
                message, _ = run_action(study, action, request.user)
            except StudyConfigError as error:
                messages.error(
                    request, f"{study.slug}: {ACTION_LABELS[action]} refused: {'; '.join(error.messages)}"
                )
            else:
                messages.success(request, f"{study.slug}: {message}")

    @admin.action(description="Launch selected studies as pilots", permissions=["change"])
    def launch_pilot(self, request, queryset):
        self._bulk(request, queryset, "launch_pilot")

    @admin.action(description="Launch selected studies live", permissions=["change"])
    def launch_live(self, request, queryset):
        self._bulk(request, queryset, "launch_live")

    @admin.action(description="Pause selected studies", permissions=["change"])
    def pause(self, request, queryset):
        self._bulk(request, queryset, "pause")

    @admin.action(description="Resume selected studies", permissions=["change"])
    def resume(self, request, queryset):
        self._bulk(request, queryset, "resume")

    @admin.action(description="Close selected studies", permissions=["change"])
    def close(self, request, queryset):
        self._bulk(request, queryset, "close")

    @admin.action(description="Clone selected studies (new drafts)", permissions=["add"])
    def clone(self, request, queryset):
        self._bulk(request, queryset, "clone")

    @admin.action(description="Ask the authenticity question at the end (free text)", permissions=["change"])
    def ask_authenticity(self, request, queryset):
        for study in queryset:
            _, added = actions.do_add_authenticity_question(study)
            note = "added to the post-task questions" if added else "was already asked"
            messages.success(request, f"{study.slug}: the authenticity question {note}.")
