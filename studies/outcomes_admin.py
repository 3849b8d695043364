"""Admin inlines for a study's outcome codes and panel terms (shown on the study's page)."""

from __future__ import annotations

from django.contrib import admin

from studies.outcomes import OutcomeCode, PanelTerms


class OutcomeCodeInline(admin.TabularInline):
    model = OutcomeCode
    extra = 0
    max_num = 5
    verbose_name = "outcome code"
    verbose_name_plural = (
        "outcome codes: a code (or URL) per way a session ends; missing ones get defaults "
        "(see Study links › Prolific for the codes in use)"
    )


class PanelTermsInline(admin.StackedInline):
    model = PanelTerms
    extra = 0
    max_num = 1
    verbose_name_plural = "panel terms (Prolific study id, reward for the pro-rata bonus)"
