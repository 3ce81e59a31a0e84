"""The JSON shape of `manage.py mailbridge parse` (see the contracts in DESIGN.md)."""

from __future__ import annotations

from pathlib import Path

from mailbridge.parsing.headers import Address
from mailbridge.parsing.mail import parse_mail
from mailbridge.parsing.model import MailParseError, ParsedMail


def parsed_to_contract(parsed: ParsedMail) -> dict[str, object]:
    """Return the contract's JSON object for one parsed mail."""
    contract: dict[str, object] = {
        "from": _address(parsed.from_),
        "to": [_address(item) for item in parsed.to],
        "cc": [_address(item) for item in parsed.cc],
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": list(parsed.references),
        "text": parsed.text,
        "reply_text": parsed.reply_text,
        "attachments": [
            {"filename": item.filename, "content_type": item.content_type, "size": len(item.content)}
            for item in parsed.attachments
        ],
        "automated": {
            "is_auto_reply": parsed.automated.is_auto_reply,
            "is_bounce": parsed.automated.is_bounce,
            "reason": parsed.automated.reason,
        },
    }
    if parsed.bounce is not None:
        contract["bounce"] = {"status": parsed.bounce.status, "recipient": parsed.bounce.recipient}
    return contract


def parse_file_to_contract(path: Path) -> dict[str, object]:
    """Parse one mail file into the contract's object, or {"file", "error"} when it cannot be."""
    try:
        return {"file": str(path), **parsed_to_contract(parse_mail(path.read_bytes()))}
    except (OSError, MailParseError) as exc:
        return {"file": str(path), "error": str(exc)}


def _address(address: Address) -> dict[str, str]:
    return {"name": address.name, "address": address.address}
