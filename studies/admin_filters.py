"""Admin sidebar filters that list only the studies the signed-in user may see.

Django's ``RelatedFieldListFilter`` lists every row of the related model, which would show
every study's name to every researcher. Use ``("study", VisibleStudyFilter)`` (or any path
ending in a study, ``("participant__study", VisibleStudyFilter)``) in ``list_filter``.
"""

from __future__ import annotations

from django.contrib import admin

from studies.models import Study


class VisibleStudyFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        visible = Study.objects.visible_to(request.user).order_by("name")
        return [(study.pk, str(study)) for study in visible.only("pk", "name")]
