"""Recognise mail that no person wrote: auto-replies, bounces (RFC 3464 and the rest), bulk mail.

Pure functions over a parsed `email.message.Message`; the outgoing side uses the answer to never
auto-answer a machine (RFC 3834 section 2).
"""

from __future__ import annotations

import email.errors
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32


@dataclass(frozen=True)
class Automation:
    is_auto_reply: bool
    is_bounce: bool
    is_bulk: bool
    reason: str

    @property
    def is_automated(self) -> bool:
        return self.is_auto_reply or self.is_bounce or self.is_bulk


@dataclass(frozen=True)
class Bounce:
    """A delivery report: action "failed" for a bounce proper; RFC 3464 "delayed"/"delivered" too."""

    status: str
    recipient: str
    original_message_id: str
    action: str


# Local parts compared without "-", "_" and ".": MAILER-DAEMON, mailer_daemon, post_master ...
_DAEMONS = {"mailerdaemon", "maildaemon", "postmaster", "mailersubsystem"}
_NO_REPLY = {"noreply", "donotreply", "noresponse", "bounce", "bounces"}
_LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Help", "Mailing-List")
_SUPPRESS_NOTHING = {"", "none"}
_BULK_PRECEDENCE = {"bulk", "junk", "list"}
# Anchored at the start, so that "Fwd: Undelivered Mail ..." from a customer stays a customer mail,
# and ending at a colon, bracket, dash or the end, so that "Unzustellbare Mails seit gestern" does too.
_BOUNCE_SUBJECT = re.compile(
    r"^\W*(?:(?:undeliver(?:ed|able)(?: mail| message| mail message)?|delivery status notification"
    r"|failure notice|returned mail|mail delivery (?:failed|failure|problem)|delivery (?:has )?failed"
    r"|delivery failure|message delivery failure|non[- ]?delivery(?: report| notification)?"
    r"|nondeliverable(?: mail)?|unzustellbar|nicht zustellbar|non remis|non distribuibile|mancata consegna"
    r"|rapport de non-remise|mail system error|message not delivered|unable to deliver(?: message)?"
    r"|notificaci[oó]n de estado de entrega|benachrichtigung zum (?:übermittlungsstatus|zustellstatus))"
    r"\s*(?:[:(\-–]|$)"
    r"|undelivered mail returned to sender|warning: could not send message"
    r"|delivery notification: delivery has failed)",
    re.IGNORECASE,
)
# Out-of-office subjects: the phrase must start the subject and end there or at a colon, so that
# "Abwesenheitsnotiz funktioniert nicht" from a customer is not taken for one.
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\W*(?:out of (?:the )?office(?: auto ?reply)?|ooo|abwesenheitsnotiz|abwesenheit"
    r"|automatische antwort|automatische abwesenheitsnotiz|automatic reply|auto[- ]?reply|autoreply"
    r"|auto[- ]?response|automatisch antwoord|r[ée]ponse automatique|absen(?:ce|t|te)(?: du bureau)?"
    r"|risposta automatica|fuori sede|fuori ufficio|risposta di assenza|respuesta autom[aá]tica"
    r"|autosvar)\s*(?:[:\-–]|$)",
    re.IGNORECASE,
)
_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
# "550 5.1.1 <x@y>... User unknown", "550-5.7.1 ...", "554\n    5.6.0 ...": a status after a reply code.
_REPLY_STATUS = re.compile(r"(?<![\d.])[245]\d\d[\s'-]+#?([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
_RECIPIENT_FIELDS = {"final-recipient", "original-recipient", "status", "action", "diagnostic-code"}
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_QMAIL_RECIPIENT = re.compile(r"^<([^<>\s]+@[^<>\s]+)>:", re.MULTILINE)
_MESSAGE_ID_LINE = re.compile(r"^[ \t>]*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
# The stdlib's parameter parser has raised these on hostile Content-Type headers.
_STDLIB_PARSE_ERRORS = (email.errors.MessageError, LookupError, ValueError, TypeError, AttributeError)
_REPORT_TYPES = {"message/delivery-status", "message/global-delivery-status"}
# Read receipts (RFC 8098) and abuse reports (RFC 5965): machine-made, never to be answered.
_NOTICE_TYPES = {
    "message/disposition-notification",
    "message/global-disposition-notification",
    "message/feedback-report",
}
_ENCLOSED_TYPES = {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers"}


def detect_automation(msg: Message, *, sender: str, subject: str, bounce: Bounce | None) -> Automation:
    """Tell whether a person wrote the mail, and why not when they did not."""
    auto_reply = list(_auto_reply_reasons(msg, subject, sender))
    bulk = list(_bulk_reasons(msg))
    reasons = ([_bounce_reason(msg, bounce)] if bounce else []) + auto_reply + bulk
    return Automation(
        is_auto_reply=bool(auto_reply),
        is_bounce=bounce is not None,
        is_bulk=bool(bulk),
        reason="; ".join(reasons),
    )


def _auto_reply_reasons(msg: Message, subject: str, sender: str) -> Iterator[str]:
    submitted = auto_submitted(msg)
    # The keyword may be followed by parameters or an RFC 5322 comment: "no (a person)".
    if submitted and re.split(r"[\s;(]", submitted, maxsplit=1)[0].lower() != "no":
        yield f"Auto-Submitted: {submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _raw(msg, name) is not None:
            yield f"{name} header"
    suppress = _raw(msg, "X-Auto-Response-Suppress")
    if suppress is not None and suppress.strip().lower() not in _SUPPRESS_NOTHING:
        yield f"X-Auto-Response-Suppress: {suppress.strip()}"
    if (_raw(msg, "Precedence") or "").strip().lower() == "auto_reply":
        yield "Precedence: auto_reply"
    if _null_return_path(msg):
        yield "Return-Path: <>"
    if _AUTO_REPLY_SUBJECT.search(subject):
        yield f"out-of-office subject {subject!r}"
    if _local_part(sender) in _NO_REPLY:
        yield f"no-reply sender {sender}"
    notice = _find_part(msg, _NOTICE_TYPES)
    if notice is not None:
        yield f"{_content_type(notice)} report"


def _bulk_reasons(msg: Message) -> Iterator[str]:
    precedence = (_raw(msg, "Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        yield f"Precedence: {precedence}"
    for name in _LIST_HEADERS:
        if _raw(msg, name) is not None:
            yield f"{name} header"


def _bounce_reason(msg: Message, bounce: Bounce) -> str:
    kind = "delivery-status report" if _find_part(msg, _REPORT_TYPES) else "bounce"
    details = ", ".join(item for item in (bounce.action, bounce.status, bounce.recipient) if item)
    return f"{kind} ({details})" if details else kind


def auto_submitted(msg: Message) -> str:
    """Return the raw Auto-Submitted value ('' when absent)."""
    return _raw(msg, "Auto-Submitted") or ""


def detect_bounce(msg: Message, *, sender: str, subject: str, text: str) -> Bounce | None:
    """Return the delivery report of a bounce (RFC 3464, or read from the text of other bounces)."""
    reports = list(_find_parts(msg, _REPORT_TYPES))
    if reports:
        return _dsn_bounce(msg, reports, text)
    if not _looks_like_bounce(msg, sender, subject):
        return None
    failed = (_raw(msg, "X-Failed-Recipients") or "").split(",")[0].strip()
    return Bounce(
        status=_status_from_text(text),
        recipient=failed or _recipient_from_text(text, sender),
        original_message_id=_original_message_id(msg, text),
        action="failed",
    )


def _looks_like_bounce(msg: Message, sender: str, subject: str) -> bool:
    if _raw(msg, "X-Failed-Recipients") is not None or _local_part(sender) in _DAEMONS:
        return True
    # A null sender returning our message enclosed: nobody but a mail server does that.
    if _null_return_path(msg) and _find_part(msg, _ENCLOSED_TYPES) is not None:
        return True
    return bool(_BOUNCE_SUBJECT.search(subject))


def _null_return_path(msg: Message) -> bool:
    return (_raw(msg, "Return-Path") or "").replace(" ", "") == "<>"


def _dsn_bounce(msg: Message, reports: list[Message], text: str) -> Bounce:
    blocks = [
        block for report in reports for block in _status_blocks(report) if _RECIPIENT_FIELDS & block.keys()
    ]
    chosen = next((block for block in blocks if block.get("action", "").lower() == "failed"), None)
    chosen = chosen or (blocks[0] if blocks else {})
    recipient = chosen.get("final-recipient") or chosen.get("original-recipient") or ""
    return Bounce(
        status=_dsn_status(chosen, text),
        recipient=recipient.split(";", 1)[-1].strip().strip("<>") or _recipient_from_text(text, ""),
        original_message_id=_original_message_id(msg, text),
        action=chosen.get("action", "").strip().lower(),
    )


def _dsn_status(block: dict[str, str], text: str) -> str:
    # The remote server's own words (Diagnostic-Code) are more precise than the Status that the
    # reporting MTA often fills with a generic 5.0.0.
    field = _STATUS.search(block.get("status", ""))
    status = _status_from_text(block.get("diagnostic-code", "")) or (field.group(1) if field else "")
    if status.endswith(".0.0"):
        # Still generic: the human-readable part often quotes the remote server's precise answer.
        told = _status_from_text(text)
        return told if told[:1] == status[:1] else status
    return status


def _status_blocks(report: Message) -> list[dict[str, str]]:
    payload = report.get_payload()
    if isinstance(payload, list):
        blocks = [_fields(block) for block in payload if isinstance(block, Message)]
        if any(blocks):
            return blocks
    # Encoded or unparsed report: decode the body and split it into header blocks ourselves.
    raw = report.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raw = str(payload).encode("utf-8", "surrogateescape")
    chunks = re.split(rb"\r?\n[ \t]*\r?\n", raw)
    return [_fields(BytesHeaderParser(policy=compat32).parsebytes(chunk.strip() + b"\n")) for chunk in chunks]


def _fields(block: Message) -> dict[str, str]:
    return {key.lower(): _clean(value) for key, value in block.raw_items()}


def _status_from_text(text: str) -> str:
    for statuses in (_REPLY_STATUS.findall(text), _STATUS.findall(text)):
        failures = [status for status in statuses if status[0] in "54"]
        if failures or statuses:
            return (failures or statuses)[0]
    return ""


def _recipient_from_text(text: str, sender: str) -> str:
    qmail = _QMAIL_RECIPIENT.search(text)
    if qmail:
        return qmail.group(1)
    for address in _ADDRESS.findall(text):
        if _local_part(address) not in _DAEMONS and address.lower() != sender.lower():
            return address
    return ""


def _original_message_id(msg: Message, text: str) -> str:
    enclosed = _find_part(msg, _ENCLOSED_TYPES)
    if enclosed is not None:
        headers = _enclosed_headers(enclosed)
        found = re.search(r"<[^<>\s]+>", headers.get("message-id", ""))
        if found:
            return found.group()
    match = _MESSAGE_ID_LINE.search(text)
    return match.group(1) if match else ""


def _enclosed_headers(part: Message) -> dict[str, str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return _fields(payload[0])
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return {}
    return _fields(BytesHeaderParser(policy=compat32).parsebytes(raw))


def _find_part(msg: Message, content_types: set[str]) -> Message | None:
    return next(_find_parts(msg, content_types), None)


def _find_parts(msg: Message, content_types: set[str]) -> Iterator[Message]:
    # Never look inside attached messages: a customer forwarding a bounce as an attachment wrote
    # the mail themselves.
    content_type = _content_type(msg)
    if content_type in content_types:
        yield msg
        return
    payload = msg.get_payload()
    if content_type.startswith("multipart/") and isinstance(payload, list):
        for part in payload:
            if isinstance(part, Message):
                yield from _find_parts(part, content_types)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except _STDLIB_PARSE_ERRORS:
        return "application/octet-stream"


def _raw(msg: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return _clean(value)
    return None


def _clean(value: object) -> str:
    # Raw 8-bit bytes come as surrogates; machine fields need no more than a replacement mark.
    return " ".join(str(value).encode("utf-8", "replace").decode("utf-8").split())


def _local_part(address: str) -> str:
    local = address.rsplit("@", 1)[0].strip().lower()
    return local.replace("-", "").replace("_", "").replace(".", "")
