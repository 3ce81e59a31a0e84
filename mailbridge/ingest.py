"""Step 2 of the bridge: parse stored mail and file it into tickets, one transaction per chunk of mail.

Any number of processes may ingest at once: each claims a chunk of stored mail with SELECT ... FOR
UPDATE SKIP LOCKED, so no two take the same mail. Each mail is delivered in its own savepoint: a mail
that fails is quarantined with the reason, and the rest of its chunk commits with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from helpdesk import selectors as helpdesk_selectors
from helpdesk import services as helpdesk_services
from helpdesk.models import Customer, Message, MessageKind, Priority, Queue, Ticket
from mailbridge.models import InboundMail, InboundStatus, Mailbox, MailboxKind
from mailbridge.parsing import ParsedMail, parse_mail

logger = logging.getLogger(__name__)

# Mails per transaction: one commit for this many, and small enough that a chunk holds its locks briefly.
INGEST_CHUNK = 100
# Trouble with the database itself (a deadlock, a lost connection) is not the mail's fault: the chunk is
# rolled back and tried again, nothing is quarantined for it.
_DATABASE_TROUBLE = (OperationalError, InterfaceError)
_CHUNK_TRIES = 3
_RECORDED = ("status", "reason", "processed_at", "ticket_message", "attempts")


@dataclass
class _Outcome:
    status: str
    reason: str = ""
    message_pk: int | None = None
    bounced_address: str = ""  # marked undeliverable with the chunk's outcomes


@dataclass
class _Chunk:
    """What the mails of one chunk share: which Message-IDs are known, their customers, the queues."""

    known: set[str]
    customers: dict[str, Customer]
    queues: dict[str, Queue] = field(default_factory=dict)

    def queue(self, slug: str) -> Queue:
        if slug not in self.queues:
            self.queues[slug] = helpdesk_selectors.queue_get(slug=slug)
        return self.queues[slug]


def inbound_ingest(*, inbound: InboundMail) -> InboundMail:
    """Parse the stored mail and file it into a ticket; on any failure quarantine it with the reason."""
    if inbound.status != InboundStatus.STORED:
        return inbound
    with transaction.atomic():
        claim = InboundMail.objects.select_related("mailbox").select_for_update(of=("self",))
        row = claim.filter(pk=inbound.pk, status=InboundStatus.STORED).first()
        if row is None:  # another worker took it meanwhile
            inbound.refresh_from_db()
            return inbound
        _ingest_chunk([row], defer=False)
    return row


def inbound_ingest_pending(
    *, mailbox: Mailbox, chunk_size: int = INGEST_CHUNK, wait_for_others: bool = False
) -> dict[int, str]:
    """Ingest the mailbox's stored mail a chunk at a time, oldest first; return the status of each mail.

    Safe in several processes at once. With wait_for_others, also wait for the mail that other processes
    hold right now, so that all mail stored before the call is finished when it returns.
    """
    done: dict[int, str] = {}
    while True:
        rows = _ingest_claimed_chunk(mailbox, chunk_size)
        if rows is None:
            if wait_for_others and _wait_for(InboundMail.objects.filter(mailbox=mailbox)):
                continue
            return done
        done.update((row.pk, row.status) for row in rows if row.status != InboundStatus.STORED)


def _ingest_claimed_chunk(mailbox: Mailbox, chunk_size: int) -> list[InboundMail] | None:
    for attempt in range(1, _CHUNK_TRIES + 1):
        try:
            with transaction.atomic():
                rows = list(
                    InboundMail.objects.filter(mailbox=mailbox, status=InboundStatus.STORED)
                    .order_by("pk")
                    .select_for_update(skip_locked=True)[:chunk_size]
                )
                if not rows:
                    return None
                for row in rows:
                    row.mailbox = mailbox  # the claim need not join (and lock) the mailbox row
                blockers = _ingest_chunk(rows, defer=True)
        except OperationalError as exc:
            # Two workers touching the same ticket or counter in opposite order: the database aborts
            # one of them, and that whole chunk is tried again.
            if attempt == _CHUNK_TRIES:
                raise
            logger.warning("ingest chunk of %s rolled back (%s); trying again", mailbox.name, exc)
            continue
        if blockers:
            _wait_for(InboundMail.objects.filter(pk__in=blockers))
        return rows
    return None  # pragma: no cover - the loop returns or raises


def _wait_for(rows: QuerySet[InboundMail]) -> bool:
    """Block until no other worker holds these rows' stored mail; return whether any is still stored."""
    with transaction.atomic():
        # No SKIP LOCKED: this waits for the row locks of the chunks other workers are ingesting.
        # A row another worker finished meanwhile no longer matches once its lock is released.
        return bool(
            list(rows.filter(status=InboundStatus.STORED).select_for_update().values_list("pk", flat=True))
        )


