"""Staff pages' rule for studies: a researcher sees only the studies ``visible_to`` them."""

from __future__ import annotations

from studies.models import Study


class VisibleStudiesOnlyMixin:
    """An admin that lists only rows of the studies the user owns or that are shared with them.

    ``study_path`` is the lookup from the row to its study (``"participant__study"``...).
    """

    study_path = "study"

    def get_queryset(self, request):
        visible = Study.objects.visible_to(request.user)
        return super().get_queryset(request).filter(**{f"{self.study_path}__in": visible})
