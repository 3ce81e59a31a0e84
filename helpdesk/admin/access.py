"""Who may see and work which ticket: queue membership for agents, everything for managers and admins."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from helpdesk import selectors
from helpdesk.models import Attachment, Customer, Message, Ticket

AnyUser = AbstractBaseUser | AnonymousUser
_SEES_ALL = "_helpdesk_sees_all_queues"


def sees_all_queues(request: HttpRequest) -> bool:
    """Return whether the request's user sees every queue, asking the database once per request."""
    cached = getattr(request, _SEES_ALL, None)
    if cached is None:
        cached = selectors.user_sees_all_queues(request.user)
        setattr(request, _SEES_ALL, cached)
    return bool(cached)


def visible_tickets(request: HttpRequest) -> QuerySet[Ticket]:
    """Return the tickets the request's user may see (the base of every ticket list and lookup)."""
    if sees_all_queues(request):
        return Ticket.objects.all()
    return selectors.ticket_list_for_user(user=request.user)


def visible_customers(request: HttpRequest) -> QuerySet[Customer]:
    """Return the customers the request's user may see: all, or those with a ticket in their queues."""
    if sees_all_queues(request):
        return Customer.objects.all()
    return selectors.customer_list_for_user(user=request.user)


def require_perm(request: HttpRequest, codename: str) -> None:
    """Refuse the request unless the user holds helpdesk.<codename>."""
    if not request.user.has_perm(f"helpdesk.{codename}"):
        raise PermissionDenied


def ticket_for(request: HttpRequest, pk: int | str, *, change: bool = False) -> Ticket:
    """Return the ticket if the user may see it (and change it); 404 if unknown, 403 if another queue's."""
    require_perm(request, "change_ticket" if change else "view_ticket")
    ticket = get_object_or_404(Ticket.objects.select_related("customer", "queue", "assignee"), pk=pk)
    if not sees_all_queues(request) and not visible_tickets(request).filter(pk=ticket.pk).exists():
        raise PermissionDenied
    return ticket


def message_for(request: HttpRequest, pk: int) -> Message:
    """Return the message if the user may see its ticket; 403 otherwise."""
    message = get_object_or_404(Message.objects.only("pk", "ticket_id", "html"), pk=pk)
    ticket_for(request, message.ticket_id)
    return message


def attachment_for(request: HttpRequest, pk: int) -> Attachment:
    """Return the attachment if the user may see its ticket; 403 otherwise."""
    attachment = get_object_or_404(Attachment.objects.select_related("message"), pk=pk)
    ticket_for(request, attachment.message.ticket_id)
    return attachment


def may_work_on(user: AnyUser, ticket: Ticket) -> bool:
    """Return whether the user may be assigned this ticket (a member of its queue, or sees all queues)."""
    if not user.is_active or not getattr(user, "is_staff", False):
        return False
    if selectors.user_sees_all_queues(user):
        return True
    return ticket.queue.members.filter(pk=user.pk).exists()


def actor(request: HttpRequest) -> User:
    """Return the logged-in staff user behind an admin request (admin views never run anonymously)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
