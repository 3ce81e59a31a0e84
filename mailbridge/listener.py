"""The IMAP IDLE loop of `mailbridge listen`: poll, wait for new mail, poll again; reconnect with backoff."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection
from imapclient.exceptions import LoginError

from mailbridge import services
from mailbridge.imap import IDLE_REISSUE_SECONDS, TRANSIENT_ERRORS, ImapSession
from mailbridge.models import Mailbox

logger = logging.getLogger(__name__)
MAX_BACKOFF = 300.0


def mailbox_listen(
    *, mailbox: Mailbox, stop: threading.Event, idle_seconds: float = IDLE_REISSUE_SECONDS
) -> None:
    """Keep the mailbox ingested until stop is set: IDLE between polls, re-issued before 29 minutes."""
    backoff = 1.0
    try:
        while not stop.is_set():
            try:
                _listen_once(mailbox, stop, idle_seconds)
                backoff = 1.0
            except LoginError:
                logger.error("mailbox %s: login refused; listener stops", mailbox.name)
                return
            except TRANSIENT_ERRORS as exc:
                logger.warning(
                    "mailbox %s: connection lost (%s); retry in %.0f s", mailbox.name, exc, backoff
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception:
                # A daemon must outlive a bad moment (a database restart, a bug on one mail's path).
                logger.exception("mailbox %s: poll failed; retry in %.0f s", mailbox.name, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                close_old_connections()
    finally:
        connection.close()


def _listen_once(mailbox: Mailbox, stop: threading.Event, idle_seconds: float) -> None:
    services.mailbox_poll(mailbox=mailbox)
    with ImapSession(services.mailbox_account(mailbox)) as session:
        session.select(mailbox.folder)
        while not stop.is_set():
            # Poll after a notification and also when IDLE merely ran its time: that catches anything
            # a missed notification left behind.
            session.wait_for_mail(timeout=idle_seconds)
            services.mailbox_poll(mailbox=mailbox)
