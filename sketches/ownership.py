"""Who owns the shared research objects (see "Ownership" in sketches/README.md).

- Categories are the shared vocabulary: every researcher reads them and imports into them;
  only a superuser adds, renames or deletes one (a rename would change every study using it).
- Import batches are private to the researcher who uploaded them (file name, report).
- Scorers, scoring runs and scores are a shared resource: every researcher reads them and may
  use a ready scorer; only its creator (or a superuser) retrains or deletes a scorer or cancels a run.
- Studies: owner plus ``shared_with`` (``Study.objects.visible_to``).

Superusers own everything. Objects made from the command line have no creator: an import
batch without one belongs to superusers (the operator's files), a scorer or run without one
to every researcher (``unowned_shared=True``: the demo's scorers, ``manage.py train_scorer``).
"""

from __future__ import annotations

from django.db.models import Q


def is_owner(user, obj, field: str = "created_by", *, unowned_shared: bool = False) -> bool:
    """The user created ``obj`` (``<field>_id``), or is a superuser."""
    if user.is_superuser:
        return True
    owner_id = getattr(obj, f"{field}_id")
    if owner_id is None:
        return unowned_shared
    return owner_id == user.pk


def owned_by(queryset, user, field: str = "created_by", *, unowned_shared: bool = False):
    """The rows of ``queryset`` the user created (superusers: all)."""
    if user.is_superuser:
        return queryset
    mine = Q(**{field: user})
    return queryset.filter(mine | Q(**{f"{field}__isnull": True}) if unowned_shared else mine)
