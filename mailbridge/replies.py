"""Cut a mail body down to what the sender wrote now: no quoted history, forwards or signature.

Line-based: each line is checked for what starts the history (an attribution such as "Am ... schrieb
X:", an Outlook "Von:/Gesendet:" block, "-----Original Message-----", a "-- " signature, a mobile
signature) in de/en/fr/it and the other languages customers write in; everything from the first one
on is history. A forward or quote at the very top is skipped so that the text below it is kept.
"""

from __future__ import annotations

import re

_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u1427]")
# Only ">" quotes: "Name>" initials quoting is rare, "mysql>" and "ftp>" prompts in pasted sessions are not.
_QUOTE = re.compile(r"^\s*>")
_SIGNATURE = re.compile(r"^-- ?$")
_RULE = re.compile(r"^\s*_{5,}\s*$")
_DECORATION = re.compile(r"^[\s\-_=*~+#]*$")
_MOBILE_SIGNATURE = re.compile(
    r"^\W{0,3}(?:(?:sent|envoy[ée]|gesendet|inviato|enviado|verzonden|sendt|skickat|wys[łl]ano)"
    r"\s+(?:from|via|with|using|by|depuis|de|du|von|vom|mit|da|dal|desde|vanaf|met|fra|fr[åa]n|z)\b"
    r"|von meinem .{1,40} gesendet|get (?:\[?outlook|the outlook)|diese nachricht wurde von meinem"
    r"|from my \w+(?: \w+){0,2}\s*$|\w+ from mobile\s*$|從我的 .* 傳送|以上消息由)",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\W*(?:-{2,}|\*?-{2,})\s*(?:original message|urspr[üu]ngliche nachricht|originalnachricht"
    r"|message d'origine|message original|messaggio originale|mensaje original|oorspronkelijk bericht"
    r"|forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]|messaggio inoltrato"
    r"|mensaje reenviado|doorgestuurd bericht|mensagem original|mensagem encaminhada)\s*-{2,}\W*$"
    r"|^\W*(?:begin forwarded message|anfang der weitergeleiteten nachricht"
    r"|d[ée]but du message r[ée]exp[ée]di[ée]|inizio messaggio inoltrato)\s*:\s*$",
    re.IGNORECASE,
)
_FIELD_PREFIX = r"^\s*[*_]*(?:"
_FIELD_SUFFIX = r")\s*[*_]*\s*:"
_FROM_FIELD = re.compile(
    _FIELD_PREFIX + r"from|von|de|da|van|fr[åa]n|fra|od|от|від|发件人|寄件者|lähettäjä" + _FIELD_SUFFIX,
    re.IGNORECASE,
)
_OTHER_FIELD = re.compile(
    _FIELD_PREFIX
    + r"sent|date|to|cc|subject|reply-to|gesendet|datum|an|betreff|envoy[ée](?: le)?|[àa]|objet|inviato"
    r"|data|oggetto|risposta|enviad[oa]|fecha|para|asunto|assunto|verzonden|aan|onderwerp|skickat|till"
    r"|[äa]mne|sendt|til|emne|wys[łl]ano|do|temat|отправлено|кому|тема|дата|发送时间|收件人|主题"
    + _FIELD_SUFFIX,
    re.IGNORECASE,
)
_VERB = (
    r"wrote|writes|schrieb|a [ée]crit|ha scritto|escribi[óo]|escreveu|schreef|geschreven|skrev"
    r"|napisa[łl]\(a\)|napisa[łl]a?|написал\(а\)|написала?|пише|写道|kirjoitti|napsal\(a\)|yazd[ıi]"
)
_ATTRIBUTION = re.compile(rf"^.{{0,240}}?\b(?:{_VERB})\b.{{0,120}}[:：]$", re.IGNORECASE)
# What _ATTRIBUTION accepts at the end: an ASCII or a full-width colon, maybe before a final newline.
_COLON_ENDINGS = (":", "：", ":\n", "：\n")
_ATTRIBUTION_EVIDENCE = re.compile(r"@|\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b")
# How attributions begin; a line that begins otherwise must name an address ("X <x@y> wrote:"),
# so that "Ich schrieb Ihnen am 03.11. folgendes:" stays the customer's text.
_ATTRIBUTION_OPENING = re.compile(
    r"^(?:on|am|le|il|el|em|op|den|dnia|w dniu|dne|at|quoting|\d|在|"
    r"понедельник|вторник|среда|четверг|пятница|суббота|воскресенье)\b",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"\S@\S")
_SENTENCE_END = re.compile(r"[.!?…]\s*$")
# Gmail once wrote "2016-03-03 17:21 GMT+01:00 Some One <x@y>:" with no verb. Times carry no
# seconds and the name no digits, so that pasted log lines are not taken for it.
_DATED_ATTRIBUTION = re.compile(
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?: \d{1,2}:\d{2})?(?: GMT[+-]\d{1,2}:?\d{2})?"
    r" [^\d<>:]{1,60}(?:<\s*[^<>\s]+@[^<>\s]+\s*>)?\s*:?$"
)
# Zoho: "---- On Tue, 22 Dec 2015 14:17:36 +0530 Sam <sam@x> wrote ----"
_DASHED_ATTRIBUTION = re.compile(rf"^-{{3,}} .{{0,240}}\b(?:{_VERB}) -{{3,}}$", re.IGNORECASE)
_ATTRIBUTION_LINES = 6


