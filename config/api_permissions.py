"""Who may use the researcher API: signed-in staff (researchers). Participants never
have Django accounts, so a participant's session gets nothing here."""

from rest_framework.permissions import BasePermission


class IsResearcher(BasePermission):
    message = "The API is for researchers: sign in or send 'Authorization: Token <key>'."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
