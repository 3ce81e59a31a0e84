"""Write operations on the ticket core. Other apps call these, never the models directly."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk import selectors
from helpdesk.models import (
    Attachment,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    Message,
    MessageKind,
    Priority,
    Queue,
    ServiceTag,
    TagSource,
    Ticket,
    TicketEvent,
    TicketReferenceCounter,
    TicketService,
    TicketStatus,
)
from helpdesk.sanitise import sanitise_html
from helpdesk.signals import customer_message_received

Actor = User | None
CLOSED_STATES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True)
class AttachmentData:
    filename: str
    content_type: str
    content: bytes
    inline: bool = False


@dataclass(frozen=True)
class MessageData:
    """A message as it arrives (or is written), independent of how it is stored."""

    direction: str = Direction.IN
    kind: str = MessageKind.CUSTOMER
    from_name: str = ""
    from_address: str = ""
    to: Sequence[str] = ()
    cc: Sequence[str] = ()
    subject: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: Sequence[str] = ()
    text: str = ""
    reply_text: str = ""
    html: str = ""
    sent_at: datetime | None = None
    attachments: Sequence[AttachmentData] = field(default_factory=tuple)


# --- customers -------------------------------------------------------------------------------------


def customer_get_or_create(*, address: str, name: str = "", language: str = "") -> Customer:
    """Return the customer owning this address, creating one (with it as primary) when unknown."""
    address = address.strip()
    existing = selectors.customer_find_by_address(address=address)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            customer = Customer.objects.create(name=name.strip()[:200], language=language)
            CustomerEmail.objects.create(customer=customer, address=address, is_primary=True)
            return customer
    except IntegrityError:
        # Another worker created the same address a moment ago: use theirs.
        found = selectors.customer_find_by_address(address=address)
        if found is None:
            raise
        return found


def customers_get_or_create(*, senders: Iterable[tuple[str, str]]) -> dict[str, Customer]:
    """Return the customer of each (address, name), creating the unknown ones; keys are lower-cased."""
    wanted: dict[str, tuple[str, str]] = {}
    for address, name in senders:
        if address.strip():
            wanted.setdefault(address.strip().lower(), (address.strip(), name))
    found = selectors.customers_find_by_addresses(addresses=wanted)
    # Sorted: workers creating the same new addresses at once then lock them in one order (no deadlock).
    missing = sorted(set(wanted) - set(found))
    if not missing:
        return found
    try:
        with transaction.atomic():
            created = Customer.objects.bulk_create(
                [Customer(name=wanted[key][1].strip()[:200]) for key in missing]
            )
            CustomerEmail.objects.bulk_create(
                CustomerEmail(customer=customer, address=wanted[key][0], is_primary=True)
                for key, customer in zip(missing, created, strict=True)
            )
        found.update(zip(missing, created, strict=True))
    except IntegrityError:
        # Another worker created one of them a moment ago: take them one at a time.
        for key in missing:
            found[key] = customer_get_or_create(address=wanted[key][0], name=wanted[key][1])
    return found


def customer_add_phone(*, customer: Customer, number: str, label: str = "") -> CustomerPhone:
    """Record a phone number (E.164) for the customer; known numbers are kept once."""
    phone, _ = CustomerPhone.objects.get_or_create(
        customer=customer, number=number, defaults={"label": label}
    )
    return phone


def customer_mark_undeliverable(*, address: str) -> int:
    """Mark an address as bouncing; return how many stored addresses matched."""
    return CustomerEmail.objects.filter(address__iexact=address.strip()).update(undeliverable=True)


def customers_mark_undeliverable(*, addresses: Iterable[str]) -> int:
    """Mark several addresses as bouncing in one update; return how many were not marked before."""
    keys = {address.strip().lower() for address in addresses if address.strip()}
    if not keys:
        return 0
    # Lower() matches the unique index on lower(address).
    emails = CustomerEmail.objects.alias(key=Lower("address")).filter(key__in=keys, undeliverable=False)
    return emails.update(undeliverable=True)


@transaction.atomic
def customer_merge(*, source: Customer, target: Customer) -> Customer:
    """Move every ticket, address and phone of source to target, then delete source."""
    if source.pk == target.pk:
        raise ValueError(gettext("cannot merge a customer into itself"))
    Ticket.objects.filter(customer=source).update(customer=target)
    # The target keeps its primary address; the source's become secondary.
    CustomerEmail.objects.filter(customer=source).update(customer=target, is_primary=False)
    known = set(target.phones.values_list("number", flat=True))
    for phone in source.phones.all():
        if phone.number not in known:
            CustomerPhone.objects.filter(pk=phone.pk).update(customer=target)
    if not target.language and source.language:
        target.language = source.language
    target.notes = "\n\n".join(n for n in (target.notes, source.notes) if n)
    target.account_ref = ", ".join(a for a in (target.account_ref, source.account_ref) if a)[:500]
    target.save(update_fields=["language", "notes", "account_ref"])
    source.delete()
    return target


# --- tickets ---------------------------------------------------------------------------------------


def _next_reference(*, year: int) -> str:
    """Return the next reference of the year; the row lock of the UPDATE serialises concurrent callers."""
    return _next_references(year=year, count=1)[0]


def _next_references(*, year: int, count: int) -> list[str]:
    """Return the next count references of the year, in order, with one update of the counter."""
    with transaction.atomic(savepoint=False):  # see ticket_open_with_message
        if not TicketReferenceCounter.objects.filter(year=year).update(last_number=F("last_number") + count):
            try:
                with transaction.atomic():
                    TicketReferenceCounter.objects.create(year=year, last_number=count)
            except IntegrityError:
                TicketReferenceCounter.objects.filter(year=year).update(last_number=F("last_number") + count)
        last = TicketReferenceCounter.objects.get(year=year).last_number
    return [f"{year}-{number:06d}" for number in range(last - count + 1, last + 1)]


def _record(*, ticket: Ticket, actor: Actor, field_name: str, old: object, new: object) -> None:
    _event_row(ticket=ticket, actor=actor, field_name=field_name, old=old, new=new).save(force_insert=True)


def _event_row(*, ticket: Ticket, actor: Actor, field_name: str, old: object, new: object) -> TicketEvent:
    return TicketEvent(
        ticket=ticket, actor=actor, field=field_name, old_value=str(old or ""), new_value=str(new or "")
    )


def ticket_open(
    *,
    customer: Customer,
    queue: Queue,
    message: MessageData,
    priority: str | None = None,
    linked_to: Ticket | None = None,
) -> Ticket:
    """Open a ticket for the customer in the queue, with the message as its first message."""
    ticket, _ = ticket_open_with_message(
        customer=customer, queue=queue, message=message, priority=priority, linked_to=linked_to
    )
    return ticket


# savepoint=False here and in message_add: no caller catches their errors to carry on inside its
# transaction, and mail ingestion, which opens many tickets per transaction, pays two round trips for
# each savepoint (it keeps one savepoint per mail, around these).
@transaction.atomic(savepoint=False)
def ticket_open_with_message(
    *,
    customer: Customer,
    queue: Queue,
    message: MessageData,
    priority: str | None = None,
    linked_to: Ticket | None = None,
) -> tuple[Ticket, Message]:
    """Open a ticket like ticket_open; return it with its first message."""
    now = timezone.now()
    opening = TicketOpening(
        customer=customer, queue=queue, message=message, priority=priority, linked_to=linked_to
    )
    ticket = _ticket_row(opening, reference=_next_reference(year=timezone.localdate(now).year), now=now)
    ticket.save(force_insert=True)
    _record(ticket=ticket, actor=None, field_name="status", old="", new=ticket.status)
    return ticket, _message_store(ticket=ticket, message=message, author=None)


@dataclass(frozen=True)
class TicketOpening:
    """What tickets_open needs for one ticket: as the arguments of ticket_open."""

    customer: Customer
    queue: Queue
    message: MessageData
    priority: str | None = None
    linked_to: Ticket | None = None


@transaction.atomic(savepoint=False)
def tickets_open(*, openings: Sequence[TicketOpening]) -> list[tuple[Ticket, Message]]:
    """Open a ticket for each opening, as ticket_open_with_message does, with one insert per table."""
    if not openings:
        return []
    now = timezone.now()
    references = _next_references(year=timezone.localdate(now).year, count=len(openings))
    tickets = Ticket.objects.bulk_create(
        [
            _ticket_row(opening, reference=ref, now=now)
            for opening, ref in zip(openings, references, strict=True)
        ]
    )
    TicketEvent.objects.bulk_create(
        [_event_row(ticket=t, actor=None, field_name="status", old="", new=t.status) for t in tickets]
    )
    messages = Message.objects.bulk_create(
        [
            _message_row(ticket=t, message=o.message, author=None)
            for t, o in zip(tickets, openings, strict=True)
        ]
    )
    for stored, opening in zip(messages, openings, strict=True):
        for attachment in opening.message.attachments:
            attachment_add(message=stored, data=attachment)
    return list(zip(tickets, messages, strict=True))


def _ticket_row(opening: TicketOpening, *, reference: str, now: datetime) -> Ticket:
    kind = opening.message.kind
    return Ticket(
        reference=reference,
        subject=opening.message.subject[:500],
        customer=opening.customer,
        queue=opening.queue,
        priority=opening.priority or opening.queue.default_priority,
        language=opening.customer.language,
        linked_to=opening.linked_to,
        created_at=now,
        # What message_add would set on a ticket of one message, without updating the fresh row again.
        last_customer_message_at=now if kind == MessageKind.CUSTOMER else None,
        first_response_at=now if kind == MessageKind.AGENT_REPLY else None,
    )


@transaction.atomic(savepoint=False)
def message_add(*, ticket: Ticket, message: MessageData, author: Actor = None) -> Message:
    """Add a message to the ticket; a customer's mail reopens a resolved or closed ticket."""
    stored = _message_store(ticket=ticket, message=message, author=author)
    now = timezone.now()
    if message.kind == MessageKind.CUSTOMER:
        Ticket.objects.filter(pk=ticket.pk).update(last_customer_message_at=now)
        ticket.last_customer_message_at = now
        if ticket.status in CLOSED_STATES:
            ticket_reopen(ticket=ticket)
    elif message.kind == MessageKind.AGENT_REPLY and ticket.first_response_at is None:
        Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(first_response_at=now)
        ticket.first_response_at = now
    return stored


