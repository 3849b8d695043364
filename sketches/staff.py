"""The one gate of every staff page outside the admin: ``@staff_required``.

A signed-in, active staff user (holding ``perm`` when one is named) gets the page. Anyone
else gets the same answer everywhere: 403 with the forbidden page, which offers a sign-in
link to an anonymous visitor and says why to a signed-in non-researcher. It lives in the
first app of the data flow so that every app's views can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.shortcuts import render
from django.urls import reverse


def is_staff(user, perm: str | None = None) -> bool:
    """A signed-in, active staff user, holding ``perm`` if one is named."""
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and (perm is None or user.has_perm(perm))
    )


def refused(request, perm: str | None = None):
    """The 403 page of every staff page."""
    context = {
        "signed_in": request.user.is_authenticated,
        "login_url": f"{reverse('admin:login')}?next={request.path}",
        "perm": perm,
    }
    return render(request, "staff/forbidden.html", context, status=403)


def staff_required(view: Callable | None = None, *, perm: str | None = None):
    """``@staff_required`` or ``@staff_required(perm="app.view_model")`` on a function view."""

    def decorate(inner: Callable) -> Callable:
        @wraps(inner)
        def wrapper(request, *args, **kwargs):
            if not is_staff(request.user, perm):
                return refused(request, perm)
            return inner(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


class ReadOnlyAdminMixin:
    """An admin (or inline) whose rows nobody adds or edits by hand: they come from actions.

    ``deletable = True`` keeps the model's own delete permission (e.g. clearing old jobs).
    """

    deletable = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)
