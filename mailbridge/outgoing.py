"""Mail we send: the outbox, its SMTP delivery, the automatic answers, and the rules that prevent loops."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import smtplib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path

from celery import current_task
from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import BinaryField, Count, Q
from django.db.models.functions import Substr
from django.template import Context, Engine, Template
from django.utils import timezone

from helpdesk import selectors as helpdesk_selectors
from helpdesk import services as helpdesk_services
from helpdesk.models import Direction, Message, MessageKind, Ticket, TicketStatus
from mailbridge.models import (
    InboundMail,
    Mailbox,
    MailboxKind,
    MailTemplate,
    OutboxKind,
    OutboxMail,
    OutboxStatus,
)
from mailbridge.parsing import MailParseError, parse_mail

logger = logging.getLogger(__name__)

LOOP_HEADER = "X-Hosting-Desk-Loop"
LANGUAGES = ("de", "en", "fr", "it")
REQUEST_ACTIONS = ("request_error_message", "request_problem_description", "request_callback_number")
TECHNICAL_SERVICES = ("email", "website", "ftp", "database", "domain", "backup", "controlpanel")
# SMTP trouble that goes away: retry later. Anything else (5xx, refused recipients) is permanent.
TRANSIENT_SMTP_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
)
SENDING_LEASE = timedelta(minutes=5)
# Waits between attempts after a transient failure: 10 s, 20 s, 40 s ... at most 10 minutes (as the task).
SEND_RETRY_BACKOFF = timedelta(seconds=10)
SEND_RETRY_BACKOFF_MAX = timedelta(minutes=10)
SEND_MAX_RETRIES = 10


class TransientSendError(Exception):
    """Sending failed for a reason that may pass (server away, 4xx); the task retries."""


# --- loop protection ---------------------------------------------------------------------------------


_BULK_PRECEDENCE = re.compile(r"^\s*(bulk|junk|list|auto_reply)\s*$", re.IGNORECASE)
_ROBOT_SENDER = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounce[s]?)([+@-]|$)", re.IGNORECASE
)


def auto_reply_block_reason(*, raw: bytes, sender: str, own_addresses: Sequence[str]) -> str:
    """Return why no automatic mail may answer this mail (RFC 3834 and common practice), or ''."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    sender = sender.strip().lower()
    checks = [
        (
            str(headers.get("Auto-Submitted", "no")).strip().lower().split(";")[0] not in ("", "no"),
            "Auto-Submitted",
        ),
        (bool(_BULK_PRECEDENCE.match(str(headers.get("Precedence", "")))), "Precedence"),
        (headers.get("List-Id") is not None or headers.get("List-Unsubscribe") is not None, "mailing list"),
        (headers.get("X-Auto-Response-Suppress") is not None, "X-Auto-Response-Suppress"),
        (headers.get(LOOP_HEADER) is not None, "our own loop header"),
        (str(headers.get("Return-Path", "")).strip() == "<>", "null Return-Path"),
        (not sender, "no sender"),
        (bool(_ROBOT_SENDER.match(sender)), "robot sender"),
        (sender in {a.lower() for a in own_addresses}, "our own address"),
    ]
    return next((reason for hit, reason in checks if hit), "")


def own_addresses() -> list[str]:
    """Return every address we send from (the mailboxes' and the default sender)."""
    return [*Mailbox.objects.values_list("address", flat=True), settings.DEFAULT_FROM_EMAIL]


# Namespace of the per-recipient advisory locks (the two-key form: apart from one-key locks elsewhere).
_RATE_LOCK_NAMESPACE = 3834


@contextlib.contextmanager
def _recipient_lock(recipient: str) -> Iterator[None]:
    """Serialise count-then-queue of automatic mail to one recipient across workers (PostgreSQL)."""
    with transaction.atomic():
        # Without it, two workers triaging two mails of one sender at once both count below the limit
        # and both send. SQLite allows one writer at a time, so there is nothing to add there.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    [_RATE_LOCK_NAMESPACE, recipient.lower()],
                )
        yield