def _message_store(*, ticket: Ticket, message: MessageData, author: Actor) -> Message:
    stored = _message_row(ticket=ticket, message=message, author=author)
    stored.save(force_insert=True)
    for attachment in message.attachments:
        attachment_add(message=stored, data=attachment)
    return stored


def _message_row(*, ticket: Ticket, message: MessageData, author: Actor) -> Message:
    return Message(
        ticket=ticket,
        direction=message.direction,
        kind=message.kind,
        author=author,
        from_name=message.from_name[:200],
        from_address=message.from_address[:254],
        to=list(message.to),
        cc=list(message.cc),
        subject=message.subject[:998],
        message_id=message.message_id[:998],
        in_reply_to=message.in_reply_to[:998],
        references=" ".join(message.references),
        text=message.text,
        reply_text=message.reply_text,
        html=sanitise_html(message.html) if message.html else "",
        sent_at=message.sent_at,
    )


def attachment_add(*, message: Message, data: AttachmentData) -> Attachment:
    """Store the attachment's bytes in Django storage and record it on the message."""
    digest = hashlib.sha256(data.content).hexdigest()
    name = (data.filename or "attachment").replace("/", "_").replace("\\", "_")[:200]
    attachment = Attachment(
        message=message,
        filename=name,
        content_type=data.content_type[:255],
        size=len(data.content),
        sha256=digest,
        inline=data.inline,
    )
    attachment.file.save(name, ContentFile(data.content), save=False)
    attachment.save()
    return attachment


