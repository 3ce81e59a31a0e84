"""What the parser returns: plain frozen dataclasses, no ORM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailbridge.automated import Automation, Bounce
from mailbridge.parsing.body import ParsedAttachment
from mailbridge.parsing.headers import Address

__all__ = ["Address", "Automation", "Bounce", "MailParseError", "ParsedAttachment", "ParsedMail"]


class MailParseError(ValueError):
    """The input is not a mail at all (empty, or no header)."""


@dataclass(frozen=True)
class ParsedMail:
    from_: Address
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    subject: str
    date: datetime | None
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    text: str
    html: str
    reply_text: str
    attachments: tuple[ParsedAttachment, ...]
    automated: Automation
    bounce: Bounce | None
    auto_submitted: str
    defects: tuple[str, ...]
