"""API shapes: what tickets, customers and messages look like outside, and what writes must send.

Serializers only read and validate; every change goes through one service, called by the view.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from helpdesk import reports, selectors
from helpdesk.api.filters import KEY_RE
from helpdesk.models import (
    Attachment,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Language,
    Message,
    Priority,
    Queue,
    ServiceTag,
    Ticket,
    TicketService,
    TicketStatus,
)
from mailbridge.models import Mailbox, OutboxMail
from triage.models import TriageRun

MAX_TEXT = 100_000  # characters; far beyond any real mail, short of a denial of service


class KeyRelatedField(serializers.SlugRelatedField):
    """An object named by its key: only key-shaped text is looked up (a NUL byte never reaches SQL)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not KEY_RE.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:50])
        return super().to_internal_value(data)


# --- reading ---------------------------------------------------------------------------------------


class TicketServiceSerializer(serializers.ModelSerializer):
    service: serializers.SlugRelatedField[ServiceTag] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = TicketService
        fields = ["service", "source", "confidence"]


class TicketSerializer(serializers.ModelSerializer):
    queue: serializers.SlugRelatedField[Queue] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    assignee_username = serializers.CharField(source="assignee.username", read_only=True, allow_null=True)
    services = TicketServiceSerializer(source="service_links", many=True, read_only=True)
    # Declared: read-only model fields lose allow_blank, and "" (not yet known) is a value here.
    language = serializers.ChoiceField(choices=Language.choices, allow_blank=True, read_only=True)
    merged_into: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True, allow_null=True
    )
    linked_to: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True, allow_null=True
    )

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "subject",
            "status",
            "priority",
            "queue",
            "customer",
            "customer_name",
            "assignee",
            "assignee_username",
            "services",
            "language",
            "missing_error_message",
            "missing_problem_description",
            "missing_callback_number",
            "callback_requested",
            "callback_number",
            "error_message",
            "needs_review",
            "merged_into",
            "linked_to",
            "created_at",
            "updated_at",
            "first_response_at",
            "resolved_at",
            "last_customer_message_at",
        ]
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "message", "filename", "content_type", "size", "sha256", "inline", "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return reverse("api:attachment-download", args=[attachment.pk], request=self.context.get("request"))


class MessageSerializer(serializers.ModelSerializer):
    ticket: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True
    )
    author_username = serializers.CharField(source="author.username", read_only=True, allow_null=True)
    to = serializers.ListField(child=serializers.CharField(), read_only=True)
    cc = serializers.ListField(child=serializers.CharField(), read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "direction",
            "kind",
            "author",
            "author_username",
            "from_name",
            "from_address",
            "to",
            "cc",
            "subject",
            "message_id",
            "in_reply_to",
            "text",
            "reply_text",
            "html",
            "sent_at",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields


class CustomerEmailSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerEmail
        fields = ["address", "is_primary", "undeliverable"]


class CustomerPhoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerPhone
        fields = ["number", "label"]


class CustomerSerializer(serializers.ModelSerializer):
    emails = CustomerEmailSerializer(many=True, read_only=True)
    language = serializers.ChoiceField(choices=Language.choices, allow_blank=True, read_only=True)
    phones = CustomerPhoneSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "language", "account_ref", "notes", "created_at", "emails", "phones"]
        read_only_fields = fields


class TriageRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TriageRun
        fields = ["model_version", "result", "actions", "created_at"]
        read_only_fields = fields


class TicketDetailSerializer(TicketSerializer):
    """A ticket with its customer, its conversation and what triage decided last."""

    customer_detail = CustomerSerializer(source="customer", read_only=True)
    messages = MessageSerializer(many=True, read_only=True)
    latest_triage = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "customer_detail", "messages", "latest_triage"]
        read_only_fields = fields

    @extend_schema_field(TriageRunSerializer(allow_null=True))
    def get_latest_triage(self, ticket: Ticket) -> dict[str, Any] | None:
        # The view looks the run up through triage's own service and hands it over.
        run = self.context.get("triage_run")
        return TriageRunSerializer(run).data if run is not None else None


class OutboxMailSerializer(serializers.ModelSerializer):
    message: serializers.PrimaryKeyRelatedField[Message] = serializers.PrimaryKeyRelatedField(
        source="ticket_message", read_only=True, allow_null=True
    )
    to = serializers.ListField(child=serializers.CharField(), read_only=True)
    cc = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = OutboxMail
        fields = ["id", "message", "status", "to", "cc", "subject", "created_at", "sent_at"]
        read_only_fields = fields


class MailboxStatusSerializer(serializers.ModelSerializer):
    quarantined = serializers.IntegerField(read_only=True, help_text=_("Fetched mail held in quarantine."))
    pending = serializers.IntegerField(read_only=True, help_text=_("Fetched mail not yet ingested."))

    class Meta:
        model = Mailbox
        fields = [
            "id",
            "name",
            "kind",
            "address",
            "enabled",
            "poll_interval",
            "last_poll_at",
            "last_poll_ok",
            "last_error",
            "quarantined",
            "pending",
        ]
        read_only_fields = fields


# --- writing (validation only) ---------------------------------------------------------------------


