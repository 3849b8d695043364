"""Admin: participants and their quality, refused submissions, and the panel links of each study."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Value
from django.urls import reverse
from django.utils.html import format_html

from annotation.models import Participant, RefusedSubmission, StudyLinks, Trial
from annotation.panels import completion_url, participant_link, site_root
from sketches.staff import ReadOnlyAdminMixin
from studies.models import Study
from studies.staff import VisibleStudiesOnlyMixin


@admin.register(Trial)
class TrialAdmin(VisibleStudiesOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: every trial with its answer (filter by participant from the participant page)."""

    study_path = "participant__study"
    list_display = ["participant", "is_practice", "position", "kind", "answer_choice", "answer_ms"]
    list_filter = ["participant__study", "kind", "is_practice"]
    search_fields = ["=participant__panel_id", "=token"]
    list_select_related = ["participant", "answer"]
    list_per_page = 200
    readonly_fields = [f.name for f in Trial._meta.fields] + ["answer_choice", "answer_ms"]

    deletable = True

    @admin.display(description="answer")
    def answer_choice(self, trial):
        answer = getattr(trial, "answer", None)
        return answer.choice if answer else "—"

    @admin.display(description="client ms / server ms")
    def answer_ms(self, trial):
        answer = getattr(trial, "answer", None)
        return f"{answer.client_response_ms} / {answer.server_response_ms}" if answer else "—"


@admin.register(Participant)
class ParticipantAdmin(VisibleStudiesOnlyMixin, admin.ModelAdmin):
    list_display = [
        "panel_id",
        "study",
        "index",
        "status",
        "qualified",
        "progress",
        "sentinel_mistakes",
        "duplicate_agreement",
        "last_seen_at",
    ]
    list_filter = ["study", "status", "qualified"]
    search_fields = ["=panel_id", "=prolific_session_id"]
    list_select_related = ["study"]
    readonly_fields = [f.name for f in Participant._meta.fields] + ["trials"]

    def has_add_permission(self, request):
        return False  # participants arrive through the study link only

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.current_position} / {obj.n_trials}"

    @admin.display(description="trials and answers")
    def trials(self, obj):
        url = reverse("admin:annotation_trial_changelist") + f"?participant__id__exact={obj.pk}"
        return format_html('<a href="{}">{} trials, {} practice</a>', url, obj.n_trials, obj.n_practice)


@admin.register(RefusedSubmission)
class RefusedSubmissionAdmin(VisibleStudiesOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    study_path = "participant__study"
    list_display = ["at", "participant", "reason", "token", "choice"]
    list_filter = ["reason", "participant__study"]
    search_fields = ["=participant__panel_id", "=token"]
    list_select_related = ["participant"]
    readonly_fields = ["participant", "token", "choice", "reason", "at"]

    deletable = True


@admin.register(StudyLinks)
class StudyLinksAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What to paste into Prolific, per study, and a preview of the trial screen."""

    list_display = ["name", "state", "participant_link", "completion_code", "participants", "preview"]
    fields = ["name", "state", "panel", "participant_link", "completion_code", "completion_target", "preview"]
    readonly_fields = fields

    def get_queryset(self, request):
        # The host comes from the request; rows carry it so the columns need no shared state.
        return StudyLinks.objects.filter(pk__in=Study.objects.visible_to(request.user)).annotate(
            site_root=Value(site_root(request))
        )

    @admin.display(description="study link for the panel")
    def participant_link(self, obj):
        link = participant_link(obj, obj.site_root)
        return format_html(
            '<input type="text" readonly value="{}" size="70" onclick="this.select()" aria-label="study link">',
            link,
        )

    @admin.display(description="completion URL")
    def completion_target(self, obj):
        return completion_url(obj) or "— (set a completion code or URL on the study)"

    @admin.display(description="participants")
    def participants(self, obj):
        url = reverse("admin:annotation_participant_changelist") + f"?study__id__exact={obj.pk}"
        count = Participant.objects.filter(study=obj).taking_a_place().count()
        return format_html('<a href="{}">{} of {}</a>', url, count, obj.target_participants)

    @admin.display(description="preview")
    def preview(self, obj):
        return format_html(
            '<a href="{}">preview the trial screen</a>', reverse("annotation:preview", args=[obj.slug])
        )
