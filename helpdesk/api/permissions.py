"""Who may call what: the Django permissions of the admin, per view action, and the managers' figures."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from helpdesk.reports import user_reads_dashboards


def _active(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


class ActionPermissions(BasePermission):
    """Allow a viewset action only to users holding every permission the view lists for it.

    Which tickets (and so which messages and attachments) a user reaches is decided by the
    view's queryset (helpdesk.selectors.ticket_list_for_user): agents see their queues only.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not _active(request.user):
            return False
        action = getattr(view, "action", None)
        if action is None:
            # OPTIONS describes the endpoint; nothing else reaches a viewset without an action.
            return request.method == "OPTIONS"
        required: dict[str, tuple[str, ...]] = getattr(view, "action_permissions", {})
        if action not in required:
            return False  # an action nobody listed is closed
        return bool(request.user.has_perms(required[action]))


class ReadsDashboards(BasePermission):
    """Allow the managers (and admins) who read the dashboards."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return _active(request.user) and user_reads_dashboards(user=request.user)
