"""The bridge's three steps: fetch and store raw mail, ingest it into tickets, move it out of the inbox."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk import selectors as helpdesk_selectors
from helpdesk import services as helpdesk_services
from helpdesk.models import MessageKind, Priority
from mailbridge import outgoing
from mailbridge.imap import FetchedMail, ImapAccount, ImapSession
from mailbridge.models import InboundMail, InboundStatus, Mailbox, MailboxKind
from mailbridge.parsing import ParsedMail, parse_mail

logger = logging.getLogger(__name__)

LOCK_SECONDS = 15 * 60
DONE = (InboundStatus.INGESTED, InboundStatus.DUPLICATE, InboundStatus.AUTOMATED)
FAILED = (InboundStatus.QUARANTINED, InboundStatus.OVERSIZED)


@dataclass
class PollReport:
    mailbox: str
    claimed: bool = True
    fetched: int = 0
    stored: int = 0
    ingested: int = 0
    quarantined: int = 0
    moved: int = 0
    counts: dict[str, int] = field(default_factory=dict)


# --- configuration -----------------------------------------------------------------------------------


def mailbox_create(*, name: str, kind: str, url: str, address: str = "") -> Mailbox:
    """Create or update a mailbox from an imap(s)://USER:PASS@HOST:PORT/FOLDER URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError(f"the URL must start with imap:// or imaps://, got {parts.scheme or url!r}")
    if not parts.hostname or not parts.username:
        raise ValueError("the URL must name a user and a host: imap://USER:PASS@HOST:PORT/FOLDER")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError:
        raise ValueError("the port in the URL is not a number between 1 and 65535") from None
    username = unquote(parts.username)
    mailbox = Mailbox.objects.filter(name=name).first() or Mailbox(name=name)
    mailbox.kind = MailboxKind(kind)
    mailbox.host = parts.hostname
    mailbox.port = port
    mailbox.use_tls = parts.scheme == "imaps"
    mailbox.username = username
    mailbox.folder = unquote(parts.path.lstrip("/")) or "INBOX"
    mailbox.address = address or (username if "@" in username else f"{username}@{parts.hostname}")
    mailbox.set_password(unquote(parts.password or ""))
    try:
        mailbox.full_clean(exclude=["password_encrypted"])
    except ValidationError as exc:
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items())
        raise ValueError(problems) from None
    mailbox.save()
    return mailbox


def mailbox_account(mailbox: Mailbox) -> ImapAccount:
    return ImapAccount(mailbox.host, mailbox.port, mailbox.use_tls, mailbox.username, mailbox.password)


