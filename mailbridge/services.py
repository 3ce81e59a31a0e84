"""The bridge's three steps: fetch and store raw mail, ingest it into tickets, move it out of the inbox."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from mailbridge import outgoing
from mailbridge.imap import FetchedMail, ImapAccount, ImapSession
from mailbridge.ingest import inbound_ingest, inbound_ingest_pending
from mailbridge.models import InboundMail, InboundStatus, Mailbox, MailboxKind
from mailbridge.parsing.headers import header_text

logger = logging.getLogger(__name__)

LOCK_SECONDS = 15 * 60
# Mails fetched and committed per transaction in step 1.
STORE_BATCH = 100
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


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")


def _headers(raw: bytes) -> Message | None:
    # The header block only, read once for all the fields kept beside the raw bytes. compat32 keeps the
    # values as they came; header_text decodes them leniently, as the parser does.
    end = _HEADER_END.search(raw)
    try:
        return BytesHeaderParser(policy=compat32).parsebytes(raw[: end.end()] if end else raw)
    except Exception:  # noqa: BLE001 - a header we cannot read is simply unknown here; parsing reports it later.
        return None


def _header_value(headers: Message | None, name: str) -> str:
    if headers is None:
        return ""
    try:
        return header_text(headers, name)
    except Exception:  # noqa: BLE001 - as above: unknown here, reported by the parser.
        return ""


def _message_id(headers: Message | None) -> str:
    match = _MESSAGE_ID_RE.search(_header_value(headers, "Message-ID"))
    return match.group(0)[:998] if match else ""


def message_id_of(raw: bytes) -> str:
    """Return the Message-ID header in angle brackets, or '' when absent or unusable."""
    return _message_id(_headers(raw))


def _inbound_row(*, mailbox: Mailbox, uidvalidity: int | None, mail: FetchedMail, source: str) -> InboundMail:
    headers = _headers(mail.raw)
    return InboundMail(
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=mail.uid or None,
        message_id=_message_id(headers),
        sha256=hashlib.sha256(mail.raw).hexdigest(),
        size=mail.size,
        raw=mail.raw,
        source=source,
        status=InboundStatus.OVERSIZED if mail.oversized else InboundStatus.STORED,
        reason=f"{mail.size} bytes is over the limit of {mailbox.max_message_bytes} bytes"
        if mail.oversized
        else "",
        from_address=_header_value(headers, "From")[:254],
        subject=_header_value(headers, "Subject")[:998],
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
        # Without the raw bytes: the caller has them, and ingestion reads them with its claim.
        batch = InboundMail.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid__in=uids)
        stored = list(batch.defer("raw"))
    stored_uids = {row.uid for row in stored}
    already = [m.uid for m in mails if m.uid and m.uid not in stored_uids]
    for row in stored:
        if row.status == InboundStatus.OVERSIZED:
            outgoing.oversize_notice_send(inbound=row)
    return stored, already


# --- step 2: ingest (mailbridge.ingest) -----------------------------------------------------------------


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
    ).values_list("uid", "status")
    done, failed = [], []
    for uid, status in rows:
        if uid is not None and status in DONE:
            done.append(uid)
        elif uid is not None and status in FAILED:
            failed.append(uid)
    # Each folder gets one UID MOVE for all its mails, only after their outcome is committed.
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
        to_ingest: set[int] = set()
        batch: list[FetchedMail] = []
        for mail in session.fetch(new, max_bytes=mailbox.max_message_bytes):
            report.fetched += 1
            batch.append(mail)
            if len(batch) >= STORE_BATCH:
                already += _store(mailbox, uidvalidity, batch, report, to_ingest)
                batch = []
        already += _store(mailbox, uidvalidity, batch, report, to_ingest)
        # The poller ingests too, then waits for the chunks that workers took from it: the move below
        # then finds everything finished.
        to_ingest |= inbound_ingest_pending(mailbox=mailbox, wait_for_others=True).keys()
        report.counts = _status_counts(to_ingest)
        report.ingested = sum(report.counts.get(s, 0) for s in DONE)
        report.quarantined = report.counts.get(InboundStatus.QUARANTINED, 0)
        # Mail whose content we already hold (seen under an old UIDVALIDITY, or appended twice) is done.
        session.move(already, mailbox.processed_folder)
        report.moved = len(already) + _move_finished(
            session=session, mailbox=mailbox, uidvalidity=uidvalidity, in_folder=in_folder
        )


def _store(
    mailbox: Mailbox, uidvalidity: int, batch: list[FetchedMail], report: PollReport, to_ingest: set[int]
) -> list[int]:
    if not batch:
        return []
    stored, already = inbound_store_batch(mailbox=mailbox, uidvalidity=uidvalidity, mails=batch)
    report.stored += len(stored)
    to_ingest.update(row.pk for row in stored if row.status == InboundStatus.STORED)
    # Idle workers start on this batch while the poller fetches the next one.
    transaction.on_commit(lambda: _hand_off(mailbox))
    return already


def _hand_off(mailbox: Mailbox) -> None:
    from mailbridge.tasks import ingest_pending  # the tasks module imports this one

    ingest_pending.delay(mailbox.pk)


def _status_counts(pks: set[int]) -> dict[str, int]:
    statuses = InboundMail.objects.filter(pk__in=pks).values_list("status", flat=True)
    return dict(Counter(status for status in statuses if status != InboundStatus.STORED))


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