def _ingest_chunk(rows: Sequence[InboundMail], *, defer: bool) -> set[int]:
    """Deliver the locked rows in order, each in a savepoint, and record the outcomes in one update.

    With defer, a mail that answers mail another worker is ingesting right now stays stored for the
    next chunk; return the rows it waits for.
    """
    parsed: dict[int, ParsedMail] = {}
    outcomes: dict[int, _Outcome] = {}
    for row in rows:
        try:
            parsed[row.pk] = parse_mail(bytes(row.raw))
        except Exception as exc:
            logger.warning("mail %s cannot be parsed: %s", row.pk, exc, exc_info=True)
            outcomes[row.pk] = _quarantined(f"cannot be parsed: {type(exc).__name__}: {exc}")
    held = _held_elsewhere(rows, parsed.values()) if defer else {}
    chunk = _prefetch(list(parsed.values()))
    blockers: set[int] = set()
    ready: list[tuple[InboundMail, ParsedMail]] = []
    for row in rows:
        mail = parsed.get(row.pk)
        if mail is None:
            continue
        waits_for = {pk for pk, message_id in held.items() if message_id in _cited(mail)}
        if waits_for:
            # Its original (or the same mail from the other mailbox) is being ingested elsewhere right
            # now: after that commits, this reply finds its ticket.
            blockers |= waits_for
            continue
        ready.append((row, mail))
    outcomes.update(_open_fresh_tickets(ready, chunk))
    for row, mail in ready:
        if row.pk not in outcomes:
            outcomes[row.pk] = _deliver_isolated(row, mail, chunk)
    _record(rows, outcomes)
    return blockers


def _open_fresh_tickets(ready: list[tuple[InboundMail, ParsedMail]], chunk: _Chunk) -> dict[int, _Outcome]:
    """Open the tickets of the chunk's plain new mails together, in one insert per table.

    Plain: a person's mail that cites nothing we know nor any earlier mail of the chunk, names no
    ticket, and that no earlier mail of the chunk answers, so that filing it first changes nothing for
    the others. Should the inserts fail, these mails go the one-at-a-time way, where a bad one
    quarantines only itself.
    """
    fresh: list[tuple[InboundMail, ParsedMail]] = []
    earlier_ids: set[str] = set()
    cited_earlier: set[str] = set()
    for row, mail in ready:
        cites = _cited(mail) - {mail.message_id}
        if (
            _opens_fresh_ticket(mail, chunk)
            and mail.message_id not in cited_earlier
            and not cites & earlier_ids
        ):
            fresh.append((row, mail))
        earlier_ids.add(mail.message_id)
        cited_earlier |= cites
    if not fresh:
        return {}
    openings = [
        helpdesk_services.TicketOpening(
            customer=chunk.customers[mail.from_.address.strip().lower()],
            queue=_queue(row, chunk),
            message=_message_data(mail, MessageKind.CUSTOMER),
            priority=_priority(row),
        )
        for row, mail in fresh
    ]
    try:
        with transaction.atomic():
            opened = helpdesk_services.tickets_open(openings=openings)
    except _DATABASE_TROUBLE:
        raise
    except Exception:
        logger.warning(
            "%d new tickets could not be opened together; one at a time", len(fresh), exc_info=True
        )
        return {}
    outcomes = {}
    for (row, _), (_, message) in zip(fresh, opened, strict=True):
        chunk.known.add(message.message_id)
        helpdesk_services.message_announce(message=message, new_ticket=True)
        outcomes[row.pk] = _Outcome(InboundStatus.INGESTED, message_pk=message.pk)
    return outcomes


def _opens_fresh_ticket(mail: ParsedMail, chunk: _Chunk) -> bool:
    return (
        not mail.automated.is_automated
        and mail.from_.address.strip().lower() in chunk.customers
        and not _cited(mail) & chunk.known
        and helpdesk_selectors.reference_in_subject(mail.subject) is None
    )


def _deliver_isolated(row: InboundMail, mail: ParsedMail, chunk: _Chunk) -> _Outcome:
    settled = _automated_without_ticket(mail, chunk)
    if settled is not None:
        return settled
    try:
        try:
            with transaction.atomic():
                return _deliver(row, mail, chunk)
        except IntegrityError:
            # Another worker stored the same Message-ID a moment ago: once more, looking it up this time.
            chunk.known |= _cited(mail)
            with transaction.atomic():
                return _deliver(row, mail, chunk)
    except _DATABASE_TROUBLE:
        raise
    except Exception as exc:
        logger.warning("mail %s cannot be ingested: %s", row.pk, exc, exc_info=True)
        return _quarantined(f"cannot be ingested: {type(exc).__name__}: {exc}")


