"""Parse raw mail bytes into a ParsedMail: pure, no I/O, never crashes on bad charsets."""

from __future__ import annotations

import email
import re
from email.message import Message

from mailbridge.automated import auto_submitted, detect_automation, detect_bounce
from mailbridge.parsing.body import extract_body
from mailbridge.parsing.headers import (
    Address,
    header_text,
    message_id,
    message_ids,
    parse_addresses,
    parse_date,
)
from mailbridge.parsing.htmltext import html_to_text
from mailbridge.parsing.model import MailParseError, ParsedMail
from mailbridge.parsing.policy import mail_policy
from mailbridge.replies import extract_reply

_NOBODY = Address(name="", address="")
_OBSOLETE_NAME = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse one mail; raise MailParseError only for input that is not a mail at all."""
    if not raw.strip():
        raise MailParseError("empty input")
    msg = email.message_from_bytes(_repair_obsolete_names(raw), policy=mail_policy())
    if not msg.keys():
        raise MailParseError("no mail header found")
    notes: list[str] = []
    senders, to, cc, reply_to = (_addresses(msg, name, notes) for name in ("From", "To", "Cc", "Reply-To"))
    if len(senders) > 1:
        notes.append(f"From: {len(senders)} addresses, used the first")
    sender = senders[0] if senders else _NOBODY
    notes.extend(_missing_headers(msg, sender))
    body = extract_body(msg)
    text = _text(body.text_parts, body.html_parts)
    subject = header_text(msg, "Subject")
    bounce = detect_bounce(msg, sender=sender.address, subject=subject, text=text)
    return ParsedMail(
        from_=sender,
        to=to,
        cc=cc,
        reply_to=reply_to,
        subject=subject,
        date=parse_date(msg),
        message_id=message_id(msg),
        in_reply_to=message_id(msg, "In-Reply-To"),
        references=message_ids(msg, "References"),
        text=text,
        html="\n".join(body.html_parts),
        reply_text=extract_reply(text),
        attachments=tuple(body.attachments),
        automated=detect_automation(msg, sender=sender.address, subject=subject, bounce=bounce),
        bounce=bounce,
        auto_submitted=auto_submitted(msg),
        defects=tuple(dict.fromkeys(notes + body.defects)),
    )


def _missing_headers(msg: Message, sender: Address) -> list[str]:
    notes = [] if sender.address else ["no From address"]
    if not message_id(msg):
        notes.append("no Message-ID")
    date = header_text(msg, "Date")
    if date and parse_date(msg) is None:
        notes.append(f"unreadable Date {date[:60]!r}")
    return notes


def _addresses(msg: Message, name: str, notes: list[str]) -> tuple[Address, ...]:
    addresses, found = parse_addresses(msg, name)
    notes.extend(found)
    return addresses


def _repair_obsolete_names(raw: bytes) -> bytes:
    # RFC 5322 4.5 allows blanks before the colon ("Subject   : Hi"); the stdlib does not read them.
    end = re.search(rb"\r?\n\r?\n", raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    return _OBSOLETE_NAME.sub(rb"\1:", head) + rest


def _text(text_parts: list[str], html_parts: list[str]) -> str:
    text = "".join(part if part.endswith("\n") else part + "\n" for part in text_parts).strip("\n")
    if text.strip() or not html_parts:
        return text
    return "\n\n".join(html_to_text(part) for part in html_parts)
