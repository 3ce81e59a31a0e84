"""API views: read-only viewsets for reading, one action per state change, each calling one service."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from helpdesk import reports, selectors, services
from helpdesk.api import serializers as s
from helpdesk.api.filters import AttachmentFilter, DeskSearchFilter, MessageFilter, TicketFilter
from helpdesk.api.pagination import NewestFirstPagination, RecentlyUpdatedPagination
from helpdesk.api.permissions import ActionPermissions, ReadsDashboards
from helpdesk.models import Attachment, Customer, Message, Ticket
from mailbridge import outgoing
from mailbridge.models import InboundStatus, Mailbox
from triage import services as triage_services

VIEW_TICKET = "helpdesk.view_ticket"
CHANGE_TICKET = "helpdesk.change_ticket"
FILTERS = [DjangoFilterBackend, DeskSearchFilter]
# Any value but a NUL byte (PostgreSQL refuses it in text) reaches the view.
ANY = "[^/\x00]+"


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer unknown API addresses in JSON, like every other API error; the rest as Django does."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(_("Not found."))}, status=404)
    return defaults.page_not_found(request, exception)


def _validated(serializer_class: type[serializers.Serializer], data: Any, **context: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return cast(dict[str, Any], serializer.validated_data)


def _refused(exc: ValueError) -> ValidationError:
    """A service refused the change: tell the caller why, as a 400."""
    return ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]})


def _agent(request: Request) -> User:
    return cast(User, request.user)


@extend_schema_view(
    list=extend_schema(summary="List tickets", description="Only tickets of the queues you work."),
    retrieve=extend_schema(summary="A ticket with its customer, messages and latest triage"),
)
class TicketViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "reference"
    # Any value reaches the view, so a malformed one gets the API's JSON 404 rather than a page.
    lookup_value_regex = ANY
    parser_classes = [JSONParser]
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": (VIEW_TICKET,),
        "retrieve": (VIEW_TICKET,),
        "create": ("helpdesk.add_ticket",),
        "reply": (VIEW_TICKET, "helpdesk.add_message"),
        "set_status": (CHANGE_TICKET,),
        "set_priority": (CHANGE_TICKET,),
        "set_assignee": (CHANGE_TICKET,),
        "set_services": (CHANGE_TICKET,),
    }
    filter_backends = FILTERS
    filterset_class = TicketFilter
    search_fields = ["=reference", "subject", "customer__name", "customer__emails__address"]
    pagination_class = RecentlyUpdatedPagination
    throttle_scope = ""

    def get_queryset(self) -> QuerySet[Ticket]:
        tickets = (
            selectors.ticket_list_for_user(user=self.request.user)
            .select_related("queue", "customer", "assignee", "merged_into", "linked_to")
            .prefetch_related("service_links__service")
        )
        if self.action == "retrieve":
            messages = Message.objects.select_related("ticket", "author").prefetch_related("attachments")
            tickets = tickets.prefetch_related(
                "customer__emails", "customer__phones", Prefetch("messages", queryset=messages)
            )
        return tickets

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return s.TicketDetailSerializer if self.action == "retrieve" else s.TicketSerializer

    def get_throttles(self) -> list[Any]:
        # Submissions come from public forms: they have a stricter rate of their own.
        self.throttle_scope = "ticket_submit" if self.action == "create" else ""
        return super().get_throttles()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.get_object()
        run = triage_services.ticket_latest_run(ticket=ticket)
        context = {**self.get_serializer_context(), "triage_run": run}
        return Response(s.TicketDetailSerializer(ticket, context=context).data)

    def _fresh(self, ticket: Ticket) -> Response:
        fresh = self.get_queryset().get(pk=ticket.pk)
        return Response(s.TicketSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Open a ticket (web contact form, integrations)",
        description="The same triage and automatic answer as an incoming mail.",
        request=s.TicketSubmitSerializer,
        responses={201: s.TicketSerializer},
    )
    def create(self, request: Request) -> Response:
        data = _validated(s.TicketSubmitSerializer, request.data)
        queue = data.get("queue") or selectors.queue_get(slug="support")
        ticket = services.ticket_submit(
            name=data["name"],
            address=data["address"],
            subject=data["subject"],
            text=data["text"],
            queue=queue,
            language=data["language"],
        )
        fresh = Ticket.objects.select_related("queue", "customer").get(pk=ticket.pk)
        body = s.TicketSerializer(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reply to the customer by mail",
        request=s.ReplySerializer,
        responses={202: s.OutboxMailSerializer},
    )
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _validated(s.ReplySerializer, request.data)
        try:
            outbox = outgoing.agent_reply_send(
                ticket=ticket, author=_agent(request), text=data["text"], cc=data["cc"]
            )
        except ValueError as exc:
            raise _refused(exc) from exc
        # Accepted: the mail is queued and sent once the transaction commits.
        return Response(s.OutboxMailSerializer(outbox).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Change the status", request=s.StatusSerializer, responses={200: s.TicketSerializer}
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _validated(s.StatusSerializer, request.data)
        services.ticket_set_status(ticket=ticket, status=data["status"], actor=_agent(request))
        return self._fresh(ticket)

    @extend_schema(
        summary="Change the priority", request=s.PrioritySerializer, responses={200: s.TicketSerializer}
    )
    @action(detail=True, methods=["post"], url_path="priority")
    def set_priority(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _validated(s.PrioritySerializer, request.data)
        services.ticket_set_priority(ticket=ticket, priority=data["priority"], actor=_agent(request))
        return self._fresh(ticket)

    @extend_schema(
        summary="Assign (or unassign)", request=s.AssigneeSerializer, responses={200: s.TicketSerializer}
    )
    @action(detail=True, methods=["post"], url_path="assignee")
    def set_assignee(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _validated(s.AssigneeSerializer, request.data, ticket=ticket)
        services.ticket_assign(ticket=ticket, assignee=data["assignee"], actor=_agent(request))
        return self._fresh(ticket)

    @extend_schema(
        summary="Set the affected services",
        description="Kept as a correction of the classifier when it differs from what triage tagged.",
        request=s.ServicesSerializer,
        responses={200: s.TicketSerializer},
    )
    @action(detail=True, methods=["post"], url_path="services")
    def set_services(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _validated(s.ServicesSerializer, request.data)
        try:
            triage_services.ticket_correct_services(
                ticket=ticket, services=data["services"], agent=_agent(request)
            )
        except ValueError as exc:
            raise _refused(exc) from exc
        return self._fresh(ticket)


class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers; agents see those with a ticket in one of their queues."""

    lookup_value_regex = ANY

    serializer_class = s.CustomerSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"list": ("helpdesk.view_customer",), "retrieve": ("helpdesk.view_customer",)}
    filter_backends = [DeskSearchFilter]
    search_fields = ["name", "emails__address", "account_ref"]
    pagination_class = NewestFirstPagination

    def get_queryset(self) -> QuerySet[Customer]:
        return selectors.customer_list_for_user(user=self.request.user).prefetch_related("emails", "phones")


