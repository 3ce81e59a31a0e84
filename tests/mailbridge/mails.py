"""Build test mails as real RFC 5322 bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def make_mail(
    *,
    subject: str = "E-Mail geht nicht",
    sender: str = "Monika Huber <monika@baeckerei.example>",
    to: str = "support@example.test",
    body: str = "Seit gestern kommen keine Mails an.",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 3, 10, 14, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="baeckerei.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()
