"""The ticket list of the agent workspace: columns, filters, search and bulk actions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk import selectors, services
from helpdesk.admin import access, ticket_page, views
from helpdesk.admin.filters import (
    AgeFilter,
    AssigneeFilter,
    MissingInfoFilter,
    QueueFilter,
    ServiceFilter,
    WorkListFilter,
)
from helpdesk.admin.forms import TicketActionForm
from helpdesk.models import CustomerEmail, ServiceTag, Ticket

_REFERENCE = re.compile(r"^\[?#?\s*(\d{4}-\d{6})\]?$")
MISSING_BADGES = [
    ("missing_error_message", _("error message")),
    ("missing_problem_description", _("description")),
    ("missing_callback_number", _("callback no.")),
]


def _is_address(term: str) -> bool:
    # Only a whole address is looked up exactly; a part of one ("@firma.ch") is searched like any text.
    try:
        validate_email(term)
    except ValidationError:
        return False
    return True


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject_display",
        "customer_display",
        "service_tags",
        "status_badge",
        "priority_badge",
        "flags",
        "age",
        "assignee",
        "queue",
    ]
    list_display_links = ["reference", "subject_display"]
    list_filter = [
        WorkListFilter,
        "status",
        "priority",
        QueueFilter,
        AssigneeFilter,
        ServiceFilter,
        MissingInfoFilter,
        "needs_review",
        AgeFilter,
    ]
    search_fields = ["reference", "subject", "customer__name", "customer__emails__address", "messages__text"]
    search_help_text = _("Reference, subject, customer name or address, or text of a message.")
    ordering = ["-created_at"]
    list_per_page = 50
    # Counting every ticket of the desk on each page view costs more than the number is worth.
    show_full_result_count = False
    action_form = TicketActionForm
    actions = [
        "assign_to_me",
        "assign_to",
        "unassign",
        "set_status",
        "set_priority",
        "move_to_queue",
        "mark_reviewed",
        "merge",
    ]

    # --- list ------------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        primary = CustomerEmail.objects.filter(customer=OuterRef("customer_id"), is_primary=True)
        return (
            access.visible_tickets(request)
            .select_related("customer", "queue", "assignee")
            .annotate(customer_address=Subquery(primary.values("address")[:1]))
            .prefetch_related(Prefetch("services", queryset=ServiceTag.objects.order_by("slug")))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        term = search_term.strip()
        reference = _REFERENCE.match(term)
        if reference:
            return queryset.filter(reference=reference.group(1)), False
        if _is_address(term):
            # One address belongs to one customer: no duplicate rows.
            return queryset.filter(customer__emails__address__iexact=term), False
        return selectors.ticket_search(tickets=queryset, term=term), False

    @admin.display(description=_("subject"), ordering="subject")
    def subject_display(self, ticket: Ticket) -> str:
        subject = ticket.subject or gettext("(no subject)")
        return subject if len(subject) <= 70 else subject[:69] + "…"

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_display(self, ticket: Ticket) -> str:
        address = getattr(ticket, "customer_address", "") or ""
        return format_html("{}<br><small>{}</small>", ticket.customer.name or "—", address)

    @admin.display(description=_("services"))
    def service_tags(self, ticket: Ticket) -> str:
        return format_html_join(
            " ", '<span class="hd-tag">{}</span>', ((s.slug,) for s in ticket.services.all())
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, ticket: Ticket) -> str:
        return format_html(
            '<span class="hd-status hd-status-{}">{}</span>', ticket.status, ticket.get_status_display()
        )

    @admin.display(description=_("priority"), ordering="priority")
    def priority_badge(self, ticket: Ticket) -> str:
        return format_html(
            '<span class="hd-priority hd-priority-{}">{}</span>',
            ticket.priority,
            ticket.get_priority_display(),
        )

    @admin.display(description=_("missing / review"))
    def flags(self, ticket: Ticket) -> str:
        badges = [(label,) for name, label in MISSING_BADGES if getattr(ticket, name)]
        missing = format_html_join(" ", '<span class="hd-missing">{}</span>', badges)
        if not ticket.needs_review:
            return missing
        return format_html('{} <span class="hd-review">{}</span>', missing, gettext("needs review"))

    @admin.display(description=_("age"), ordering="-created_at")
    def age(self, ticket: Ticket) -> str:
        return timesince(ticket.created_at, depth=1)

    # --- permissions ---------------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tickets come from mail, the web form or the API, always through ticket_open.
        return False

    # --- the ticket page and its parts -------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                return view(request, *args, model_admin=self, **kwargs)

            return self.admin_site.admin_view(inner)

        return [
            path("language/", self.admin_site.admin_view(views.language_set), name="helpdesk_set_language"),
            path(
                "message/<int:pk>/html/",
                self.admin_site.admin_view(views.message_html),
                name="helpdesk_message_html",
            ),
            path(
                "attachment/<int:pk>/",
                self.admin_site.admin_view(views.attachment_download),
                name="helpdesk_attachment_download",
            ),
            path("<int:pk>/reply/", wrap(ticket_page.reply), name="helpdesk_ticket_reply"),
            path("<int:pk>/note/", wrap(ticket_page.note), name="helpdesk_ticket_note"),
            path("<int:pk>/update/", wrap(ticket_page.update), name="helpdesk_ticket_update"),
            path("<int:pk>/triage/", wrap(ticket_page.correct), name="helpdesk_ticket_correct"),
            path("<int:pk>/merge/", wrap(ticket_page.merge), name="helpdesk_ticket_merge"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not object_id.isdigit():
            raise Http404
        return ticket_page.page(self, request, int(object_id))

    # --- bulk actions --------------------------------------------------------------------------------

    def _param(self, request: HttpRequest, name: str) -> Any:
        """Return the cleaned value of one field of the action bar (None when empty or invalid)."""
        field = TicketActionForm().fields[name]
        try:
            return field.clean(request.POST.get(name, "")) or None
        except ValidationError:
            return None

    def _report(self, request: HttpRequest, done: int, skipped: int = 0) -> None:
        self.message_user(request, gettext("%(n)d tickets changed.") % {"n": done}, messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                gettext("%(n)d tickets skipped: the agent does not work their queue.") % {"n": skipped},
                messages.WARNING,
            )

    def _assign(self, request: HttpRequest, queryset: QuerySet[Ticket], assignee: Any) -> None:
        done = skipped = 0
        for ticket in queryset:
            if assignee is not None and not access.may_work_on(assignee, ticket):
                skipped += 1
                continue
            services.ticket_assign(ticket=ticket, assignee=assignee, actor=access.actor(request))
            done += 1
        self._report(request, done, skipped)

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._assign(request, queryset, access.actor(request))

    @admin.action(description=_("Assign to the chosen agent"), permissions=["change"])
    def assign_to(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        assignee = self._param(request, "assignee")
        if assignee is None:
            self.message_user(request, gettext("Choose an agent first."), messages.WARNING)
            return
        self._assign(request, queryset, assignee)

    @admin.action(description=_("Unassign"), permissions=["change"])
    def unassign(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._assign(request, queryset, None)

    @admin.action(description=_("Set the chosen status"), permissions=["change"])
    def set_status(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        status = self._param(request, "status")
        if status is None:
            self.message_user(request, gettext("Choose a status first."), messages.WARNING)
            return
        for ticket in queryset:
            services.ticket_set_status(ticket=ticket, status=status, actor=access.actor(request))
        self._report(request, len(queryset))

    @admin.action(description=_("Set the chosen priority"), permissions=["change"])
    def set_priority(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        priority = self._param(request, "priority")
        if priority is None:
            self.message_user(request, gettext("Choose a priority first."), messages.WARNING)
            return
        for ticket in queryset:
            services.ticket_set_priority(ticket=ticket, priority=priority, actor=access.actor(request))
        self._report(request, len(queryset))

    @admin.action(description=_("Move to the chosen queue"), permissions=["change"])
    def move_to_queue(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        queue = self._param(request, "queue")
        if queue is None:
            self.message_user(request, gettext("Choose a queue first."), messages.WARNING)
            return
        for ticket in queryset:
            services.ticket_move(ticket=ticket, queue=queue, actor=access.actor(request))
        self._report(request, len(queryset))

    @admin.action(description=_("Mark reviewed"), permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        tickets = list(queryset.filter(needs_review=True))
        for ticket in tickets:
            services.ticket_mark_reviewed(ticket=ticket, actor=access.actor(request))
        self._report(request, len(tickets))

    @admin.action(description=_("Merge the selected tickets"), permissions=["change"])
    def merge(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        selected = list(queryset.order_by("created_at", "pk"))
        reference = self._param(request, "target")
        if reference:
            target = self.get_queryset(request).filter(reference=reference.strip().lstrip("#")).first()
            if target is None:
                self.message_user(request, gettext("No ticket %(ref)s in your queues.") % {"ref": reference})
                return
        elif len(selected) < 2:
            self.message_user(request, gettext("Select at least two tickets to merge."), messages.WARNING)
            return
        else:
            target = selected[0]
        sources = [t for t in selected if t.pk != target.pk]
        try:
            with transaction.atomic():
                for source in sources:
                    services.ticket_merge(source=source, target=target, actor=access.actor(request))
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request,
            gettext("%(n)d tickets merged into %(ref)s.") % {"n": len(sources), "ref": target.reference},
            messages.SUCCESS,
        )