@contextmanager
def mailbox_claim(*, mailbox: Mailbox, seconds: int = LOCK_SECONDS) -> Iterator[bool]:
    """Hold the mailbox's poll lease for the block; yield False when another poller holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        Mailbox.objects.filter(pk=mailbox.pk)
        .filter(Q(lock_until__isnull=True) | Q(lock_until__lt=now))
        .update(lock_owner=token, lock_until=now + timedelta(seconds=seconds))
        == 1
    )
    try:
        yield claimed
    finally:
        if claimed:
            Mailbox.objects.filter(pk=mailbox.pk, lock_owner=token).update(lock_owner="", lock_until=None)


# --- step 1: fetch and store ---------------------------------------------------------------------------


def _header_value(raw: bytes, name: str) -> str:
    try:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        return str(headers.get(name, "") or "").strip()
    except Exception:  # noqa: BLE001 - a header we cannot read is simply unknown here; parsing reports it later.
        return ""


_MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")


def message_id_of(raw: bytes) -> str:
    """Return the Message-ID header in angle brackets, or '' when absent or unusable."""
    match = _MESSAGE_ID_RE.search(_header_value(raw, "Message-ID"))
    return match.group(0)[:998] if match else ""


def _inbound_row(*, mailbox: Mailbox, uidvalidity: int | None, mail: FetchedMail, source: str) -> InboundMail:
    return InboundMail(
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=mail.uid or None,
        message_id=message_id_of(mail.raw),
        sha256=hashlib.sha256(mail.raw).hexdigest(),
        size=mail.size,
        raw=mail.raw,
        source=source,
        status=InboundStatus.OVERSIZED if mail.oversized else InboundStatus.STORED,
        reason=f"{mail.size} bytes is over the limit of {mailbox.max_message_bytes} bytes"
        if mail.oversized
        else "",
        from_address=_header_value(mail.raw, "From")[:254],
        subject=_header_value(mail.raw, "Subject")[:998],
    )


def inbound_store_batch(
    *, mailbox: Mailbox, uidvalidity: int | None, mails: list[FetchedMail], source: str = "imap"
) -> tuple[list[InboundMail], list[int]]:
    """Commit the raw mails; return the new rows and the UIDs whose content was already stored."""
    rows = [_inbound_row(mailbox=mailbox, uidvalidity=uidvalidity, mail=m, source=source) for m in mails]
    with transaction.atomic():
        # Conflicts (a rerun, a second poller, the same mail again after a UIDVALIDITY change) are skipped.
        InboundMail.objects.bulk_create(rows, ignore_conflicts=True)
        uids = [m.uid for m in mails if m.uid]
        stored = list(InboundMail.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid__in=uids))
    stored_uids = {row.uid for row in stored}
    already = [m.uid for m in mails if m.uid and m.uid not in stored_uids]
    for row in stored:
        if row.status == InboundStatus.OVERSIZED:
            outgoing.oversize_notice_send(inbound=row)
    return stored, already


# --- step 2: ingest ------------------------------------------------------------------------------------


def inbound_ingest(*, inbound: InboundMail) -> InboundMail:
    """Parse the stored mail and file it into a ticket; on any failure quarantine it with the reason."""
    if inbound.status != InboundStatus.STORED:
        return inbound
    InboundMail.objects.filter(pk=inbound.pk).update(attempts=inbound.attempts + 1)
    try:
        parsed = parse_mail(bytes(inbound.raw))
    except Exception as exc:
        logger.warning("mail %s cannot be parsed: %s", inbound.pk, exc, exc_info=True)
        return _quarantine(inbound, f"cannot be parsed: {type(exc).__name__}: {exc}")
    try:
        with transaction.atomic():
            return _deliver(inbound, parsed)
    except Exception as exc:
        logger.warning("mail %s cannot be ingested: %s", inbound.pk, exc, exc_info=True)
        return _quarantine(inbound, f"cannot be ingested: {type(exc).__name__}: {exc}")


def _quarantine(inbound: InboundMail, reason: str) -> InboundMail:
    inbound.status = InboundStatus.QUARANTINED
    inbound.reason = reason[:2000]
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["status", "reason", "processed_at"])
    return inbound


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


def _finish(inbound: InboundMail, status: str, message_pk: int | None, reason: str = "") -> InboundMail:
    inbound.status = status
    inbound.reason = reason
    inbound.processed_at = timezone.now()
    inbound.ticket_message_id = message_pk
    inbound.save(update_fields=["status", "reason", "processed_at", "ticket_message"])
    return inbound


def _deliver(inbound: InboundMail, parsed: ParsedMail) -> InboundMail:
    known = helpdesk_selectors.message_find_by_message_ids(message_ids=[parsed.message_id])
    if known is not None:
        # The same mail reached us before (the other mailbox, a Cc to both): one ticket only.
        return _finish(
            inbound, InboundStatus.DUPLICATE, known.pk, f"already on ticket {known.ticket.reference}"
        )
    match = helpdesk_selectors.ticket_find_for_mail(
        subject=parsed.subject, in_reply_to=parsed.in_reply_to, references=parsed.references
    )
    if parsed.automated.is_automated:
        return _deliver_automated(inbound, parsed, match.ticket)
    if not parsed.from_.address:
        raise ValueError("the mail has no usable sender address")
    customer = helpdesk_services.customer_get_or_create(address=parsed.from_.address, name=parsed.from_.name)
    ticket, new_ticket = match.ticket, False
    if ticket is not None and match.via == "subject" and ticket.customer_id != customer.pk:
        # Anyone can type a reference into a subject: a stranger's mail opens its own ticket, linked.
        ticket = _open(inbound, parsed, customer, linked_to=ticket)
        new_ticket = True
    elif ticket is not None and helpdesk_services.ticket_reopen_window_passed(ticket=ticket):
        ticket = _open(inbound, parsed, customer, linked_to=ticket)
        new_ticket = True
    elif ticket is not None:
        helpdesk_services.message_add(ticket=ticket, message=_message_data(parsed, MessageKind.CUSTOMER))
    else:
        ticket = _open(inbound, parsed, customer, linked_to=None)
        new_ticket = True
    message = (
        ticket.messages.get(message_id=parsed.message_id) if parsed.message_id else ticket.messages.last()
    )
    assert message is not None
    helpdesk_services.message_announce(message=message, new_ticket=new_ticket)
    return _finish(inbound, InboundStatus.INGESTED, message.pk)


def _open(
    inbound: InboundMail,
    parsed: ParsedMail,
    customer: helpdesk_services.Customer,
    linked_to: helpdesk_services.Ticket | None,
) -> helpdesk_services.Ticket:
    emergency = inbound.mailbox.kind == MailboxKind.EMERGENCY
    return helpdesk_services.ticket_open(
        customer=customer,
        queue=helpdesk_selectors.queue_get(slug="emergency" if emergency else "support"),
        message=_message_data(parsed, MessageKind.CUSTOMER),
        priority=Priority.URGENT if emergency else None,
        linked_to=linked_to,
    )


def _deliver_automated(
    inbound: InboundMail, parsed: ParsedMail, ticket: helpdesk_services.Ticket | None
) -> InboundMail:
    """Record auto-replies and bounces on their ticket when we find it; they never open one."""
    reason = parsed.automated.reason
    if parsed.bounce is not None:
        if parsed.bounce.recipient and parsed.bounce.status.startswith("5"):
            helpdesk_services.customer_mark_undeliverable(address=parsed.bounce.recipient)
        original = helpdesk_selectors.message_find_by_message_ids(
            message_ids=[parsed.bounce.original_message_id]
        )
        ticket = original.ticket if original is not None else ticket
    if ticket is None:
        return _finish(inbound, InboundStatus.AUTOMATED, None, reason)
    message = helpdesk_services.message_add(
        ticket=ticket, message=_message_data(parsed, MessageKind.AUTOMATED)
    )
    helpdesk_services.message_announce(message=message, new_ticket=False, automated=True)
    return _finish(inbound, InboundStatus.INGESTED, message.pk, reason)


def inbound_ingest_pending(*, mailbox: Mailbox) -> dict[str, int]:
    """Ingest every stored, not yet ingested mail of the mailbox, oldest first; return counts by status."""
    counts: dict[str, int] = {}
    pending = InboundMail.objects.filter(mailbox=mailbox, status=InboundStatus.STORED).order_by("pk")
    for inbound in pending.iterator(chunk_size=200):
        result = inbound_ingest(inbound=inbound)
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def inbound_reprocess(*, inbound: InboundMail) -> InboundMail:
    """Try a quarantined mail again (after a fix); oversized mail stays where it is."""
    if inbound.status != InboundStatus.QUARANTINED:
        return inbound
    updated = InboundMail.objects.filter(pk=inbound.pk, status=InboundStatus.QUARANTINED).update(
        status=InboundStatus.STORED, reason=""
    )
    if not updated:
        return inbound
    inbound.refresh_from_db()
    return inbound_ingest(inbound=inbound)


# --- step 3: move, and the whole cycle ------------------------------------------------------------------


def _move_finished(*, session: ImapSession, mailbox: Mailbox, uidvalidity: int, in_folder: set[int]) -> int:
    rows = InboundMail.objects.filter(
        mailbox=mailbox, uidvalidity=uidvalidity, moved=False, uid__in=in_folder
    )
    done = [uid for uid, status in rows.values_list("uid", "status") if status in DONE and uid is not None]
    failed = [
        uid for uid, status in rows.values_list("uid", "status") if status in FAILED and uid is not None
    ]
    session.move(done, mailbox.processed_folder)
    InboundMail.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid__in=done).update(moved=True)
    session.move(failed, mailbox.failed_folder)
    InboundMail.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid__in=failed).update(moved=True)
    return len(done) + len(failed)


def mailbox_poll(*, mailbox: Mailbox) -> PollReport:
    """Run one poll cycle: store new mail, ingest what is stored, move what is finished."""
    report = PollReport(mailbox=mailbox.name)
    with mailbox_claim(mailbox=mailbox) as claimed:
        if not claimed:
            report.claimed = False
            return report
        try:
            _poll(mailbox, report)
        except Exception as exc:
            Mailbox.objects.filter(pk=mailbox.pk).update(
                last_poll_at=timezone.now(),
                last_poll_ok=False,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
            )
            raise
        Mailbox.objects.filter(pk=mailbox.pk).update(
            last_poll_at=timezone.now(), last_poll_ok=True, last_error=""
        )
    return report


def _poll(mailbox: Mailbox, report: PollReport) -> None:
    with ImapSession(mailbox_account(mailbox)) as session:
        uidvalidity = session.select(mailbox.folder)
        if mailbox.uidvalidity != uidvalidity:
            Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity)
        in_folder = set(session.uids())
        known = set(
            InboundMail.objects.filter(
                mailbox=mailbox, uidvalidity=uidvalidity, uid__in=in_folder
            ).values_list("uid", flat=True)
        )
        new = sorted(in_folder - {uid for uid in known if uid is not None})
        already: list[int] = []
        batch: list[FetchedMail] = []
        for mail in session.fetch(new, max_bytes=mailbox.max_message_bytes):
            report.fetched += 1
            batch.append(mail)
            if len(batch) >= 100:
                already += _store(mailbox, uidvalidity, batch, report)
                batch = []
        already += _store(mailbox, uidvalidity, batch, report)
        report.counts = inbound_ingest_pending(mailbox=mailbox)
        report.ingested = sum(report.counts.get(s, 0) for s in DONE)
        report.quarantined = report.counts.get(InboundStatus.QUARANTINED, 0)
        # Mail whose content we already hold (seen under an old UIDVALIDITY, or appended twice) is done.
        session.move(already, mailbox.processed_folder)
        report.moved = len(already) + _move_finished(
            session=session, mailbox=mailbox, uidvalidity=uidvalidity, in_folder=in_folder
        )


def _store(mailbox: Mailbox, uidvalidity: int, batch: list[FetchedMail], report: PollReport) -> list[int]:
    if not batch:
        return []
    stored, already = inbound_store_batch(mailbox=mailbox, uidvalidity=uidvalidity, mails=batch)
    report.stored += len(stored)
    return already


def mail_import(*, mailbox: Mailbox, raws: Iterable[bytes]) -> Iterator[InboundMail | None]:
    """Store and ingest mails from a file (mbox, Maildir, .eml) like fetched ones; None for known mail."""
    for raw in raws:
        oversized = len(raw) > mailbox.max_message_bytes
        # Like IMAP, keep only the header of an oversized mail.
        kept = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0] if oversized else raw
        mail = FetchedMail(uid=0, size=len(raw), raw=kept, oversized=oversized)
        row = _inbound_row(mailbox=mailbox, uidvalidity=None, mail=mail, source="import")
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            yield None  # this mail (by Message-ID or content) was imported or fetched before
            continue
        if row.status == InboundStatus.OVERSIZED:
            outgoing.oversize_notice_send(inbound=row)
            yield row
            continue
        yield inbound_ingest(inbound=row)