def _quarantined(reason: str) -> _Outcome:
    return _Outcome(InboundStatus.QUARANTINED, reason[:2000])


def _record(rows: Sequence[InboundMail], outcomes: dict[int, _Outcome]) -> None:
    helpdesk_services.customers_mark_undeliverable(
        addresses=[outcome.bounced_address for outcome in outcomes.values() if outcome.bounced_address]
    )
    now = timezone.now()
    finished = [row for row in rows if row.pk in outcomes]
    for row in finished:
        outcome = outcomes[row.pk]
        # A reason quotes the mail or its error; PostgreSQL refuses NUL, and that must not stop the chunk.
        reason = outcome.reason.replace("\x00", "\ufffd")
        row.status, row.reason, row.ticket_message_id = outcome.status, reason, outcome.message_pk
        row.processed_at = now
        row.attempts += 1  # the row is locked: nobody else changes it meanwhile
    if not finished:
        return
    # One statement, sent once for the whole chunk (psycopg pipelines executemany): the ORM's
    # bulk_update builds a CASE per field and row, and cost more than ingesting the mail itself.
    columns = {field.name: field.column for field in InboundMail._meta.concrete_fields}
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(columns[name])} = %s" for name in _RECORDED)
    table, key = quote(InboundMail._meta.db_table), quote(columns["id"])
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608 - column names only
    processed_at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (row.status, row.reason, processed_at, row.ticket_message_id, row.attempts, row.pk)
                for row in finished
            ],
        )


def _cited(mail: ParsedMail) -> set[str]:
    """Return the Message-IDs a mail's delivery looks up: its own and those it answers."""
    ids = {mail.message_id, mail.in_reply_to, *mail.references}
    if mail.bounce is not None:
        ids.add(mail.bounce.original_message_id)
    ids.discard("")
    return ids


def _held_elsewhere(rows: Sequence[InboundMail], mails: Iterable[ParsedMail]) -> dict[int, str]:
    """Return the stored mail outside the chunk that these mails cite and another worker holds.

    Keys are the rows' pks, values their Message-IDs.
    """
    cited = set().union(*(_cited(mail) for mail in mails))
    if not cited:
        return {}
    pending = dict(
        InboundMail.objects.filter(status=InboundStatus.STORED, message_id__in=cited)
        .exclude(pk__in=[row.pk for row in rows])
        .values_list("pk", "message_id")
    )
    if not pending:
        return {}
    # Only mail another worker holds is worth waiting for: mail nobody holds may not be ingested for
    # a long while (another mailbox, not polled yet), and this mail must not wait for it.
    free = InboundMail.objects.filter(pk__in=pending).select_for_update(skip_locked=True)
    free_pks = set(free.values_list("pk", flat=True))
    return {pk: message_id for pk, message_id in pending.items() if pk not in free_pks}


def _prefetch(mails: list[ParsedMail]) -> _Chunk:
    known = helpdesk_selectors.message_ids_known(message_ids=set().union(*(_cited(m) for m in mails)))
    senders = [
        (mail.from_.address, mail.from_.name)
        for mail in mails
        if mail.from_.address and len(mail.from_.address) <= 254 and not mail.automated.is_automated
    ]
    try:
        with transaction.atomic():
            customers = helpdesk_services.customers_get_or_create(senders=senders)
    except _DATABASE_TROUBLE:
        raise
    except DatabaseError:
        # One unusable address spoils the batch: each mail then finds its customer itself, alone.
        logger.warning("customers of a chunk could not be created together", exc_info=True)
        customers = {}
    return _Chunk(known=known, customers=customers)


def _message_data(parsed: ParsedMail, kind: str) -> helpdesk_services.MessageData:
    return helpdesk_services.MessageData(
        kind=kind,
        from_name=parsed.from_.name,
        from_address=parsed.from_.address,
        to=[a.address for a in parsed.to],
        cc=[a.address for a in parsed.cc],
        subject=parsed.subject,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        text=parsed.text,
        reply_text=parsed.reply_text,
        html=parsed.html,
        sent_at=parsed.date,
        attachments=[
            helpdesk_services.AttachmentData(a.filename, a.content_type, a.content, inline=a.inline)
            for a in parsed.attachments
        ],
    )