class TicketSubmitSerializer(serializers.Serializer):
    """A web contact form's submission: it becomes a ticket exactly like an incoming mail."""

    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    address = serializers.EmailField(max_length=254)
    subject = serializers.CharField(max_length=500)
    text = serializers.CharField(max_length=MAX_TEXT)
    queue = KeyRelatedField(
        slug_field="slug", queryset=Queue.objects.all(), required=False, help_text=_("Default: support.")
    )
    language = serializers.ChoiceField(choices=Language.choices, allow_blank=True, default="")

    class Meta:
        fields = ["name", "address", "subject", "text", "queue", "language"]

    def validate_subject(self, value: str) -> str:
        # A subject is one line: it ends up in mail headers.
        return " ".join(value.split())


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_TEXT)
    cc = serializers.ListField(child=serializers.EmailField(max_length=254), max_length=20, default=list)

    class Meta:
        fields = ["text", "cc"]


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)

    class Meta:
        fields = ["status"]


class PrioritySerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)

    class Meta:
        fields = ["priority"]


class AssigneeSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, is_staff=True),
        allow_null=True,
        help_text=_("User id of an agent of the ticket's queue, or null to unassign."),
    )

    class Meta:
        fields = ["assignee"]

    def validate_assignee(self, value: User | None) -> User | None:
        ticket: Ticket = self.context["ticket"]
        if value is None or selectors.user_sees_all_queues(value):
            return value
        if not ticket.queue.members.filter(pk=value.pk).exists():
            raise serializers.ValidationError(_("This user does not work the ticket's queue."))
        return value


class ServicesSerializer(serializers.Serializer):
    services = serializers.ListField(
        child=serializers.SlugField(max_length=50),
        max_length=20,
        allow_empty=True,
        help_text=_("Service keys."),
    )

    class Meta:
        fields = ["services"]

    def validate_services(self, value: list[str]) -> list[str]:
        known = set(ServiceTag.objects.values_list("slug", flat=True))
        unknown = sorted(set(value) - known)
        if unknown:
            raise serializers.ValidationError(
                _("Unknown services: %(unknown)s. Known: %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(known))}
            )
        return sorted(set(value))


# --- dashboard figures -----------------------------------------------------------------------------


class DashboardQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text=_("First day (default: 29 days before end)."))
    end = serializers.DateField(required=False, help_text=_("Last day, included (default: today)."))
    queue = KeyRelatedField(
        slug_field="slug", queryset=Queue.objects.all(), required=False, help_text=_("Default: all queues.")
    )

    class Meta:
        fields = ["start", "end", "queue"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        default_start, default_end = reports.scope_default_period()
        end = attrs.get("end") or default_end
        start = attrs.get("start") or end - (default_end - default_start)
        problem = reports.scope_problem(start=start, end=end)
        if problem:
            raise serializers.ValidationError({"start": [problem]})
        return {"start": start, "end": end, "queue": attrs.get("queue")}


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    queue = serializers.CharField(allow_null=True)

    class Meta:
        fields = ["start", "end", "queue"]


class VolumeRowSerializer(serializers.Serializer):
    day = serializers.DateField()
    service = serializers.CharField()
    new = serializers.IntegerField()
    resolved = serializers.IntegerField()

    class Meta:
        fields = ["day", "service", "new", "resolved"]


class BacklogRowSerializer(serializers.Serializer):
    status = serializers.CharField()
    queue = serializers.CharField()
    age = serializers.CharField()
    tickets = serializers.IntegerField()

    class Meta:
        fields = ["status", "queue", "age", "tickets"]


class DurationStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True, help_text=_("Seconds."))
    p90 = serializers.FloatField(allow_null=True, help_text=_("Seconds."))

    class Meta:
        fields = ["count", "median", "p90"]


class ResponseTimesSerializer(serializers.Serializer):
    first_response = DurationStatsSerializer()
    resolution = DurationStatsSerializer()

    class Meta:
        fields = ["first_response", "resolution"]


class DetailRequestsSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    tickets = serializers.IntegerField()
    answered_tickets = serializers.IntegerField()
    answer_time = DurationStatsSerializer()

    class Meta:
        fields = ["requests", "tickets", "answered_tickets", "answer_time"]


class CorrectionRowSerializer(serializers.Serializer):
    service = serializers.CharField()
    tagged = serializers.IntegerField()
    removed = serializers.IntegerField()
    added = serializers.IntegerField()
    corrected_share = serializers.FloatField(allow_null=True)
    precision = serializers.FloatField(allow_null=True)

    class Meta:
        fields = ["service", "tagged", "removed", "added", "corrected_share", "precision"]


class EmergencyRowSerializer(serializers.Serializer):
    day = serializers.DateField()
    tickets = serializers.IntegerField()
    callbacks = serializers.IntegerField()

    class Meta:
        fields = ["day", "tickets", "callbacks"]


class ErrorRowSerializer(serializers.Serializer):
    error_message = serializers.CharField()
    tickets = serializers.IntegerField()

    class Meta:
        fields = ["error_message", "tickets"]


class DashboardSerializer(serializers.Serializer):
    period = PeriodSerializer()
    volume = VolumeRowSerializer(many=True)
    backlog = BacklogRowSerializer(many=True)
    response_times = ResponseTimesSerializer()
    detail_requests = DetailRequestsSerializer()
    corrections = CorrectionRowSerializer(many=True)
    emergency = EmergencyRowSerializer(many=True)
    top_errors = ErrorRowSerializer(many=True)

    class Meta:
        fields = [
            "period",
            "volume",
            "backlog",
            "response_times",
            "detail_requests",
            "corrections",
            "emergency",
            "top_errors",
        ]
