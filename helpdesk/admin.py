"""Admin registrations for the ticket core (the full agent workspace builds on these)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from helpdesk.models import (
    Attachment,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Message,
    Queue,
    ServiceTag,
    Ticket,
    TicketEvent,
    TicketService,
)


class CustomerEmailInline(admin.TabularInline):
    model = CustomerEmail
    extra = 0


class CustomerPhoneInline(admin.TabularInline):
    model = CustomerPhone
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "account_ref", "created_at"]
    list_filter = ["language"]
    search_fields = ["name", "emails__address", "phones__number", "account_ref"]
    inlines = [CustomerEmailInline, CustomerPhoneInline]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "default_priority"]


@admin.register(ServiceTag)
class ServiceTagAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]


class TicketServiceInline(admin.TabularInline):
    model = TicketService
    extra = 0


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    fields = readonly_fields = ("direction", "kind", "from_address", "subject", "created_at", "reply_text")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = readonly_fields = ("created_at", "actor", "field", "old_value", "new_value")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "customer",
        "status",
        "priority",
        "queue",
        "assignee",
        "created_at",
    ]
    list_filter = ["status", "priority", "queue", "needs_review"]
    search_fields = ["reference", "subject", "customer__name", "customer__emails__address"]
    list_select_related = ["customer", "queue", "assignee"]
    readonly_fields = ["reference", "created_at", "updated_at"]
    raw_id_fields = ["customer", "merged_into", "linked_to"]
    inlines = [TicketServiceInline, MessageInline, TicketEventInline]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    readonly_fields = ["filename", "content_type", "size", "sha256"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "ticket", "direction", "kind", "from_address", "created_at"]
    list_filter = ["direction", "kind"]
    search_fields = ["subject", "message_id", "from_address"]
    raw_id_fields = ["ticket"]
    inlines = [AttachmentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).select_related("ticket")


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "content_type", "size", "message"]
    raw_id_fields = ["message"]


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ["ticket", "field", "old_value", "new_value", "actor", "created_at"]
    list_filter = ["field"]
    raw_id_fields = ["ticket"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The history is an audit trail: nobody edits it.
        return False