class MessageViewSet(viewsets.ReadOnlyModelViewSet):
    """Messages of the tickets you may see (customer mail, replies, automatic mail, internal notes)."""

    lookup_value_regex = ANY

    serializer_class = s.MessageSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"list": ("helpdesk.view_message",), "retrieve": ("helpdesk.view_message",)}
    filter_backends = FILTERS
    filterset_class = MessageFilter
    search_fields = ["subject", "from_address", "text"]
    pagination_class = NewestFirstPagination

    def get_queryset(self) -> QuerySet[Message]:
        visible = selectors.ticket_list_for_user(user=self.request.user).values("pk")
        return (
            Message.objects.filter(ticket__in=visible)
            .select_related("ticket", "author")
            .prefetch_related("attachments")
        )


class AttachmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Attachments of the tickets you may see; download serves the bytes, never renders them."""

    lookup_value_regex = ANY

    serializer_class = s.AttachmentSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": ("helpdesk.view_attachment",),
        "retrieve": ("helpdesk.view_attachment",),
        "download": ("helpdesk.view_attachment",),
    }
    filter_backends = [DjangoFilterBackend]
    filterset_class = AttachmentFilter
    pagination_class = NewestFirstPagination

    def get_queryset(self) -> QuerySet[Attachment]:
        visible = selectors.ticket_list_for_user(user=self.request.user).values("pk")
        # Pages follow the messages' time (attachments have none of their own).
        return Attachment.objects.filter(message__ticket__in=visible).annotate(
            created_at=F("message__created_at")
        )

    @extend_schema(
        summary="Download the file",
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except OSError as exc:
            raise NotFound(_("The file of this attachment is missing from storage.")) from exc
        # The sender chose the content type: never let a browser render the file as a page of ours.
        response = FileResponse(
            handle, as_attachment=True, filename=attachment.filename, content_type="application/octet-stream"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["Referrer-Policy"] = "no-referrer"
        return response


class MailboxViewSet(viewsets.ReadOnlyModelViewSet):
    """Whether each mailbox is being read: last poll, its error, mail held back."""

    lookup_value_regex = ANY

    serializer_class = s.MailboxStatusSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"list": ("mailbridge.view_mailbox",), "retrieve": ("mailbridge.view_mailbox",)}
    pagination_class = None

    def get_queryset(self) -> QuerySet[Mailbox]:
        return Mailbox.objects.annotate(
            quarantined=Count("inbound", filter=Q(inbound__status=InboundStatus.QUARANTINED)),
            pending=Count("inbound", filter=Q(inbound__status=InboundStatus.STORED)),
        ).order_by("name")


class DashboardView(APIView):
    """The managers' dashboard figures for a period and queue."""

    permission_classes = [ReadsDashboards]

    @extend_schema(
        summary="Dashboard figures",
        parameters=[s.DashboardQuerySerializer],
        responses={200: s.DashboardSerializer},
    )
    def get(self, request: Request) -> Response:
        query = _validated(s.DashboardQuerySerializer, request.query_params)
        queue = query["queue"]
        scope = reports.ReportScope(
            start=query["start"], end=query["end"], queue_id=queue.pk if queue else None
        )
        figures = reports.dashboard_figures(scope=scope)
        body = {
            **{key: value for key, value in figures.items() if key != "scope"},
            "period": {"start": scope.start, "end": scope.end, "queue": queue.slug if queue else None},
        }
        return Response(s.DashboardSerializer(body).data)
