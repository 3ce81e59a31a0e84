"""Parse raw mail into plain dataclasses: headers, bodies, attachments, reply text, automation."""

from mailbridge.parsing.contract import parse_file_to_contract, parsed_to_contract
from mailbridge.parsing.mail import parse_mail
from mailbridge.parsing.model import (
    Address,
    Automation,
    Bounce,
    MailParseError,
    ParsedAttachment,
    ParsedMail,
)

__all__ = [
    "Address",
    "Automation",
    "Bounce",
    "MailParseError",
    "ParsedAttachment",
    "ParsedMail",
    "parse_file_to_contract",
    "parse_mail",
    "parsed_to_contract",
]
