"""Split a raw mail body into the customer's new text, the quoted history and the signature.

Only the new text describes the customer's request; quoted history (lines starting with '>', an
attribution such as 'Am ... schrieb ...:' or an Outlook header block) repeats earlier messages and
must not count. The signature holds names and numbers that matter only in some cases (callbacks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An attribution line introduces quoted history. Mail clients wrap long ones over two lines, so
# these are matched on a line joined with its successor as well.
_ATTRIBUTION = re.compile(
    r"""^\s*(?:
        am\s.{3,160}?\sschrieb\b.{0,160}:
      | on\s.{3,160}?\swrote\s?:
      | le\s.{3,160}?\sa\sécrit\s?:
      | il\s(?:giorno\s)?.{3,160}?\sha\sscritto\s?:
      | el\s.{3,160}?\sescribió\s?:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Outlook puts the earlier message below a separator or a header block without any '>' marks.
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original\s+message|ursprüngliche\s+nachricht|message\s+d'origine"
    r"|messaggio\s+originale|mensaje\s+original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(?:von|from|de|da)\s?:\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:gesendet|sent|envoyé|inviato|datum|date|data|betreff|subject|objet|oggetto)\s?:",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{8,}\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:sent\s+from\s+my\s+\w+|von\s+meinem\s+\w+\s+gesendet|gesendet\s+von\s+meinem\s+\w+"
    r"|envoyé\s+de\s+mon\s+\w+|inviato\s+da\s+(?:il\s+mio\s+)?\w+|get\s+outlook\s+for\s+\w+)\b.*$",
    re.IGNORECASE,
)
_SIGNATURE_DASHES = re.compile(r"^--\s*$")
# Closing formulas after which only the name, company and contact lines follow; the name may
# share the line ("Gruss Therese Schwab", "Merci, Verena").
_CLOSING = re.compile(
    r"""^\s*(?i:
        (?:mit\s+)?(?:(?:freundliche[nm]?|beste[n]?|liebe[n]?|herzliche[n]?|viele|sonnige|schöne)\s+)?
            (?:grü(?:ss|ß)e[n]?|gru(?:ss|ß)|grüess(?:li)?|gruess|grüsst|gruäss)
      | freundlich\s+grü(?:ss|ß)t | en\s+gruess | liebi\s+grüess | lg | mfg | vg | fg
      | (?:vielen|besten|herzlichen|merci|danke)\s+(?:dank|vielmal|viumau|villmal|schön)
            (?:\s+und\s+(?:freundliche|beste|liebe)\s+grü(?:ss|ß)e)?
      | danke | merci | grazie | thanks | thx | cheers
      | (?:kind|best|warm|warmest|many)\s+(?:regards|wishes|thanks) | regards | best
      | thank\s+you(?:\s+very\s+much)? | thanks\s+(?:a\s+lot|so\s+much|again|in\s+advance)
      | yours\s+(?:sincerely|faithfully|truly) | sincerely | all\s+the\s+best
      | (?:bien\s+)?cordialement | amicalement | bien\s+à\s+vous
      | (?:avec\s+mes\s+)?(?:meilleures|sincères)\s+salutations | salutations(?:\s+distinguées|\s+cordiales)?
      | merci\s+(?:d'avance|beaucoup|et\s+bonne\s+journée) | (?:belle|bonne)\s+(?:journée|soirée)
      | avec\s+(?:mes|nos)\s+(?:remerciements|meilleures\s+salutations)
      | (?:cordiali|distinti|cari)\s+saluti | saluti(?:\s+cordiali)? | cordialmente
      | grazie\s+(?:mille|in\s+anticipo) | un\s+saluto | buona\s+(?:giornata|serata)
    )(?:[\s,.]+[A-ZÄÖÜÉÈ][\w.\-']*(?:\s+[A-ZÄÖÜÉÈ][\w.\-']*){0,3})?[\s,.!]*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class MailText:
    """The parts of a body: what the customer wrote now, their signature, and what they quoted."""

    main: str
    signature: str
    quoted: str

    @property
    def visible(self) -> str:
        """Return the new text including the signature."""
        return f"{self.main}\n{self.signature}".strip()


def split_mail(body: str, *, body_is_visible: bool = False) -> MailText:
    """Split a body into new text, signature and quoted history."""
    if body_is_visible:
        visible, quoted = body, ""
    else:
        visible, quoted = strip_quotes(body)
    main, signature = split_signature(visible)
    return MailText(main=main, signature=signature, quoted=quoted)


def strip_quotes(body: str) -> tuple[str, str]:
    """Return (new text, quoted history) of a body."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    quoted: list[str] = []
    i = 0
    while i < len(lines):
        width = _attribution_width(lines, i)
        if width and _next_filled_is_marked(lines, i + width):
            # Interleaved replies: drop the attribution, keep answering lines between the quotes.
            quoted.extend(lines[i : i + width])
            i += width
            continue
        if width or _starts_unmarked_history(lines, i):
            quoted.extend(lines[i:])
            break
        line = lines[i]
        if line.lstrip().startswith(">"):
            quoted.append(line)
        elif not _MOBILE_FOOTER.match(line):
            kept.append(line)
        i += 1
    return "\n".join(kept).strip(), "\n".join(quoted).strip()


def _attribution_width(lines: list[str], i: int) -> int:
    """Return how many lines the attribution at i spans (0 when there is none)."""
    if _ATTRIBUTION.match(lines[i]):
        return 1
    wrapped = i + 1 < len(lines) and lines[i + 1].strip()
    if wrapped and _ATTRIBUTION.match(f"{lines[i].rstrip()} {lines[i + 1].strip()}"):
        return 2
    return 0


def _next_filled_is_marked(lines: list[str], start: int) -> bool:
    return next((x.lstrip().startswith(">") for x in lines[start:] if x.strip()), False)


def _starts_unmarked_history(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _SEPARATOR.match(line):
        return True
    if _UNDERSCORES.match(line):
        return any(_HEADER_FROM.match(x) for x in lines[i + 1 : i + 3])
    if _HEADER_FROM.match(line):
        return any(_HEADER_SENT.match(x) for x in lines[i + 1 : i + 4])
    return False


def split_signature(text: str) -> tuple[str, str]:
    """Return (message, signature): the signature starts at '-- ' or the last closing formula."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _SIGNATURE_DASHES.match(line):
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i + 1 :]).strip()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    for i in range(len(lines) - 1, first, -1):
        if _is_closing(lines[i]) and _tail_is_signature(lines[i + 1 :]):
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i:]).strip()
    return _split_trailing_block(lines)


def _is_closing(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and len(stripped) <= 70 and bool(_CLOSING.match(stripped))


def _tail_is_signature(tail: list[str]) -> bool:
    # A closing formula ends the message only if what follows is short contact lines.
    filled = [x for x in tail if x.strip()]
    return len(filled) <= 8 and all(len(x) <= 90 for x in filled)


def _split_trailing_block(lines: list[str]) -> tuple[str, str]:
    """Without a closing formula, treat a last block of short contact lines as the signature."""
    stripped = [x.rstrip() for x in lines]
    while stripped and not stripped[-1].strip():
        stripped.pop()
    filled = [i for i, x in enumerate(stripped) if x.strip()]
    if len(filled) < 2:
        return "\n".join(stripped).strip(), ""
    for i in range(len(stripped) - 1, 0, -1):
        if not stripped[i].strip():
            tail = stripped[i + 1 :]
            short = 0 < len(tail) <= 6 and all(
                len(x) <= 60 and not x.rstrip().endswith(("?", ":")) for x in tail
            )
            if short and _looks_like_contact(tail):
                return "\n".join(stripped[:i]).strip(), "\n".join(tail).strip()
            break
    if _is_name(stripped[-1]):
        return "\n".join(stripped[:-1]).strip(), stripped[-1].strip()
    return "\n".join(stripped).strip(), ""


def _looks_like_contact(tail: list[str]) -> bool:
    return _is_name(tail[0]) or any(_CONTACT_LINE.search(x) for x in tail)


def _is_name(line: str) -> bool:
    words = line.replace(",", " ").split()
    return (
        0 < len(words) <= 4
        and not line.rstrip().endswith(("!", "?", ":"))
        and not line.isupper()
        and all(w[:1].isupper() or w in _NAME_JOINERS for w in words)
    )


_NAME_JOINERS = {"&", "-", "und", "and", "et", "e", "von", "van", "de", "di", "da", "du", "le", "la"}
_CONTACT_LINE = re.compile(r"\d{2,}[\s/.]\d{2,}|@|www\.", re.IGNORECASE)
