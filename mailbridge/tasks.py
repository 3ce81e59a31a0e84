"""Celery tasks of the bridge: poll due mailboxes (beat), poll one mailbox, reingest one mail."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task, shared_task
from django.utils import timezone
from imapclient.exceptions import LoginError

from mailbridge import outgoing, services
from mailbridge.imap import TRANSIENT_ERRORS
from mailbridge.models import InboundMail, Mailbox, OutboxStatus
from mailbridge.outgoing import TransientSendError

logger = logging.getLogger(__name__)


@shared_task(name="mailbridge.poll_due")
def poll_due() -> list[int]:
    """Queue a poll for every enabled mailbox whose interval has passed (run by beat every few seconds)."""
    now = timezone.now()
    # A handful of mailboxes: comparing each one's own interval here is simpler than in SQL.
    ids = [
        pk
        for pk, last, interval in Mailbox.objects.filter(enabled=True).values_list(
            "pk", "last_poll_at", "poll_interval"
        )
        if last is None or last <= now - timedelta(seconds=interval)
    ]
    for mailbox_id in ids:
        poll_mailbox.delay(mailbox_id)
    return ids


@shared_task(
    name="mailbridge.poll_mailbox",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def poll_mailbox(mailbox_id: int) -> dict[str, object]:
    """Run one poll cycle of the mailbox; a wrong login is recorded on the mailbox and not retried."""
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    try:
        report = services.mailbox_poll(mailbox=mailbox)
    except LoginError:
        logger.error("mailbox %s: IMAP login refused; fix the credentials", mailbox.name)
        return {"mailbox": mailbox.name, "error": "login refused"}
    return {"mailbox": report.mailbox, "claimed": report.claimed, "fetched": report.fetched, **report.counts}


@shared_task(name="mailbridge.ingest_pending")
def ingest_pending(mailbox_id: int) -> int:
    """Help ingest the mailbox's stored mail beside its poller; return how many mails this worker finished."""
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    return len(services.inbound_ingest_pending(mailbox=mailbox))


@shared_task(name="mailbridge.reprocess")
def reprocess(inbound_id: int) -> str:
    """Try a quarantined mail again."""
    inbound = InboundMail.objects.get(pk=inbound_id)
    return services.inbound_reprocess(inbound=inbound).status


@shared_task(
    name="mailbridge.send_outbox",
    bind=True,
    autoretry_for=(TransientSendError,),
    retry_backoff=int(outgoing.SEND_RETRY_BACKOFF.total_seconds()),
    retry_backoff_max=int(outgoing.SEND_RETRY_BACKOFF_MAX.total_seconds()),
    max_retries=outgoing.SEND_MAX_RETRIES,
)
def send_outbox(self: Task, outbox_id: int) -> str:
    """Send one outbox mail; transient SMTP trouble retries with backoff, then the mail is marked failed."""
    try:
        status = outgoing.outbox_send(outbox_id=outbox_id).status
    except TransientSendError as exc:
        if self.request.is_eager:
            # Without a broker a retry would run at once, in this process, and fail the same way: the
            # mail stays queued with its error and goes out with the next mail sent or send_stuck.
            return OutboxStatus.QUEUED
        if self.request.retries >= (self.max_retries or 0):
            outgoing.outbox_give_up(outbox_id=outbox_id, error=str(exc))
            return OutboxStatus.FAILED
        raise
    if self.request.is_eager and status == OutboxStatus.SENT:
        # The server takes mail again: send what an earlier outage left waiting (a bounded share, as this
        # may run inside a request).
        outgoing.outbox_send_due(limit=50)
    return status


@shared_task(name="mailbridge.send_stuck", bind=True)
def send_stuck(self: Task) -> int:
    """Queue again every mail still waiting (queued while the broker was down, a lost retry); run by beat."""
    requeued = outgoing.outbox_requeue_waiting()
    if self.request.is_eager:
        # No broker, so no retry is scheduled anywhere: send the mails whose retry is due now.
        requeued += outgoing.outbox_send_due()
    return requeued
