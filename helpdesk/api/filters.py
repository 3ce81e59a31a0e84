"""Query-string filters of the API; a bad value answers 400 naming the parameter."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField, ModelMultipleChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import SearchFilter
from rest_framework.request import Request

from helpdesk.models import (
    Attachment,
    Direction,
    Message,
    MessageKind,
    Priority,
    Queue,
    ServiceTag,
    Ticket,
    TicketStatus,
)

DB_ID_MAX = 2**63 - 1
KEY_RE = re.compile(r"[-a-zA-Z0-9_]{1,50}")
MISSING_CHOICES = [
    ("error_message", _("error message")),
    ("problem_description", _("problem description")),
    ("callback_number", _("callback number")),
]


@extend_schema_field(OpenApiTypes.INT64)
class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number in the range of the column (no decimals, no overflow)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", DB_ID_MAX)
        super().__init__(*args, **kwargs)


class InstantField(IsoDateTimeField):
    """An ISO 8601 date and time, kept in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python allows."""

    def to_python(self, value: Any) -> datetime | None:
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError(_("This date and time is out of range."), code="invalid") from exc


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


class KeysField(ModelMultipleChoiceField):
    """Keys of objects; only key-shaped text is looked up (a NUL byte never reaches SQL)."""

    def clean(self, value: Any) -> Any:
        for key in value or ():
            if not isinstance(key, str) or not KEY_RE.fullmatch(key):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": str(key)[:50]},
                )
        return super().clean(value)


@extend_schema_field(OpenApiTypes.STR)
class KeysFilter(django_filters.ModelMultipleChoiceFilter):
    """Objects named by their key (slug); several match any of them."""

    field_class = KeysField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "slug")
        super().__init__(*args, **kwargs)


class DeskSearchFilter(SearchFilter):
    """DRF's search, with its complaints (e.g. a NUL byte) filed under the search parameter."""

    def get_search_terms(self, request: Request) -> list[str]:
        try:
            return list(super().get_search_terms(request))
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc


class TicketFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    queue = KeysFilter(field_name="queue__slug", queryset=Queue.objects.all(), help_text=_("Queue key."))
    service = KeysFilter(
        field_name="services__slug",
        queryset=ServiceTag.objects.all(),
        help_text=_("Service key; several match any of them."),
    )
    missing = django_filters.MultipleChoiceFilter(
        choices=MISSING_CHOICES,
        method="filter_missing",
        help_text=_("Tickets still missing this information (several match any of them)."),
    )
    customer = IdFilter(field_name="customer_id")
    assignee = IdFilter(field_name="assignee_id")
    needs_review = django_filters.BooleanFilter()
    updated_since = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text=_("ISO 8601 date and time.")
    )

    class Meta:
        model = Ticket
        fields = [
            "status",
            "priority",
            "queue",
            "service",
            "missing",
            "customer",
            "assignee",
            "needs_review",
            "updated_since",
        ]

    def filter_missing(self, queryset: QuerySet[Ticket], name: str, value: list[str]) -> QuerySet[Ticket]:
        wanted = Q()
        for item in value:
            wanted |= Q(**{f"missing_{item}": True})
        return queryset.filter(wanted)


class MessageFilter(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__reference", max_length=20)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    kind = django_filters.MultipleChoiceFilter(choices=MessageKind.choices)
    since = InstantFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Message
        fields = ["ticket", "direction", "kind", "since"]


class AttachmentFilter(django_filters.FilterSet):
    message = IdFilter(field_name="message_id")
    ticket = django_filters.CharFilter(field_name="message__ticket__reference", max_length=20)

    class Meta:
        model = Attachment
        fields = ["message", "ticket"]
