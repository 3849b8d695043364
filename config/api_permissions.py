"""Who may use the researcher API, and what they may do with it.

- ``IsResearcher``: signed-in, active staff. Participants never have Django accounts, so a
  participant's session gets nothing here.
- ``ResearcherModelPermissions``: the Django model permissions, the same ones the admin checks.
  Reading needs ``view_<model>`` (the admin's read-only view), creating ``add_<model>``,
  editing ``change_<model>``, deleting ``delete_<model>``. A viewset's extra actions name
  what they need in ``action_permissions`` (``{"launch": "change", "plan": "view"}``); an
  unnamed extra action needs ``view`` for GET and ``change`` otherwise.

Which rows a user reaches is the viewsets' ``get_queryset`` (own and shared studies, own
imports...): a row outside it answers 404, exactly like a row that does not exist.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

#: The permission a standard viewset action needs.
STANDARD_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


class IsResearcher(BasePermission):
    message = "The API is for researchers: sign in or send 'Authorization: Token <key>'."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def required_permission(request, view) -> str:
    """'view', 'add', 'change' or 'delete' for this request on this view."""
    action = getattr(view, "action", None)
    named = getattr(view, "action_permissions", {})
    if action in named:
        return named[action]
    if action in STANDARD_ACTIONS:
        return STANDARD_ACTIONS[action]
    return "view" if request.method in SAFE_METHODS else "change"


def view_model(view):
    """The model whose permissions guard this view (``permission_model``, else the queryset's)."""
    model = getattr(view, "permission_model", None)
    if model is not None:
        return model
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        queryset = view.get_queryset()
    return queryset.model


class ResearcherModelPermissions(BasePermission):
    message = "Your account lacks the permission for this (ask an administrator to grant it)."

    def has_permission(self, request, view) -> bool:
        if getattr(view, "swagger_fake_view", False):
            return True
        if request.method == "OPTIONS":
            return bool(request.user and request.user.is_authenticated)
        model = view_model(view)
        meta = model._meta
        codename = f"{meta.app_label}.{required_permission(request, view)}_{meta.model_name}"
        return request.user.has_perm(codename)