def rate_limit_reached(*, recipient: str, now: datetime | None = None) -> bool:
    """Return whether the recipient already got the most automatic mail allowed per hour or per day."""
    now = now or timezone.now()
    counts = OutboxMail.objects.filter(
        recipient=recipient.lower(), automatic=True, created_at__gte=now - timedelta(days=1)
    ).aggregate(day=Count("pk"), hour=Count("pk", filter=Q(created_at__gte=now - timedelta(hours=1))))
    return (
        counts["hour"] >= settings.MAILBRIDGE_AUTO_PER_HOUR
        or counts["day"] >= settings.MAILBRIDGE_AUTO_PER_DAY
    )


# --- composing -------------------------------------------------------------------------------------


# Plain-text mail: no HTML escaping of the customer's subject or name.
_TEMPLATES = Path(__file__).parent / "templates"
_MAIL_ENGINE = Engine(dirs=[str(_TEMPLATES)], autoescape=False)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


def template_render(*, key: str, language: str, context: dict[str, object]) -> Rendered:
    """Render an automatic mail: the admins' version for the language if there is one, else the default."""
    language = language if language in LANGUAGES else "en"
    custom = MailTemplate.objects.filter(key=key, language=language).first()
    subject: str
    body: str
    # Mail is plain text: a customer's "R&D" must not arrive as "R&amp;D".
    values = Context(context, autoescape=False)
    if custom is not None:
        subject = _compiled(custom.subject).render(values)
        body = _compiled(custom.body).render(values)
    else:
        rendered = _MAIL_ENGINE.get_template(f"mailbridge/mail/{key}.{language}.txt").render(values)
        head, _, body = rendered.partition("\n\n")
        subject = head.removeprefix("Subject:").strip()
    # A subject is one line, whatever a template or a customer's subject put into it.
    subject = " ".join(subject.split())
    return Rendered(subject=subject[:998], text=_tidy(body))


@functools.lru_cache(maxsize=128)
def _compiled(source: str) -> Template:
    # Keyed by the text itself: an admin's edit is a new key and is used at once, in every process.
    return Template(source, engine=_MAIL_ENGINE)


def template_default(*, key: str, language: str) -> str:
    """Return the built-in default text of a template (for admins starting their own version)."""
    return (_TEMPLATES / "mailbridge" / "mail" / f"{key}.{language}.txt").read_text(encoding="utf-8")


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _mailbox_for(ticket: Ticket) -> Mailbox | None:
    kind = MailboxKind.EMERGENCY if ticket.queue.slug == "emergency" else MailboxKind.SUPPORT
    return Mailbox.objects.filter(kind=kind).order_by("pk").first() or Mailbox.objects.order_by("pk").first()


def _sender_for(ticket: Ticket) -> str:
    mailbox = _mailbox_for(ticket)
    return mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL


def _thread_headers(parent: Message | None) -> tuple[str, str]:
    if parent is None or not parent.message_id:
        return "", ""
    references = " ".join(filter(None, [parent.references, parent.message_id]))
    # Long threads: keep the first and the most recent ids, as RFC 5322 suggests.
    ids = references.split()
    if len(ids) > 20:
        ids = ids[:1] + ids[-19:]
    return parent.message_id, " ".join(ids)


def _subject_with_tag(ticket: Ticket, subject: str) -> str:
    return subject if ticket.subject_tag in subject else f"{ticket.subject_tag} {subject}"


