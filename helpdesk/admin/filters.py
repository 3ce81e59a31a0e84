"""Sidebar filters of the ticket list; each costs at most one small query, whatever the page size."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.admin.access import sees_all_queues
from helpdesk.models import Priority, Queue, ServiceTag, Ticket, TicketStatus

CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class WorkListFilter(admin.SimpleListFilter):
    title = _("work list")
    parameter_name = "work"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [
            ("mine", _("Assigned to me")),
            ("unassigned", _("Unassigned")),
            ("emergency", _("Emergency")),
            ("waiting", _("Waiting on customer")),
            ("open", _("Not resolved")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value == "mine":
            return queryset.filter(assignee_id=request.user.pk)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True).exclude(status__in=CLOSED)
        if value == "emergency":
            # The emergency mailbox's queue, and anything marked urgent elsewhere.
            return queryset.filter(Q(queue__slug="emergency") | Q(priority=Priority.URGENT)).exclude(
                status__in=CLOSED
            )
        if value == "waiting":
            return queryset.filter(status=TicketStatus.WAITING)
        if value == "open":
            return queryset.exclude(status__in=CLOSED)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        staff = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        return [("none", _("Nobody")), *((str(u.pk), u.get_full_name() or u.get_username()) for u in staff)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        queues = Queue.objects.order_by("name")
        if not sees_all_queues(request):
            queues = queues.filter(members__pk=request.user.pk or 0)
        return [(q.slug, q.name) for q in queues]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return queryset.filter(queue__slug=self.value()) if self.value() else queryset


class ServiceFilter(admin.SimpleListFilter):
    title = _("service")
    parameter_name = "service"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [("none", _("No service tagged")), *((s.slug, s.name) for s in ServiceTag.objects.all())]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value == "none":
            return queryset.filter(service_links__isnull=True)
        # One link per (ticket, service): this join never duplicates a ticket.
        return queryset.filter(service_links__service__slug=value) if value else queryset


class MissingInfoFilter(admin.SimpleListFilter):
    title = _("missing information")
    parameter_name = "missing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [
            ("any", _("Anything missing")),
            ("error", _("Error message")),
            ("description", _("Problem description")),
            ("callback", _("Callback number")),
            ("complete", _("Nothing missing")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        flags = {
            "error": Q(missing_error_message=True),
            "description": Q(missing_problem_description=True),
            "callback": Q(missing_callback_number=True),
        }
        anything = flags["error"] | flags["description"] | flags["callback"]
        value = self.value()
        if value == "any":
            return queryset.filter(anything)
        if value == "complete":
            return queryset.exclude(anything)
        return queryset.filter(flags[value]) if value in flags else queryset


class AgeFilter(admin.SimpleListFilter):
    title = _("age")
    parameter_name = "age"
    _LIMITS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [
            ("1h", _("Less than an hour")),
            ("1d", _("Less than a day")),
            ("7d", _("Less than a week")),
            ("old", _("Older than a week")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value, now = self.value(), timezone.now()
        if value in self._LIMITS:
            return queryset.filter(created_at__gte=now - self._LIMITS[value])
        if value == "old":
            return queryset.filter(created_at__lt=now - self._LIMITS["7d"])
        return queryset
