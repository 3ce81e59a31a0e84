"""Walk the MIME tree: text and HTML bodies, attachments, and what was broken on the way."""

from __future__ import annotations

import binascii
import email
import io
import mimetypes
import re
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32

from mailbridge.parsing.charsets import STDLIB_PARSE_ERRORS, decode_bytes, normalise_newlines, single_line
from mailbridge.parsing.headers import decode_words, header_text, raw_header

# Deeper nesting than this is an attack or a loop of forwards; what lies deeper is kept as one attachment.
_MAX_DEPTH = 30
_BODY_TYPES = {"text/plain", "text/html"}
# Lenient reads of raw parameters the stdlib parser gives up on (unquoted values with spaces, "=" or "?").
_RAW_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_RAW_NAME = re.compile(r'(?:^|;)\s*(?:file)?name\s*=\s*(?:"([^"]*)"|([^;]*))', re.IGNORECASE)


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool
    content_id: str


@dataclass
class Body:
    text_parts: list[str] = field(default_factory=list)
    html_parts: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def extract_body(msg: Message) -> Body:
    """Collect the body texts and attachments of a message, recovering from broken parts."""
    body = Body()
    _visit(msg, body, depth=0)
    return body


def _visit(part: Message, body: Body, *, depth: int) -> None:
    try:
        _visit_part(part, body, depth=depth)
    except STDLIB_PARSE_ERRORS as exc:  # keep the other parts
        label = single_line(raw_header(part, "Content-Type") or "text/plain")[:80]
        body.defects.append(f"unreadable part ({label}) skipped: {type(exc).__name__}: {exc}")
    # Read last: decoding the payload adds the defects it finds (bad base64 and the like).
    body.defects.extend(type(defect).__name__ for defect in part.defects)


def _visit_part(part: Message, body: Body, *, depth: int) -> None:
    content_type = part.get_content_type()
    payload = part.get_payload()
    is_multipart = content_type.startswith("multipart/")
    if is_multipart and isinstance(payload, str):
        payload = _reparsed_multipart(part, content_type, payload, body)
    if is_multipart and isinstance(payload, list) and depth < _MAX_DEPTH:
        for child in payload:
            if isinstance(child, Message):
                _visit(child, body, depth=depth + 1)
    elif (is_multipart and isinstance(payload, str)) or _is_body(part, content_type):
        # A multipart without a usable boundary: its raw payload is all there is of the text.
        _add_body_text(part, "text/plain" if is_multipart else content_type, body)
    else:
        body.attachments.append(_attachment(part, content_type, index=len(body.attachments) + 1))


def _reparsed_multipart(part: Message, content_type: str, payload: str, body: Body) -> list[Message] | str:
    # The stdlib stops an unquoted boundary at "=" ("boundary=----=_NextPart_..."), as Outlook
    # Express wrote them; read the boundary leniently and parse the parts again.
    match = _RAW_BOUNDARY.search(raw_header(part, "Content-Type") or "")
    boundary = (match.group(1) or match.group(2)) if match else ""
    if not boundary or f"--{boundary}" not in payload:
        return payload
    header = f'Content-Type: {content_type}; boundary="{boundary}"\n\n'.encode()
    rebuilt = email.message_from_bytes(
        header + payload.encode("utf-8", "surrogateescape"), policy=part.policy
    )
    body.defects.append(f"{content_type}: unquoted boundary {boundary!r} read leniently")
    parts = rebuilt.get_payload()
    return [item for item in parts if isinstance(item, Message)] if isinstance(parts, list) else payload


def _is_body(part: Message, content_type: str) -> bool:
    return (
        content_type in _BODY_TYPES and part.get_content_disposition() != "attachment" and not _filename(part)
    )


def _add_body_text(part: Message, content_type: str, body: Body) -> None:
    text, note = decode_bytes(_payload_bytes(part), part.get_content_charset())
    if note:
        body.defects.append(f"{content_type} part: {note}")
    target = body.html_parts if content_type == "text/html" else body.text_parts
    target.append(normalise_newlines(text))


def _payload_bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _attachment(part: Message, content_type: str, *, index: int) -> ParsedAttachment:
    is_message = content_type.startswith("message/") or isinstance(part.get_payload(), list)
    content = _enclosed_bytes(part) if is_message else _payload_bytes(part)
    content_id = single_line(raw_header(part, "Content-ID") or "").strip("<> ")
    disposition = part.get_content_disposition()
    return ParsedAttachment(
        filename=_filename(part) or _fallback_name(part, content_type, index),
        content_type=content_type,
        content=content,
        inline=disposition == "inline" or (disposition is None and bool(content_id)),
        content_id=content_id,
    )


def _enclosed_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _payload_bytes(part)
    chunks = []
    for enclosed in (item for item in payload if isinstance(item, Message)):
        buffer = io.BytesIO()
        # compat32 writes the headers as they arrived instead of refolding them.
        BytesGenerator(buffer, mangle_from_=False, policy=compat32).flatten(enclosed)
        chunks.append(buffer.getvalue())
    content = b"\n".join(chunks)
    if (raw_header(part, "Content-Transfer-Encoding") or "").strip().lower() == "base64":
        # Not allowed for message/rfc822 (RFC 2046 5.2.1), but sent: the parser read base64 as a message.
        return binascii.a2b_base64(content)
    return content


def _filename(part: Message) -> str:
    name = str(part.get_filename() or "")
    for header in ("Content-Disposition", "Content-Type"):
        match = _RAW_NAME.search(raw_header(part, header) or "")
        raw = (match.group(1) or match.group(2) or "").strip() if match else ""
        if raw.startswith(name) and len(raw) > len(name):
            name = raw
            break
    name = single_line(decode_words(name))
    # Keep only the last path component, without leading dots: names like "..\\..\\boot.ini" reach us too.
    return name.replace("\\", "/").rsplit("/", 1)[-1].lstrip(". ").strip()


def _fallback_name(part: Message, content_type: str, index: int) -> str:
    if content_type == "message/rfc822":
        enclosed = part.get_payload()
        first = enclosed[0] if isinstance(enclosed, list) and enclosed else None
        subject = header_text(first, "Subject") if isinstance(first, Message) else ""
        return f"{subject.replace('/', '_')[:80] or 'message'}.eml"
    if content_type.startswith("message/") or content_type == "text/rfc822-headers":
        # Parts of delivery and read reports: message/delivery-status -> delivery-status.txt
        return f"{content_type.split('/', 1)[1]}.txt"
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{index}{extension}"