@transaction.atomic
def outbox_queue(
    *,
    ticket: Ticket | None,
    kind: str,
    to: Sequence[str],
    subject: str,
    text: str,
    parent: Message | None = None,
    automatic: bool = True,
    from_address: str = "",
    cc: Sequence[str] = (),
    language: str = "",
    requested: Sequence[str] = (),
    author: helpdesk_services.Actor = None,
    attachments: Sequence[helpdesk_services.AttachmentData] = (),
    inbound: InboundMail | None = None,
) -> OutboxMail:
    """Queue a mail: store it on the ticket (so replies thread back) and send it after commit."""
    sender = from_address or (_sender_for(ticket) if ticket is not None else settings.DEFAULT_FROM_EMAIL)
    message_id = make_msgid(domain=sender.rsplit("@", 1)[-1])
    in_reply_to, references = _thread_headers(parent)
    if parent is None and inbound is not None and inbound.message_id:
        in_reply_to = references = inbound.message_id
    stored = None
    if ticket is not None:
        stored = helpdesk_services.message_add(
            ticket=ticket,
            author=author,
            message=helpdesk_services.MessageData(
                direction=Direction.OUT,
                kind=MessageKind.AUTO_REPLY if automatic else MessageKind.AGENT_REPLY,
                from_address=sender,
                to=list(to),
                cc=list(cc),
                subject=subject,
                message_id=message_id,
                in_reply_to=in_reply_to,
                references=references.split(),
                text=text,
                reply_text=text,
                attachments=attachments,
            ),
        )
    outbox = OutboxMail.objects.create(
        ticket=ticket,
        ticket_message=stored,
        kind=kind,
        automatic=automatic,
        from_address=sender,
        reply_to=sender,
        recipient=(to[0] if to else "").lower(),
        to=list(to),
        cc=list(cc),
        subject=subject,
        text=text,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        language=language,
        requested=list(requested),
        inbound=inbound,
    )
    transaction.on_commit(lambda: _send_queued(outbox.pk))
    return outbox


def _enqueue(outbox_id: int) -> None:
    from mailbridge.tasks import send_outbox

    send_outbox.delay(outbox_id)


def _send_queued(outbox_id: int) -> None:
    """Send a just-queued mail: at once inside a worker's task, else through a task of its own."""
    if not current_task or current_task.request.is_eager:
        _enqueue(outbox_id)
        return
    # The worker answering a mail sends the answer itself: queued behind every mail still waiting for
    # triage, it would go out only when the whole burst is triaged. Trouble goes to the task's retries.
    from mailbridge.tasks import send_outbox

    try:
        outbox_send(outbox_id=outbox_id)
    except TransientSendError:
        send_outbox.apply_async((outbox_id,), countdown=send_retry_delay(attempts=1).total_seconds())


# --- sending -----------------------------------------------------------------------------------------


def _claim(outbox_id: int) -> bool:
    """Take the row for sending; a redelivered task finds it taken or sent and does nothing."""
    now = timezone.now()
    return (
        OutboxMail.objects.filter(pk=outbox_id, status=OutboxStatus.QUEUED).update(
            status=OutboxStatus.SENDING, claimed_until=now + SENDING_LEASE
        )
        == 1
    )


