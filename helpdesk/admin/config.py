"""Configuration of the desk: queues and their agents, the service tags."""

from __future__ import annotations

from django.contrib import admin

from helpdesk.models import Queue, ServiceTag


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "default_priority"]
    filter_horizontal = ["members"]


@admin.register(ServiceTag)
class ServiceTagAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
