"""Admin for a study's outcome codes and panel terms (own pages, so the study form keeps its shape)."""

from __future__ import annotations

from django.contrib import admin

from studies.admin_filters import VisibleStudyFilter
from studies.models import Study
from studies.outcomes import OutcomeCode, PanelTerms
from studies.questionnaires import Question


class _OwnStudies:
    def get_queryset(self, request):
        return super().get_queryset(request).filter(study__in=Study.objects.visible_to(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "study":
            kwargs["queryset"] = Study.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(OutcomeCode)
class OutcomeCodeAdmin(_OwnStudies, admin.ModelAdmin):
    """A code (or URL) per way a session ends; an outcome without a row gets its default."""

    list_display = ["study", "outcome", "code", "url", "action"]
    list_filter = [("study", VisibleStudyFilter), "outcome"]


@admin.register(PanelTerms)
class PanelTermsAdmin(_OwnStudies, admin.ModelAdmin):
    """The reward the pro-rata bonus is a share of (the Prolific id is on the study itself)."""

    list_display = ["study", "reward"]


@admin.register(Question)
class QuestionAdmin(_OwnStudies, admin.ModelAdmin):
    """Optional pre-task (demographics, comprehension check with two attempts) and post-task (feedback)
    questions of a study; their answers are in the study's Prolific page export and the API."""

    list_display = ["study", "phase", "order", "kind", "text", "required"]
    list_filter = [("study", VisibleStudyFilter), "phase", "kind"]
    list_editable = ["order"]