def ticket_reopen_window_passed(*, ticket: Ticket, now: datetime | None = None) -> bool:
    """Return whether a reply to this closed ticket should open a new, linked ticket instead."""
    if ticket.status != TicketStatus.CLOSED or ticket.resolved_at is None:
        return False
    limit = timedelta(days=settings.HELPDESK_REOPEN_WITHIN_DAYS)
    return (now or timezone.now()) - ticket.resolved_at > limit


def ticket_reopen(*, ticket: Ticket, actor: Actor = None) -> Ticket:
    """Put a resolved or closed ticket back to open."""
    return ticket_set_status(ticket=ticket, status=TicketStatus.OPEN, actor=actor)


@transaction.atomic
def ticket_set_status(*, ticket: Ticket, status: str, actor: Actor = None) -> Ticket:
    """Change the status, keeping resolved_at in step and recording the change."""
    status = TicketStatus(status)
    old = ticket.status
    if old == status:
        return ticket
    ticket.status = status
    if status in CLOSED_STATES:
        ticket.resolved_at = ticket.resolved_at if old in CLOSED_STATES else timezone.now()
    else:
        ticket.resolved_at = None
    ticket.save(update_fields=["status", "resolved_at", "updated_at"])
    _record(ticket=ticket, actor=actor, field_name="status", old=old, new=status)
    return ticket


