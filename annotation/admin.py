"""Admin: participants and their quality, refused submissions, and the panel links of each study."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Value
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from annotation import review_admin
from annotation.models import Participant, RefusedSubmission, StudyLinks, Trial
from annotation.panels import (
    completion_url,
    entry_path,
    participant_link,
    signed_participant_links,
    site_root,
)
from sketches.staff import ReadOnlyAdminMixin
from studies.admin_filters import VisibleStudyFilter
from studies.models import Study
from studies.staff import VisibleStudiesOnlyMixin


@admin.register(Trial)
class TrialAdmin(VisibleStudiesOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: every trial with its answer (filter by participant from the participant page)."""

    study_path = "participant__study"
    list_display = ["participant", "is_practice", "position", "kind", "answer_choice", "answer_ms"]
    list_filter = [("participant__study", VisibleStudyFilter), "kind", "is_practice"]
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
    list_filter = [("study", VisibleStudyFilter), "status", "qualified"]
    search_fields = ["=panel_id", "=prolific_session_id"]
    list_select_related = ["study"]
    readonly_fields = [f.name for f in Participant._meta.fields] + ["trials", "review"]
    list_display_links = ["panel_id"]

    def has_add_permission(self, request):
        return False  # participants arrive through the study link only

    def get_list_display(self, request):
        return [*super().get_list_display(request), "review"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/review/",
                view(lambda r, object_id: review_admin.participant_review(self, r, object_id)),
                name="annotation_participant_review",
            ),
            path(
                "sketch/<int:sketch_id>/",
                view(lambda r, sketch_id: review_admin.sketch_judgements(self, r, sketch_id)),
                name="annotation_sketch_judgements",
            ),
        ] + super().get_urls()

    @admin.display(description="review")
    def review(self, obj):
        url = reverse("admin:annotation_participant_review", args=[obj.pk])
        return format_html('<a href="{}">every answer, override, approve / reject</a>', url)

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
    list_filter = ["reason", ("participant__study", VisibleStudyFilter)]
    search_fields = ["=participant__panel_id", "=token"]
    list_select_related = ["participant"]
    readonly_fields = ["participant", "token", "choice", "reason", "at"]

    deletable = True


@admin.register(StudyLinks)
class StudyLinksAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What to paste into Prolific, per study, and a preview of the trial screen."""

    list_display = [
        "name",
        "state",
        "participant_link",
        "completion_code",
        "participants",
        "prolific",
        "preview",
    ]
    fields = [
        "name",
        "state",
        "panel",
        "participant_link",
        "signed_links",
        "completion_code",
        "completion_target",
        "prolific",
        "preview",
    ]
    readonly_fields = fields

    def get_urls(self):
        view = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.signed_links_view))
        prolific = self.admin_site.admin_view(
            lambda request, object_id: review_admin.prolific_page(self, request, object_id)
        )
        return [
            path("<int:object_id>/signed-links/", view, name="annotation_studylinks_signed"),
            path("<int:object_id>/prolific/", prolific, name="annotation_studylinks_prolific"),
        ] + super().get_urls()

    def signed_links_view(self, request, object_id):
        """Make signed entry links for pasted ids (editors of the study only: the page shows its key)."""
        study = Study.objects.visible_to(request.user).filter(pk=object_id).first()
        if study is None or not request.user.has_perm("studies.change_study"):
            raise Http404("no such study")
        ids = request.POST.get("ids", "")
        links, error = [], ""
        if request.method == "POST":
            try:
                links = signed_participant_links(study, site_root(request), ids.splitlines())
            except ValueError as problem:
                error = str(problem)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Signed entry links for {study.name}",
            "study": study,
            "entry_url": site_root(request) + entry_path(study),
            "ids": ids,
            "links": links,
            "error": error,
        }
        return TemplateResponse(request, "admin/annotation/studylinks/signed_links.html", context)

    def get_queryset(self, request):
        # The host comes from the request; rows carry it so the columns need no shared state.
        return StudyLinks.objects.filter(pk__in=Study.objects.visible_to(request.user)).annotate(
            site_root=Value(site_root(request))
        )

    @admin.display(description="study link for the panel")
    def participant_link(self, obj):
        link = participant_link(obj, obj.site_root)
        return format_html(
            '<input type="text" readonly value="{}" size="70" aria-label="study link">',
            link,
        )

    @admin.display(description="signed links (generic panels)")
    def signed_links(self, obj):
        url = reverse("admin:annotation_studylinks_signed", args=[obj.pk])
        required = "required by this study" if obj.require_signed_entry else "optional (not required)"
        return format_html('<a href="{}">Make signed entry links</a> · {}', url, required)

    @admin.display(description="completion URL")
    def completion_target(self, obj):
        url = completion_url(obj)
        if url:
            return url
        if obj.completion_code:
            return f"— (no redirect: participants are shown the code {obj.completion_code} to enter on the panel)"
        return "— (set a completion code or URL on the study)"

    @admin.display(description="Prolific")
    def prolific(self, obj):
        url = reverse("admin:annotation_studylinks_prolific", args=[obj.pk])
        return format_html('<a href="{}">codes, submissions, approve / reject / bonus</a>', url)

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
