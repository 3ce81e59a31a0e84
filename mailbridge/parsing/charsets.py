"""Turn bytes and header text into clean Unicode whatever charset a mail claims; never raise."""

from __future__ import annotations

import codecs
import email.errors
import re

# What the stdlib email package raises on hostile input besides its own errors (its header and
# parameter parsers have had IndexError, AttributeError and recursion bugs); caught per part/header.
STDLIB_PARSE_ERRORS = (
    email.errors.MessageError,
    LookupError,
    ValueError,
    TypeError,
    AttributeError,
    AssertionError,
    RecursionError,
)

# Labels mail clients send that Python's codec registry lacks, and declared charsets that senders
# use for their superset (as browsers do, per the WHATWG Encoding Standard).
_LABELS = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-9": "cp1254",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-mac-roman": "mac-roman",
    "x-sjis": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "utf8": "utf-8",
}
# Single-byte codecs that decode almost any bytes, so a wrong declaration goes unnoticed: UTF-8 is
# tried first (valid multi-byte UTF-8 practically never occurs in text written in these charsets).
_SINGLE_BYTE_WESTERN = {"cp1252", "cp1254", "iso8859-15", "mac-roman"}
# Python text codecs that no mail charset means; decoding with them would rewrite the text.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "punycode", "idna"}
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def codec_for(charset: str | None) -> str | None:
    """Return the Python codec for a declared charset, or None when it is absent or unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = _LABELS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    return name if _is_text_codec(name) else None


def _is_text_codec(name: str) -> bool:
    if name in _NOT_CHARSETS:
        return False
    try:
        "a".encode(name)  # str.encode refuses bytes-to-bytes codecs (charset="base64", "zlib")
    except LookupError:
        return False
    return True


def decode_bytes(data: bytes, charset: str | None = None) -> tuple[str, str]:
    """Decode body or header bytes; return the text and a note on what was wrong ('' when nothing)."""
    codec = codec_for(charset)
    if codec and codec not in _SINGLE_BYTE_WESTERN:
        try:
            return data.decode(codec), ""
        except UnicodeError:
            pass
    try:
        text, used = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        used = codec if codec and codec not in {"utf-8", "ascii"} else "cp1252"
        text = data.decode(used, "replace")
    if (
        data.isascii()
        or (used == codec and used in _SINGLE_BYTE_WESTERN)
        or (used == "utf-8" and not charset)
    ):
        return text, ""
    if charset and codec is None:
        return text, f"unknown charset {charset!r}, decoded as {used}"
    if charset:
        return text, f"text does not match declared charset {charset!r}, decoded as {used}"
    return text, f"8-bit text without a charset, decoded as {used}"


def repair_surrogates(text: str) -> str:
    """Decode raw 8-bit bytes that the parser kept as surrogate escapes (UTF-8, else cp1252)."""
    if not _SURROGATE.search(text):
        return text
    text = _ESCAPED_BYTES.sub(
        lambda match: decode_bytes(match.group().encode("utf-8", "surrogateescape"))[0], text
    )
    return _SURROGATE.sub("\ufffd", text)


def single_line(text: str) -> str:
    """Return header text as one clean line: no control characters, so no injected headers."""
    return " ".join(_CONTROL.sub(" ", repair_surrogates(text)).split())


def normalise_newlines(text: str) -> str:
    """Return text with Unix line ends and no stray NUL characters."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