def _deliver(inbound: InboundMail, parsed: ParsedMail, chunk: _Chunk) -> _Outcome:
    if parsed.message_id in chunk.known:
        known = helpdesk_selectors.message_find_by_message_ids(message_ids=[parsed.message_id])
        if known is not None:
            # The same mail reached us before (the other mailbox, a Cc to both): one ticket only.
            return _Outcome(InboundStatus.DUPLICATE, f"already on ticket {known.ticket.reference}", known.pk)
    match = _thread(parsed, chunk)
    if parsed.automated.is_automated:
        return _deliver_automated(parsed, match.ticket, chunk)
    if not parsed.from_.address:
        raise ValueError("the mail has no usable sender address")
    customer = chunk.customers.get(parsed.from_.address.strip().lower())
    if customer is None:
        customer = helpdesk_services.customer_get_or_create(
            address=parsed.from_.address, name=parsed.from_.name
        )
    ticket, new_ticket = match.ticket, True
    if ticket is None:
        _, message = _open(inbound, parsed, customer, linked_to=None, chunk=chunk)
    elif (match.via == "subject" and ticket.customer_id != customer.pk) or (
        helpdesk_services.ticket_reopen_window_passed(ticket=ticket)
    ):
        # Anyone can type a reference into a subject: a stranger's mail opens its own ticket, linked;
        # so does a reply to a ticket closed too long ago.
        _, message = _open(inbound, parsed, customer, linked_to=ticket, chunk=chunk)
    else:
        message = helpdesk_services.message_add(
            ticket=ticket, message=_message_data(parsed, MessageKind.CUSTOMER)
        )
        new_ticket = False
    chunk.known.add(message.message_id)
    helpdesk_services.message_announce(message=message, new_ticket=new_ticket)
    return _Outcome(InboundStatus.INGESTED, message_pk=message.pk)


def _thread(parsed: ParsedMail, chunk: _Chunk) -> helpdesk_selectors.ThreadMatch:
    # Most mail cites nothing we know and names no ticket: that needs no query.
    cites_known = bool(chunk.known & {parsed.in_reply_to, *parsed.references})
    if not cites_known and helpdesk_selectors.reference_in_subject(parsed.subject) is None:
        return helpdesk_selectors.ThreadMatch(None, "")
    return helpdesk_selectors.ticket_find_for_mail(
        subject=parsed.subject, in_reply_to=parsed.in_reply_to, references=parsed.references
    )


def _open(
    inbound: InboundMail, parsed: ParsedMail, customer: Customer, *, linked_to: Ticket | None, chunk: _Chunk
) -> tuple[Ticket, Message]:
    return helpdesk_services.ticket_open_with_message(
        customer=customer,
        queue=_queue(inbound, chunk),
        message=_message_data(parsed, MessageKind.CUSTOMER),
        priority=_priority(inbound),
        linked_to=linked_to,
    )


def _queue(inbound: InboundMail, chunk: _Chunk) -> Queue:
    return chunk.queue("emergency" if inbound.mailbox.kind == MailboxKind.EMERGENCY else "support")


def _priority(inbound: InboundMail) -> str | None:
    return Priority.URGENT if inbound.mailbox.kind == MailboxKind.EMERGENCY else None


def _automated_without_ticket(mail: ParsedMail, chunk: _Chunk) -> _Outcome | None:
    """Settle, without the database, an automated mail that cites no message we know and names no ticket."""
    if not mail.automated.is_automated or _cited(mail) & chunk.known:
        return None
    if helpdesk_selectors.reference_in_subject(mail.subject) is not None:
        return None
    # Most bounces and auto-replies after an outage: nothing to file, so no savepoint either.
    return _deliver_automated(mail, None, chunk)


def _deliver_automated(parsed: ParsedMail, ticket: Ticket | None, chunk: _Chunk) -> _Outcome:
    """Record auto-replies and bounces on their ticket when we find it; they never open one."""
    reason = parsed.automated.reason
    bounced = ""
    if parsed.bounce is not None:
        if parsed.bounce.recipient and parsed.bounce.status.startswith("5"):
            bounced = parsed.bounce.recipient
        original_id = parsed.bounce.original_message_id
        original = (
            helpdesk_selectors.message_find_by_message_ids(message_ids=[original_id])
            if original_id in chunk.known
            else None
        )
        ticket = original.ticket if original is not None else ticket
    if ticket is None:
        return _Outcome(InboundStatus.AUTOMATED, reason, bounced_address=bounced)
    message = helpdesk_services.message_add(
        ticket=ticket, message=_message_data(parsed, MessageKind.AUTOMATED)
    )
    chunk.known.add(message.message_id)
    helpdesk_services.message_announce(message=message, new_ticket=False, automated=True)
    return _Outcome(InboundStatus.INGESTED, reason, message.pk, bounced)
