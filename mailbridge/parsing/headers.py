"""Read header values safely: RFC 2047 words, 8-bit bytes, addresses, Message-IDs and dates."""

from __future__ import annotations

import binascii
import email.policy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.policy import EmailPolicy
from email.utils import parsedate_to_datetime
from typing import Any

from mailbridge.parsing.charsets import STDLIB_PARSE_ERRORS, decode_bytes, repair_surrogates, single_line

# The text between the delimiters may hold spaces: some mailers fail to encode them.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_ANGLE_ADDRESS = re.compile(r"<\s*([^<>@\s]+@[^<>\s]+?)\s*>")
_ANGLE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
# One mailbox in its plain forms: a bare address, or a name (atoms, or one quoted string) and <address>.
_PLAIN_NAME = r"""(?:"[^"\\\r\n]*"|[A-Za-z0-9!#$%&'*+/=?^_`{|}~ \t-]*?)"""
_SIMPLE_MAILBOX = re.compile(
    rf"[ \t]*(?:(?P<bare>{_DOT_ATOM}@{_DOT_ATOM})"
    rf"|(?P<name>{_PLAIN_NAME})[ \t]*<(?P<angled>{_DOT_ATOM}@{_DOT_ATOM})>)[ \t]*"
)


@dataclass(frozen=True)
class Address:
    name: str
    address: str


def raw_header(msg: Message, name: str) -> str | None:
    """Return the first raw value of a header, unfolded, with 8-bit bytes decoded; None if absent."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return repair_surrogates(_FOLD.sub("", str(value)))
    return None


def header_text(msg: Message, name: str) -> str:
    """Return a header as one decoded line ('' when absent)."""
    value = raw_header(msg, name)
    return single_line(decode_words(value)) if value else ""


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words with any declared charset, right or wrong."""
    return "".join(_decode_chunk(chunk, charset) for chunk, charset in _merged_words(value))


def _merged_words(value: str) -> Iterator[tuple[bytes | str, str | None]]:
    # Adjacent words in one charset are joined before decoding: senders split multi-byte
    # characters across words.
    pending: tuple[bytes, str] | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if gap and (gap.strip() or pending is None):
            if pending:
                yield pending
                pending = None
            yield gap, None
        charset = match.group(1).split("*")[0]
        data = _word_bytes(match.group(2), match.group(3))
        if pending and pending[1].lower() == charset.lower():
            pending = (pending[0] + data, pending[1])
        else:
            if pending:
                yield pending
            pending = (data, charset)
        position = match.end()
    if pending:
        yield pending
    if position < len(value):
        yield value[position:], None


def _word_bytes(encoding: str, text: str) -> bytes:
    data = text.encode("ascii", "replace")
    if encoding in "qQ":
        return binascii.a2b_qp(data, header=True)
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return data


def _decode_chunk(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    return decode_bytes(chunk, charset)[0]


def parse_addresses(msg: Message, name: str) -> tuple[tuple[Address, ...], list[str]]:
    """Return the addresses of an address header and notes on what was wrong with it."""
    value = raw_header(msg, name)
    if not value or not value.strip():
        return (), []
    simple = _simple_addresses(value)
    if simple is not None:
        parsed, invalid = simple, False
    else:
        try:
            header = _header_factory(msg)(name, value)
            parsed = [_address(item.display_name, item.addr_spec) for item in header.addresses]
            invalid = bool(header.defects)
        except STDLIB_PARSE_ERRORS:
            parsed, invalid = [], True
    parsed = [item for item in parsed if item.address and item.address != "<>"]
    notes = [_spoof_note(name, item) for item in parsed if _looks_spoofed(item)]
    angled = [match.group(1) for match in _ANGLE_ADDRESS.finditer(value)]
    found = {item.address.lower() for item in parsed}
    if invalid and any(address.lower() not in found for address in angled):
        # CVE-2023-27043: "alice@example.org <bob@evil.example>" parses as alice; the mailbox that
        # receives replies is the one in angle brackets.
        notes.append(
            f"{name}: ambiguous address list {single_line(value)!r}; used the angle-bracket addresses"
        )
        parsed = list(_angle_addresses(value))
    return tuple(parsed), notes


def _simple_addresses(value: str) -> list[Address] | None:
    """Read the plain address lists most mail has, as the stdlib would; None for anything else.

    The stdlib's address parser is exact but slow (a third of the time to parse a mail). Plain forms
    ("a@b", "Name <a@b>", "\"Last, First\" <a@b>", lists of them) need none of it; every other form
    (comments, encoded words, groups, quoted local parts, 8-bit bytes) still goes to the stdlib.
    """
    if not value.isascii() or "=?" in value or "(" in value:
        return None
    found = []
    for part in value.split(",") if '"' not in value else [value]:
        match = _SIMPLE_MAILBOX.fullmatch(part)
        if match is None:
            return None
        bare, name, angled = match.group("bare", "name", "angled")
        found.append(
            _address("", bare) if bare else _address(name.strip('"').strip() if name else "", angled)
        )
    return found


def _header_factory(msg: Message) -> Callable[[str, str], Any]:
    policy = msg.policy
    return policy.header_factory if isinstance(policy, EmailPolicy) else email.policy.default.header_factory


def _address(display_name: str, addr_spec: str) -> Address:
    return Address(name=single_line(decode_words(display_name)), address=single_line(addr_spec))


def _angle_addresses(value: str) -> Iterator[Address]:
    position = 0
    for match in _ANGLE_ADDRESS.finditer(value):
        name = value[position : match.start()].strip(" \t,;\"'")
        yield _address(name, match.group(1))
        position = match.end()


def _looks_spoofed(item: Address) -> bool:
    return "@" in item.name and item.address.lower() not in item.name.lower()


def _spoof_note(name: str, item: Address) -> str:
    return f"{name}: display name {item.name!r} looks like an address other than {item.address!r}"


def message_id(msg: Message, name: str = "Message-ID") -> str:
    """Return the first Message-ID of a header in angle brackets ('' when absent)."""
    ids = message_ids(msg, name)
    return ids[0] if ids else ""


def message_ids(msg: Message, name: str) -> tuple[str, ...]:
    """Return every Message-ID of a header (References, In-Reply-To), each in angle brackets."""
    value = single_line(raw_header(msg, name) or "")
    found = _ANGLE_ID.findall(value)
    if not found:
        # Bare ids without brackets: take the tokens that look like ids, or the whole value.
        found = [token.strip("<>,;") for token in value.split() if "@" in token] or value.split()[:1]
    return tuple(f"<{item}>" for item in found if item)


def parse_date(msg: Message) -> datetime | None:
    """Return the Date header as an aware datetime (UTC when it names no zone), None if unreadable."""
    value = header_text(msg, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