@transaction.atomic
def ticket_set_priority(*, ticket: Ticket, priority: str, actor: Actor = None) -> Ticket:
    """Change the priority and record it."""
    old, new = ticket.priority, Priority(priority)
    if old == new:
        return ticket
    ticket.priority = new
    ticket.save(update_fields=["priority", "updated_at"])
    _record(ticket=ticket, actor=actor, field_name="priority", old=old, new=new)
    return ticket


def ticket_assign(*, ticket: Ticket, assignee: User | None, actor: Actor = None) -> Ticket:
    """Assign the ticket to an agent (or to nobody) and record it."""
    old = ticket.assignee
    if old == assignee:
        return ticket
    ticket.assignee = assignee
    with transaction.atomic():
        ticket.save(update_fields=["assignee", "updated_at"])
        _record(ticket=ticket, actor=actor, field_name="assignee", old=old, new=assignee)
    return ticket


def ticket_move(*, ticket: Ticket, queue: Queue, actor: Actor = None) -> Ticket:
    """Move the ticket to another queue and record it."""
    old = ticket.queue
    if old.pk == queue.pk:
        return ticket
    ticket.queue = queue
    with transaction.atomic():
        ticket.save(update_fields=["queue", "updated_at"])
        _record(ticket=ticket, actor=actor, field_name="queue", old=old, new=queue)
    return ticket


@transaction.atomic
def ticket_set_services(
    *,
    ticket: Ticket,
    services: Iterable[str] | Mapping[str, float | None],
    source: str = TagSource.AGENT,
    actor: Actor = None,
    touch: bool = True,
) -> Ticket:
    """Replace the ticket's service tags (slugs, optionally with confidences) and record the change.

    touch=False leaves updated_at to a caller that saves the ticket in the same transaction anyway.
    """
    confidences: Mapping[str, float | None] = (
        services if isinstance(services, Mapping) else dict.fromkeys(services)
    )
    tags = {tag.slug: tag for tag in ServiceTag.objects.filter(slug__in=list(confidences))}
    unknown = set(confidences) - set(tags)
    if unknown:
        raise ValueError(gettext("unknown services: %(services)s") % {"services": ", ".join(sorted(unknown))})
    # Locked as update_or_create would, but one read for all links instead of one per service.
    links = ticket.service_links.select_related("service").select_for_update(of=("self",))
    existing = {link.service.slug: link for link in links}
    old = sorted(existing)
    gone = [link.pk for slug, link in existing.items() if slug not in tags]
    if gone:
        TicketService.objects.filter(pk__in=gone).delete()
    current = {slug: (link.source, link.confidence) for slug, link in existing.items()}
    changed = [
        TicketService(ticket=ticket, service=tag, source=source, confidence=confidences[slug])
        for slug, tag in tags.items()
        if current.get(slug) != (source, confidences[slug])
    ]
    if changed:
        # One statement for all; a link another transaction added meanwhile is updated, not duplicated.
        TicketService.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["ticket", "service"],
            update_fields=["source", "confidence"],
        )
    new = sorted(tags)
    if old != new:
        _record(ticket=ticket, actor=actor, field_name="services", old=",".join(old), new=",".join(new))
        if touch:
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    return ticket


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: Actor = None) -> Ticket:
    """Move source's messages and tags into target and close source as merged."""
    if source.pk == target.pk:
        raise ValueError(gettext("cannot merge a ticket into itself"))
    if target.merged_into_id is not None:
        raise ValueError(
            gettext("ticket %(reference)s was itself merged into another ticket")
            % {"reference": target.reference}
        )
    Message.objects.filter(ticket=source).update(ticket=target)
    target_slugs = set(target.service_links.values_list("service__slug", flat=True))
    for link in source.service_links.exclude(service__slug__in=target_slugs):
        TicketService.objects.create(
            ticket=target, service=link.service, source=link.source, confidence=link.confidence
        )
    Ticket.objects.filter(merged_into=source).update(merged_into=target)
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    ticket_set_status(ticket=source, status=TicketStatus.CLOSED, actor=actor)
    _record(ticket=source, actor=actor, field_name="merged_into", old="", new=target.reference)
    _record(ticket=target, actor=actor, field_name="merged_from", old="", new=source.reference)
    last = max(filter(None, (source.last_customer_message_at, target.last_customer_message_at)), default=None)
    if last != target.last_customer_message_at:
        target.last_customer_message_at = last
        target.save(update_fields=["last_customer_message_at", "updated_at"])
    return target


