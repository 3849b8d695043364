"""Admin forms for studies and curated gold pairs: malformed input gets a message, not a 500."""

from __future__ import annotations

from django import forms

from studies import checks, lifecycle
from studies.models import GoldPair, Study


class OptionalJSONField(forms.JSONField):
    """An empty box for "not set" (the model's NULL), instead of the literal ``null``."""

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)


class StudyAdminForm(forms.ModelForm):
    completion_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=200,
        help_text=Study._meta.get_field("completion_url").help_text,
    )

    class Meta:
        model = Study
        field_classes = {"level_edges": OptionalJSONField}
        # the admin's fieldsets decide what shows and what is read-only
        fields = [
            *("name", "slug", "question", "instructions", "consent_text", "owner", "shared_with"),
            *lifecycle.PLAN_FIELDS,
            *lifecycle.RUN_FIELDS,
            *lifecycle.SCREENING_FIELDS,
            *lifecycle.OTHER_RUN_FIELDS,
            *lifecycle.ENTRY_FIELDS,
        ]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        draft = self.instance
        for name in (
            "n_levels",
            "level_edges",
            "trials_per_participant",
            "sentinels_per_participant",
            "duplicates_per_participant",
            "min_duplicate_distance",
            "trial_type",
            "options_per_trial",
            "allow_no_difference",
        ):
            if name in cleaned:
                setattr(draft, name, cleaned[name])
        _, edge_problems = checks.study_edges(draft)
        for message in edge_problems:
            self.add_error("level_edges" if "level_edges" in self.fields else None, message)
        if "trial_type" in self.fields:
            for message in checks.trial_type_problems(draft):
                self.add_error("trial_type", message)
        if "trials_per_participant" in self.fields:
            for message in checks.trial_list_problems(draft):
                self.add_error("trials_per_participant", message)
        qualification = cleaned.get("qualification_study")
        if qualification is not None and draft.pk is not None and qualification.pk == draft.pk:
            self.add_error("qualification_study", "A study cannot be its own qualification study.")
        return cleaned


class GoldPairForm(forms.ModelForm):
    class Meta:
        model = GoldPair
        fields = ["better", "worse", "use", "note"]

    def clean(self):
        cleaned = super().clean()
        better, worse = cleaned.get("better"), cleaned.get("worse")
        if better is None or worse is None:
            return cleaned
        if better.pk == worse.pk:
            raise forms.ValidationError("Pick two different sketches: the better one and the worse one.")
        if better.category_id != worse.category_id:
            raise forms.ValidationError(
                f"Both sketches must show the same category ({better.category} vs {worse.category})."
            )
        return cleaned
