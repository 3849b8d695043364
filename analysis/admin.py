"""Admin: study results (links and export actions), report exports, and worker quality.

Researchers see only the studies ``Study.objects.visible_to`` them, here as everywhere.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from analysis import actions
from analysis.models import ExportJob, ExportStatus, StudyResults, WorkerQuality
from sketches.staff import ReadOnlyAdminMixin
from studies.admin_filters import VisibleStudyFilter
from studies.models import Study
from studies.staff import VisibleStudiesOnlyMixin


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@admin.register(StudyResults)
class StudyResultsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "state", "participant_count", "simulated", "pages", "exports"]
    list_filter = ["state"]
    search_fields = ["name", "slug"]
    actions = ["export_report", "export_report_all_workers", "remove_simulated_participants"]

    def get_queryset(self, request):
        visible = Study.objects.visible_to(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=visible)
            .annotate(n_participants=Count("participants"))
        )

    @admin.display(description="participants", ordering="n_participants")
    def participant_count(self, obj):
        return obj.n_participants

    @admin.display(description="simulated participants")
    def simulated(self, obj):
        n = obj.participants.filter(simulated=True).count()
        return f"{n} simulated" if n else "–"

    @admin.display(description="results")
    def pages(self, obj):
        links = [
            (reverse("analysis:dashboard", args=[obj.slug]), "dashboard"),
            (reverse("analysis:rankings", args=[obj.slug]), "rankings"),
            (reverse("analysis:report", args=[obj.slug]), "report"),
            (reverse("analysis:report_zip", args=[obj.slug]), "zip"),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description="exports")
    def exports(self, obj):
        url = reverse("admin:analysis_exportjob_changelist") + f"?study__id__exact={obj.pk}"
        return format_html('<a href="{}">exports</a>', url)

    def _export(self, request, queryset, include_excluded: bool):
        jobs = [actions.do_request_export(study, request.user, include_excluded) for study in queryset]
        url = reverse("admin:analysis_exportjob_changelist")
        self.message_user(
            request,
            format_html(
                '{} export(s) queued. Follow them under <a href="{}">report exports</a>.', len(jobs), url
            ),
            messages.SUCCESS,
        )

    def has_export_permission(self, request):
        """The same permission as POST /api/exports/: creating an export job."""
        return request.user.has_perm("analysis.add_exportjob")

    @admin.action(description="Export report (zip: CSV, JSON, figures, HTML)", permissions=["export"])
    def export_report(self, request, queryset):
        self._export(request, queryset, include_excluded=False)

    @admin.action(
        description="Export report with blocked/unqualified workers included (for comparison)",
        permissions=["export"],
    )
    def export_report_all_workers(self, request, queryset):
        self._export(request, queryset, include_excluded=True)

    @admin.action(description="Remove all simulated participants of the selected studies")
    def remove_simulated_participants(self, request, queryset):
        for study in queryset:  # only studies visible to this researcher (get_queryset)
            removed = actions.do_remove_simulated_participants(study)
            self.message_user(
                request, f"{study.slug}: removed {removed} simulated participant(s).", messages.SUCCESS
            )


@admin.register(ExportJob)
class ExportJobAdmin(VisibleStudiesOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["study", "include_excluded", "status", "size_kb", "created_at", "finished_at", "download"]
    list_filter = ["status", ("study", VisibleStudyFilter), "include_excluded"]
    list_select_related = ["study"]
    readonly_fields = [f.name for f in ExportJob._meta.fields] + ["download"]
    actions = ["run_again"]

    @admin.display(description="size (kB)", ordering="size")
    def size_kb(self, obj):
        return f"{obj.size / 1024:,.0f}" if obj.size else "—"

    @admin.display(description="download")
    def download(self, obj):
        if obj.status != ExportStatus.DONE:
            return obj.error[:120] if obj.status == ExportStatus.FAILED else "—"
        return format_html('<a href="{}">zip</a>', reverse("analysis:export_download", args=[obj.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is not None:
            actions.do_settle_export(job)  # on read: an export whose worker died is queued again
        return super().change_view(request, object_id, form_url, extra_context)

    def has_export_permission(self, request):
        return request.user.has_perm("analysis.add_exportjob")

    @admin.action(description="Export again (a new job per selected export)", permissions=["export"])
    def run_again(self, request, queryset):
        for job in queryset:
            actions.do_request_export(job.study, request.user, job.include_excluded)
        self.message_user(request, f"{queryset.count()} export(s) queued.", messages.SUCCESS)


@admin.register(WorkerQuality)
class WorkerQualityAdmin(VisibleStudiesOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        # the key columns first, so they stay in view at 1280 px; when it was computed is on the detail page
        "panel_id", "study", "status", "analysed", "flags", "trials", "sentinel_mistakes", "consistency", "median_rt",
        "skill", "side_bias", "fast", "left", "majority", "flow_status", "simulated",
    ]  # fmt: skip
    list_filter = [("study", VisibleStudyFilter), "status", "flow_status", "analysed", "simulated"]
    search_fields = ["=panel_id"]
    list_select_related = ["study"]
    ordering = ["study", "model_skill", "participant__index"]  # least reliable first
    readonly_fields = [f.name for f in WorkerQuality._meta.fields]

    @admin.display(description="skill [95% interval]", ordering="model_skill")
    def skill(self, obj):
        if obj.model_skill is None:
            return "—"
        return f"{obj.model_skill:.2f} [{obj.model_skill_lo:.2f}, {obj.model_skill_hi:.2f}]"

    @admin.display(description="bot flags", ordering="bot_flags")
    def flags(self, obj):
        """The flags' names here; the reasons, in full, on the participant's page."""
        return ", ".join(part.split(":", 1)[0] for part in obj.bot_flags.split("; ") if part) or "—"

    @admin.display(description="P(left | guessing)", ordering="model_bias")
    def side_bias(self, obj):
        return "—" if obj.model_bias is None else f"{obj.model_bias:.2f}"

    def changelist_view(self, request, extra_context=None):
        """Bring the snapshot up to date (only studies whose answers changed are recomputed)."""
        visible = Study.objects.visible_to(request.user).filter(participants__isnull=False).distinct()
        chosen = request.GET.get("study__id__exact")
        if chosen and chosen.isdigit():
            visible = visible.filter(pk=int(chosen))
        for study in visible:
            actions.do_refresh_worker_quality(study)
        return super().changelist_view(request, extra_context)

    @admin.display(description="duplicate consistency", ordering="duplicate_consistency")
    def consistency(self, obj):
        return _pct(obj.duplicate_consistency)

    @admin.display(description="median RT (ms)", ordering="median_rt_ms")
    def median_rt(self, obj):
        return "—" if obj.median_rt_ms is None else f"{obj.median_rt_ms:,.0f}"

    @admin.display(description="< 300 ms", ordering="fast_share")
    def fast(self, obj):
        return _pct(obj.fast_share)

    @admin.display(description="left", ordering="left_rate")
    def left(self, obj):
        return _pct(obj.left_rate)

    @admin.display(description="with majority", ordering="majority_agreement")
    def majority(self, obj):
        return _pct(obj.majority_agreement)