@dataclass(frozen=True)
class TriageFields:
    """What triage found, as stored on the ticket."""

    language: str
    missing_error_message: bool
    missing_problem_description: bool
    missing_callback_number: bool
    callback_requested: bool
    callback_number: str
    error_message: str
    needs_review: bool


_TRIAGE_FIELDS = [
    "language",
    "missing_error_message",
    "missing_problem_description",
    "missing_callback_number",
    "callback_requested",
    "callback_number",
    "error_message",
    "needs_review",
]


@transaction.atomic
def ticket_record_triage(*, ticket: Ticket, fields: TriageFields, actor: Actor = None) -> Ticket:
    """Store triage's findings on the ticket, recording every flag that changed."""
    for name in _TRIAGE_FIELDS:
        old, new = getattr(ticket, name), getattr(fields, name)
        if old != new:
            setattr(ticket, name, new)
            _record(ticket=ticket, actor=actor, field_name=name, old=old, new=new)
    ticket.save(update_fields=[*_TRIAGE_FIELDS, "updated_at"])
    if fields.callback_number:
        customer_add_phone(customer=ticket.customer, number=fields.callback_number, label="callback")
    return ticket


@transaction.atomic
def ticket_mark_reviewed(*, ticket: Ticket, actor: Actor = None) -> Ticket:
    """Clear the ticket's "needs review" mark and record who cleared it."""
    if not ticket.needs_review:
        return ticket
    ticket.needs_review = False
    ticket.save(update_fields=["needs_review", "updated_at"])
    _record(ticket=ticket, actor=actor, field_name="needs_review", old=True, new=False)
    return ticket


def message_announce(*, message: Message, new_ticket: bool, automated: bool = False) -> None:
    """Tell listeners (triage, automatic mail) about a received message once the transaction commits."""
    transaction.on_commit(
        lambda: customer_message_received.send(
            sender=Message,
            message_id=message.pk,
            ticket_id=message.ticket_id,
            new_ticket=new_ticket,
            automated=automated,
        )
    )


@transaction.atomic
def ticket_submit(
    *, name: str, address: str, subject: str, text: str, queue: Queue, language: str = ""
) -> Ticket:
    """Open a ticket from a web form or an integration: same triage and automatic answer as a mail."""
    customer = customer_get_or_create(address=address, name=name, language=language)
    ticket = ticket_open(
        customer=customer,
        queue=queue,
        message=MessageData(
            from_name=name, from_address=address, subject=subject, text=text, reply_text=text
        ),
    )
    first = ticket.messages.get()
    message_announce(message=first, new_ticket=True)
    return ticket


def ticket_add_note(*, ticket: Ticket, author: Actor, text: str) -> Message:
    """Add an internal note (never sent to the customer)."""
    if not text.strip():
        raise ValueError(gettext("an internal note needs text"))
    return message_add(
        ticket=ticket,
        author=author,
        message=MessageData(
            direction=Direction.OUT, kind=MessageKind.INTERNAL_NOTE, text=text, reply_text=text
        ),
    )
