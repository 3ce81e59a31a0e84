"""Read operations on the ticket core."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError
from django.utils.text import smart_split, unescape_string_literal

from helpdesk.models import (
    CannedReply,
    Customer,
    CustomerEmail,
    Language,
    Message,
    Queue,
    Ticket,
    TicketEvent,
    TicketStatus,
)

_REFERENCE_RE = re.compile(
    r"\[\s*" + re.escape(settings.HELPDESK_REFERENCE_PREFIX) + r"\s*(\d{4}-\d{6})\s*\]"
)


def reference_in_subject(subject: str) -> str | None:
    """Return the reference tagged in a subject ('[#2026-000123]'), whatever prefixes stand before it."""
    match = _REFERENCE_RE.search(subject or "")
    return match.group(1) if match else None


def ticket_find_by_reference(*, reference: str) -> Ticket | None:
    """Return the ticket with this reference, following merges to the surviving ticket."""
    ticket = Ticket.objects.filter(reference=reference).first()
    seen: set[int] = set()
    while ticket is not None and ticket.merged_into_id is not None and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = ticket.merged_into
    return ticket


def message_find_by_message_ids(*, message_ids: Iterable[str]) -> Message | None:
    """Return the most recent stored message (ours or the customer's) with one of these Message-IDs."""
    ids = [mid for mid in message_ids if mid]
    if not ids:
        return None
    return Message.objects.filter(message_id__in=ids).select_related("ticket").order_by("-created_at").first()


def message_ids_known(*, message_ids: Iterable[str]) -> set[str]:
    """Return which of these Message-IDs belong to a stored message."""
    ids = {mid for mid in message_ids if mid}
    if not ids:
        return set()
    return set(Message.objects.filter(message_id__in=ids).values_list("message_id", flat=True))


def customer_find_by_address(*, address: str) -> Customer | None:
    """Return the customer owning this address (case-insensitive)."""
    return Customer.objects.filter(emails__address__iexact=address.strip()).first()


def customers_find_by_addresses(*, addresses: Iterable[str]) -> dict[str, Customer]:
    """Return the customers owning these addresses, keyed by the lower-cased address."""
    keys = {address.strip().lower() for address in addresses if address.strip()}
    if not keys:
        return {}
    # Lower() matches the unique index on lower(address), so this is one index lookup per address.
    rows = (
        CustomerEmail.objects.annotate(key=Lower("address")).filter(key__in=keys).select_related("customer")
    )
    return {row.key: row.customer for row in rows}


def queue_get(*, slug: str) -> Queue:
    """Return the queue with this key."""
    return Queue.objects.get(slug=slug)


def user_sees_all_queues(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return whether the user sees every queue (managers, admins, superusers)."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return user.groups.filter(name__in=["managers", "admins"]).exists()  # type: ignore[attr-defined]


def ticket_list_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Ticket]:
    """Return the tickets the user may see: all for managers, their queues' tickets for agents."""
    if user_sees_all_queues(user):
        return Ticket.objects.all()
    if not user.is_authenticated:
        return Ticket.objects.none()
    return Ticket.objects.filter(queue__members__pk=user.pk)


def customer_list_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """Return the customers the user may see: all, or for agents those with a ticket in their queues."""
    if user_sees_all_queues(user):
        return Customer.objects.all()
    return Customer.objects.filter(pk__in=ticket_list_for_user(user=user).values("customer_id"))


def ticket_search(*, tickets: QuerySet[Ticket], term: str) -> QuerySet[Ticket]:
    """Return the tickets with every word of the term in reference, subject, customer or message text."""
    for word in _search_words(term):
        tickets = tickets.filter(pk__in=_tickets_matching(word))
    return tickets


def _search_words(term: str) -> list[str]:
    words = []
    for word in smart_split(term):
        if word[0] in "\"'" and word[-1] == word[0]:
            word = unescape_string_literal(word)
        if word:
            words.append(word)
    return words


def _tickets_matching(word: str) -> QuerySet[Ticket, Any]:
    # One branch per table, each served by its trigram index (PostgreSQL): an OR across the joined tables
    # would read every message of the desk. UNION also leaves each ticket once, so no DISTINCT.
    return (
        Ticket.objects.filter(Q(reference__icontains=word) | Q(subject__icontains=word))
        .order_by()
        .values("pk")
        .union(
            Ticket.objects.filter(customer__name__icontains=word).order_by().values("pk"),
            Ticket.objects.filter(customer__emails__address__icontains=word).order_by().values("pk"),
            Message.objects.filter(text__icontains=word).order_by().values("ticket_id"),
        )
    )


def ticket_list_open(*, queue: Queue | None = None) -> QuerySet[Ticket]:
    """Return tickets not yet resolved, oldest first."""
    tickets = Ticket.objects.exclude(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
    if queue is not None:
        tickets = tickets.filter(queue=queue)
    return tickets.select_related("customer", "queue", "assignee").order_by("created_at")


def ticket_history(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    """Return the ticket's recorded changes, oldest first."""
    return ticket.events.select_related("actor").order_by("created_at", "pk")


def ticket_thread(*, ticket: Ticket) -> QuerySet[Message]:
    """Return the ticket's messages in order, with attachments."""
    return ticket.messages.prefetch_related("attachments").order_by("created_at", "pk")


def ticket_export_rows() -> Iterable[dict[str, object]]:
    """Yield every ticket with its messages and triage as plain data, in reference order."""
    tickets = (
        Ticket.objects.select_related("customer", "queue", "assignee")
        .prefetch_related("messages__attachments", "service_links__service", "customer__emails")
        .order_by("reference")
    )
    for ticket in tickets.iterator(chunk_size=500):
        yield _ticket_row(ticket)


def _ticket_row(ticket: Ticket) -> dict[str, object]:
    return {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "queue": ticket.queue.slug,
        "customer": {
            "name": ticket.customer.name,
            "emails": [e.address for e in ticket.customer.emails.all()],
        },
        "assignee": ticket.assignee.get_username() if ticket.assignee else None,
        "created_at": ticket.created_at.isoformat(),
        "triage": {
            "language": ticket.language,
            "services": {
                link.service.slug: {"source": link.source, "confidence": link.confidence}
                for link in ticket.service_links.all()
            },
            "missing_error_message": ticket.missing_error_message,
            "missing_problem_description": ticket.missing_problem_description,
            "missing_callback_number": ticket.missing_callback_number,
            "callback_requested": ticket.callback_requested,
            "callback_number": ticket.callback_number or None,
            "error_message": ticket.error_message or None,
            "needs_review": ticket.needs_review,
        },
        "messages": [
            {
                "direction": m.direction,
                "kind": m.kind,
                "from": m.from_address,
                "to": m.to,
                "subject": m.subject,
                "message_id": m.message_id,
                "created_at": m.created_at.isoformat(),
                "text": m.text,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                    for a in m.attachments.all()
                ],
            }
            for m in ticket.messages.all()
        ],
    }


@dataclass(frozen=True)
class ThreadMatch:
    """The ticket an incoming mail belongs to, and how we know."""

    ticket: Ticket | None
    via: str  # "subject", "headers" or "" when nothing matched


def ticket_find_for_mail(*, subject: str, in_reply_to: str, references: Sequence[str]) -> ThreadMatch:
    """Return the ticket a mail continues: reference in the subject, else any known Message-ID it cites."""
    reference = reference_in_subject(subject)
    if reference is not None:
        ticket = ticket_find_by_reference(reference=reference)
        if ticket is not None:
            return ThreadMatch(ticket, "subject")
    # In-Reply-To first (the direct parent), then References from the newest back.
    cited = [in_reply_to, *reversed(list(references))]
    message = message_find_by_message_ids(message_ids=cited)
    if message is not None:
        return ThreadMatch(ticket_find_by_reference(reference=message.ticket.reference), "headers")
    return ThreadMatch(None, "")


def customer_owns_address(*, customer: Customer, address: str) -> bool:
    """Return whether the address is one of the customer's."""
    return customer.emails.filter(address__iexact=address.strip()).exists()


def ticket_service_slugs(*, ticket: Ticket) -> list[str]:
    """Return the keys of the ticket's services."""
    return list(ticket.service_links.values_list("service__slug", flat=True))


# --- reply templates -----------------------------------------------------------------------------------

# The text goes into a textarea (which escapes it) and into a plain-text mail: nothing to HTML-escape. No
# template directories and no tag libraries: a template sees only the placeholders it is given.
CANNED_ENGINE = Engine(autoescape=False)


def canned_reply_language(*, ticket: Ticket) -> str:
    """Return the language to answer the ticket in: the ticket's, else its customer's, else the desk's."""
    for language in (ticket.language, ticket.customer.language, settings.HELPDESK_DEFAULT_LANGUAGE):
        if language in Language.values:
            return language
    return Language.EN


def canned_replies_by_language(*, languages: Iterable[str]) -> dict[str, list[CannedReply]]:
    """Return for each language one reply per key, in that language or else the desk's, by title."""
    wanted = list(dict.fromkeys(languages))
    fallback = settings.HELPDESK_DEFAULT_LANGUAGE
    rows = list(CannedReply.objects.filter(language__in={*wanted, fallback}))
    offered: dict[str, list[CannedReply]] = {}
    for language in wanted:
        chosen = {row.key: row for row in rows if row.language == fallback}
        chosen.update({row.key: row for row in rows if row.language == language})
        offered[language] = sorted(chosen.values(), key=lambda row: (row.title.casefold(), row.key))
    return offered


def canned_reply_list_for(*, language: str) -> list[CannedReply]:
    """Return the replies to offer for an answer in this language (the desk's language where missing)."""
    return canned_replies_by_language(languages=[language])[language]


def canned_reply_get(*, key: str, language: str) -> CannedReply | None:
    """Return the reply with this key in the language, else in the desk's language, else None."""
    return next((row for row in canned_reply_list_for(language=language) if row.key == key), None)


def canned_reply_render(*, reply: CannedReply, ticket: Ticket, agent_name: str) -> str:
    """Return the reply's text with the ticket's placeholders filled in."""
    context = {
        "name": ticket.customer.name,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "callback_number": ticket.callback_number,
        "agent": agent_name,
    }
    text: str
    try:
        text = CANNED_ENGINE.from_string(reply.body).render(Context(context, autoescape=False))
    except (TemplateSyntaxError, TemplateDoesNotExist):
        # The admin refuses such a text; one written to the table directly is offered as it stands.
        text = reply.body
    return text.strip() + "\n"
