"""API routes: /api/tickets/, customers, messages, attachments, mailboxes and the dashboard figures."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from helpdesk.api import views

app_name = "api"

router = DefaultRouter()
router.include_format_suffixes = False
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("messages", views.MessageViewSet, basename="message")
router.register("attachments", views.AttachmentViewSet, basename="attachment")
router.register("mailboxes", views.MailboxViewSet, basename="mailbox")

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("", include(router.urls)),
]