def extract_reply(text: str) -> str:
    """Return only the new text of a mail body."""
    lines = [_INVISIBLE.sub("", line).rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    start = _after_opening_history(lines)
    body = lines[start:]
    body = body[: _history_start(body)]
    body = _without_trailing_quote(body)
    while body and _DECORATION.match(body[-1]):
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    return "\n".join(body)


def _after_opening_history(lines: list[str]) -> int:
    # A mail that starts with a forward, a header block or an attribution: what follows it is what
    # the sender wants read (a forward) or comes after the quote (a bottom-posted reply).
    position = 0
    while True:
        position = _skip_blank(lines, position)
        if position >= len(lines):
            return position
        attribution = _attribution_end(lines, position)
        if attribution is not None:
            position = _skip_quote(lines, _skip_blank(lines, attribution))
        elif _ORIGINAL_MESSAGE.match(lines[position]) or _is_header_block(lines, position):
            position = _skip_header_block(lines, position + 1)
        else:
            return position


def _history_start(lines: list[str]) -> int:
    cut = _hard_cut(lines)
    # "Sent from my iPhone" ends a reply only where nothing but more of the same follows: a customer
    # may well begin a sentence with "Sent from my account ...".
    for index, line in enumerate(lines[:cut]):
        if _MOBILE_SIGNATURE.match(line.strip()) and all(map(_is_trailer, lines[index + 1 : cut])):
            return index
    return cut


def _hard_cut(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if _QUOTE.match(line):
            continue
        if (
            _SIGNATURE.match(line)
            or _RULE.match(line)
            or _ORIGINAL_MESSAGE.match(line)
            or _is_header_block(lines, index)
            or _attribution_end(lines, index) is not None
        ):
            return index
    return len(lines)


def _is_trailer(line: str) -> bool:
    return bool(_QUOTE.match(line) or _DECORATION.match(line) or _MOBILE_SIGNATURE.match(line.strip()))


def _without_trailing_quote(lines: list[str]) -> list[str]:
    text = [index for index, line in enumerate(lines) if line.strip() and not _QUOTE.match(line)]
    if text:
        return lines[: text[-1] + 1]
    # All quote: keep it (the sender chose to send just that) unless it is a quoted thread.
    unquoted = [_QUOTE.sub("", line).strip() for line in lines]
    return [] if any(_is_attribution(line) for line in unquoted) else lines


def _attribution_end(lines: list[str], index: int) -> int | None:
    """Return the index after an attribution ("On ... X wrote:") starting at index, else None."""
    if not lines[index].strip():
        return None
    # Only an attribution's own opening may span blank lines ("On ... Some One\n\n<mailto:...>\n> wrote:").
    spans_blanks = bool(_ATTRIBUTION_OPENING.match(lines[index].strip()))
    for end in range(index, min(index + _ATTRIBUTION_LINES, len(lines))):
        if not lines[end].strip() and not spans_blanks:
            return None
        window = _window(lines, index, end)
        if len(window) > 300:
            return None
        if _is_attribution(window):
            # Text right above an attribution is not part of it: a later line that opens one starts it.
            later = range(index + 1, end + 1)
            opens = (start for start in later if _opens_attribution(lines, start))
            return None if any(_is_attribution(_window(lines, start, end)) for start in opens) else end + 1
    return None


def _opens_attribution(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    return bool(line) and bool(_ATTRIBUTION_OPENING.match(line) or _SENTENCE_END.search(lines[index - 1]))


def _window(lines: list[str], start: int, end: int) -> str:
    parts = [lines[start].strip()] + [_QUOTE.sub("", line).strip() for line in lines[start + 1 : end + 1]]
    return " ".join(part for part in parts if part)


def _is_attribution(text: str) -> bool:
    if _DATED_ATTRIBUTION.match(text) or _DASHED_ATTRIBUTION.match(text):
        return True
    # _ATTRIBUTION ends in a colon; checking that first spares its costly scan on nearly every line.
    if (
        not text.endswith(_COLON_ENDINGS)
        or not _ATTRIBUTION.match(text)
        or not _ATTRIBUTION_EVIDENCE.search(text)
    ):
        return False
    return bool(_ATTRIBUTION_OPENING.match(text) or _ADDRESS.search(text))


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _FROM_FIELD.match(lines[index]):
        return False
    following = lines[index + 1 : index + 7]
    return any(_OTHER_FIELD.match(line) for line in following)


def _skip_header_block(lines: list[str], position: int) -> int:
    position = _skip_blank(lines, position)
    while position < len(lines) and lines[position].strip():
        position += 1
    return position


def _skip_quote(lines: list[str], position: int) -> int:
    while position < len(lines) and (not lines[position].strip() or _QUOTE.match(lines[position])):
        position += 1
    return position


def _skip_blank(lines: list[str], position: int) -> int:
    while position < len(lines) and not lines[position].strip():
        position += 1
    return position