def outbox_requeue_waiting(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Queue again mail whose task was lost; flag mail whose sender died mid-send instead of resending it."""
    now = timezone.now()
    # Whether the SMTP server took such a mail is unknown: an agent decides, we never risk sending twice.
    OutboxMail.objects.filter(status=OutboxStatus.SENDING, claimed_until__lt=now).update(
        status=OutboxStatus.FAILED,
        last_error="interrupted while sending; check the recipient got it before resending",
    )
    # A queued row's claimed_until is when its retry is due; well past it, the retry task was lost.
    lost = list(
        OutboxMail.objects.filter(
            Q(attempts=0, created_at__lt=now - older_than)
            | Q(attempts__gt=0, claimed_until__lt=now - older_than),
            status=OutboxStatus.QUEUED,
        ).values_list("pk", flat=True)
    )
    for outbox_id in lost:
        _enqueue(outbox_id)
    return len(lost)


def _email(outbox: OutboxMail, connection: BaseEmailBackend | None) -> EmailMultiAlternatives:
    headers = {"Message-ID": outbox.message_id, LOOP_HEADER: "1"}
    if outbox.automatic:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    if outbox.in_reply_to:
        headers["In-Reply-To"] = outbox.in_reply_to
        headers["References"] = outbox.references
    email = EmailMultiAlternatives(
        subject=outbox.subject,
        body=outbox.text,
        from_email=outbox.from_address,
        to=list(outbox.to),
        cc=list(outbox.cc),
        reply_to=[outbox.reply_to] if outbox.reply_to else None,
        headers=headers,
        connection=connection,
    )
    if outbox.html:
        email.attach_alternative(outbox.html, "text/html")
    # Automatic mail never carries attachments: no need to look.
    if outbox.ticket_message is not None and not outbox.automatic:
        for attachment in outbox.ticket_message.attachments.all():
            with attachment.file.open("rb") as handle:
                email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email


def outbox_send(*, outbox_id: int, connection: BaseEmailBackend | None = None) -> OutboxMail:
    """Send one queued mail exactly once; raise TransientSendError when a retry may succeed."""
    if not _claim(outbox_id):
        return OutboxMail.objects.get(pk=outbox_id)
    outbox = OutboxMail.objects.select_related("ticket_message").get(pk=outbox_id)
    outbox.attempts += 1
    try:
        _email(outbox, connection).send()
    except BadHeaderError as exc:
        # A header with a line break (e.g. from an encoded subject) would let a sender inject headers.
        return _fail(outbox, f"refused: header injection attempt ({exc})")
    except ValueError as exc:
        # Django refuses malformed addresses before talking to the server.
        return _fail(outbox, f"invalid address: {exc}")
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            return _back_to_queue(outbox, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
        return _fail(outbox, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
    except smtplib.SMTPRecipientsRefused as exc:
        if all(400 <= code < 500 for code, _ in exc.recipients.values()):
            # Greylisting and full mailboxes answer 4xx: the server asks us to come back later.
            return _back_to_queue(outbox, f"recipients refused for now: {exc.recipients}")
        return _fail(outbox, f"recipients refused: {exc.recipients}")
    except TRANSIENT_SMTP_ERRORS as exc:
        return _back_to_queue(outbox, f"{type(exc).__name__}: {exc}")
    except smtplib.SMTPException as exc:
        return _fail(outbox, f"{type(exc).__name__}: {exc}")
    outbox.status = OutboxStatus.SENT
    outbox.sent_at = timezone.now()
    outbox.last_error = ""
    outbox.save(update_fields=["status", "sent_at", "attempts", "last_error"])
    return outbox


def _fail(outbox: OutboxMail, error: str) -> OutboxMail:
    logger.warning("outbox %s failed: %s", outbox.pk, error)
    outbox.status = OutboxStatus.FAILED
    outbox.last_error = error[:2000]
    outbox.save(update_fields=["status", "last_error", "attempts"])
    return outbox


def _back_to_queue(outbox: OutboxMail, error: str) -> OutboxMail:
    outbox.status = OutboxStatus.QUEUED
    outbox.last_error = error[:2000]
    # Back in the queue the lease field says when the retry is due (see outbox_send_due, send_stuck).
    outbox.claimed_until = timezone.now() + send_retry_delay(attempts=outbox.attempts)
    outbox.save(update_fields=["status", "last_error", "attempts", "claimed_until"])
    raise TransientSendError(error)


def send_retry_delay(*, attempts: int) -> timedelta:
    """Return the wait before the next attempt after this many failed ones."""
    return min(SEND_RETRY_BACKOFF * 2 ** min(max(attempts - 1, 0), 16), SEND_RETRY_BACKOFF_MAX)


def outbox_send_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send the queued mails whose retry is due over one SMTP connection; return how many went out."""
    now = now or timezone.now()
    due = OutboxMail.objects.filter(status=OutboxStatus.QUEUED, attempts__gt=0, claimed_until__lte=now)
    ids = list(due.order_by("claimed_until").values_list("pk", flat=True)[:limit])
    return outbox_send_batch(outbox_ids=ids)


def outbox_send_batch(*, outbox_ids: Sequence[int]) -> int:
    """Send these queued mails over one SMTP connection, stopping at the first transient failure."""
    if not outbox_ids:
        return 0
    sent = 0
    connection = get_connection()
    try:
        # When the server cannot be reached, the first mail's attempt below records why.
        with contextlib.suppress(OSError):
            connection.open()
        for outbox_id in outbox_ids:
            try:
                sent += outbox_send(outbox_id=outbox_id, connection=connection).status == OutboxStatus.SENT
            except TransientSendError as exc:
                # The server is away again: the rest would fail the same way and keep their turn.
                OutboxMail.objects.filter(pk=outbox_id, attempts__gt=SEND_MAX_RETRIES).update(
                    status=OutboxStatus.FAILED, last_error=f"gave up after retries: {exc}"[:2000]
                )
                break
    finally:
        with contextlib.suppress(OSError):
            connection.close()
    return sent


def outbox_resend(*, outbox: OutboxMail) -> OutboxMail:
    """Queue a failed mail again (after the cause was fixed)."""
    # A fresh count of attempts: the retries that ran out before the fix must not end this try at once.
    if OutboxMail.objects.filter(pk=outbox.pk, status=OutboxStatus.FAILED).update(
        status=OutboxStatus.QUEUED, attempts=0, claimed_until=None
    ):
        transaction.on_commit(lambda: _enqueue(outbox.pk))
        outbox.status = OutboxStatus.QUEUED
    return outbox


def outbox_give_up(*, outbox_id: int, error: str) -> None:
    """Mark a mail failed after its retries ran out, so agents see it and can resend."""
    OutboxMail.objects.filter(pk=outbox_id, status=OutboxStatus.QUEUED).update(
        status=OutboxStatus.FAILED, last_error=f"gave up after retries: {error}"[:2000]
    )


# --- automatic answers -----------------------------------------------------------------------------


def _requested_context(ticket: Ticket, actions: Sequence[str]) -> dict[str, object]:
    services = [
        s for s in ticket.service_links.values_list("service__slug", flat=True) if s in TECHNICAL_SERVICES
    ]
    return {
        "tag": ticket.subject_tag,
        "subject": ticket.subject,
        "name": ticket.customer.name,
        "emergency": ticket.queue.slug == "emergency",
        "status_url": settings.HELPDESK_STATUS_URL,
        "requested": [a for a in actions if a in REQUEST_ACTIONS],
        "ask_error": "request_error_message" in actions,
        "ask_description": "request_problem_description" in actions,
        "ask_callback": "request_callback_number" in actions,
        "services": services,
    }


# Enough for the header of any ordinary mail; the body (attachments, megabytes) stays in the database.
_HEADER_PREFIX_BYTES = 64 * 1024


def _inbound_header(message: Message) -> bytes:
    """Return the start of the raw mail behind the message, at least its whole header (b'' if none)."""
    rows = InboundMail.objects.filter(ticket_message=message)
    prefix = (
        rows.annotate(head=Substr("raw", 1, _HEADER_PREFIX_BYTES, output_field=BinaryField()))
        .values_list("head", flat=True)
        .first()
    )
    if prefix is None:
        return b""
    head = bytes(prefix)
    if len(head) >= _HEADER_PREFIX_BYTES and not re.search(rb"\r?\n\r?\n", head):
        # A header longer than the prefix: the loop check must see all of it.
        return bytes(rows.values_list("raw", flat=True).first() or b"")
    return head


def _auto_reply_block(message: Message) -> str:
    """Return why we must not answer this message automatically, or ''."""
    if message.kind != MessageKind.CUSTOMER or message.direction != Direction.IN:
        return "not a customer mail"
    reason = auto_reply_block_reason(
        raw=_inbound_header(message), sender=message.from_address, own_addresses=own_addresses()
    )
    if reason:
        return reason
    if rate_limit_reached(recipient=message.from_address):
        return "rate limit for this sender"
    return ""


def last_request_at(*, ticket: Ticket) -> datetime | None:
    """Return when we last asked this ticket's customer for details automatically."""
    asked = (
        OutboxMail.objects.filter(ticket=ticket, automatic=True).exclude(requested=[]).order_by("-created_at")
    )
    return asked.values_list("created_at", flat=True).first()


def ticket_auto_respond(
    *, ticket: Ticket, message: Message, actions: Sequence[str], new_ticket: bool
) -> OutboxMail | None:
    """Acknowledge a new ticket (asking for what is missing in the same mail) or close the loop on a reply."""
    requested = [a for a in actions if a in REQUEST_ACTIONS]
    if not new_ticket and not requested:
        # The customer gave what we asked for: back to the agents. This sends nothing, so the loop and
        # rate rules below must not keep a ticket waiting whose answer has arrived.
        if ticket.status == TicketStatus.WAITING and message.kind == MessageKind.CUSTOMER:
            helpdesk_services.ticket_set_status(ticket=ticket, status=TicketStatus.OPEN)
        return None
    with _recipient_lock(message.from_address):
        blocked = _auto_reply_block(message)
        if blocked:
            logger.info("no automatic mail for message %s: %s", message.pk, blocked)
            return None
        language = ticket.language or ticket.customer.language or "en"
        if new_ticket:
            return _send_template(ticket, message, OutboxKind.ACKNOWLEDGEMENT, language, requested)
        asked = last_request_at(ticket=ticket)
        if asked is not None and timezone.now() - asked < timedelta(hours=settings.MAILBRIDGE_NO_NAG_HOURS):
            return None
        return _send_template(ticket, message, OutboxKind.DETAIL_REQUEST, language, requested)


def _send_template(
    ticket: Ticket, message: Message, kind: str, language: str, requested: list[str]
) -> OutboxMail:
    rendered = template_render(key=kind, language=language, context=_requested_context(ticket, requested))
    outbox = outbox_queue(
        ticket=ticket,
        kind=kind,
        to=[message.from_address],
        subject=_subject_with_tag(ticket, rendered.subject),
        text=rendered.text,
        parent=message,
        language=language,
        requested=requested,
    )
    if requested and ticket.status in (TicketStatus.NEW, TicketStatus.OPEN):
        helpdesk_services.ticket_set_status(ticket=ticket, status=TicketStatus.WAITING)
    return outbox


def agent_reply_send(
    *,
    ticket: Ticket,
    author: helpdesk_services.Actor,
    text: str,
    attachments: Sequence[helpdesk_services.AttachmentData] = (),
    cc: Sequence[str] = (),
) -> OutboxMail:
    """Send an agent's reply to the customer through the outbox; loop rules never block it."""
    address = ticket.customer.emails.filter(is_primary=True).values_list("address", flat=True).first()
    last_in = ticket.messages.filter(direction=Direction.IN).order_by("-created_at").first()
    to = [last_in.from_address] if last_in is not None and last_in.from_address else [address or ""]
    if not to[0]:
        raise ValueError(f"ticket {ticket.reference}: the customer has no address to reply to")
    return outbox_queue(
        ticket=ticket,
        kind=OutboxKind.AGENT_REPLY,
        to=to,
        cc=cc,
        subject=_subject_with_tag(ticket, f"Re: {ticket.subject}"),
        text=text,
        parent=last_in,
        automatic=False,
        author=author,
        attachments=attachments,
    )


def oversize_notice_send(*, inbound: InboundMail) -> OutboxMail | None:
    """Tell the sender of a refused oversized mail the limit (once, within the loop rules)."""
    if OutboxMail.objects.filter(inbound=inbound).exists():
        return None
    raw = bytes(inbound.raw)
    sender = _sender_address(raw)
    if auto_reply_block_reason(raw=raw, sender=sender, own_addresses=own_addresses()):
        return None
    with _recipient_lock(sender):
        if rate_limit_reached(recipient=sender):
            return None
        return _size_notice_queue(inbound, sender)


def _size_notice_queue(inbound: InboundMail, sender: str) -> OutboxMail:
    customer = helpdesk_selectors.customer_find_by_address(address=sender)
    language = (customer.language if customer is not None else "") or settings.HELPDESK_DEFAULT_LANGUAGE
    rendered = template_render(
        key=OutboxKind.SIZE_NOTICE,
        language=language,
        context={
            "subject": inbound.subject,
            "size_mb": f"{inbound.size / 2**20:.1f}",
            "limit_mb": f"{inbound.mailbox.max_message_bytes / 2**20:.0f}",
        },
    )
    return outbox_queue(
        ticket=None,
        kind=OutboxKind.SIZE_NOTICE,
        to=[sender],
        subject=rendered.subject,
        text=rendered.text,
        from_address=inbound.mailbox.address,
        language=language,
        inbound=inbound,
    )


def _sender_address(raw: bytes) -> str:
    # The parser's reading of From, so the notice goes where a reply would (CVE-2023-27043: in
    # "alice@example.org <bob@evil.example>" that is bob). Oversized rows hold only the header.
    try:
        return parse_mail(raw).from_.address
    except MailParseError:
        return ""
