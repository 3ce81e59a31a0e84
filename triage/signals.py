"""Rule-based signals in a mail's visible text: error messages, callback requests and numbers.

Rules decide where they are precise: a pasted error has a shape (a code, a system's phrase, a quote
or block announced by 'Outlook meldet:'), a callback request a handful of phrasings per language,
and a phone number the `phonenumbers` grammar. Paraphrases ('es kommt eine Fehlermeldung') are not
error messages, and a number in a signature is not a callback number unless a call is asked for.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from triage import patterns as p
from triage.nlp import pipeline

MAX_ERROR_CHARS = 300
_WORD = re.compile(r"[^\W\d_]+")
_CONTENT_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n\s*\n")
_FAILURE = re.compile(
    r"fehl|error|erreur|errore|fail|échou|echec|échec|fallit|riuscit|impossib|unable|cannot|can't|can’t|could\s?n|"
    r"couldn|nicht|kein|\bnot?\b|\bnon\b|\bpas\b|ungültig|invalid|abgelehnt|reject|refus|rifiut|denied|"
    r"verweigert|gesperrt|bloc|block|lock|expir|abgelaufen|scadut|timeout|timed\s+out|zeitüberschreitung|"
    r"unavailable|unreachable|erreichbar|incorrect|corrett|falsch|wrong|exceed|überschritten|supera|dépass|"
    r"maxim|full|voll|pien|plein|warn|avviso|attention|achtung|risk|risque|rischio|sicher|secur|problem|"
    r"unknown|unbekannt|inconnu|sconosciut|missing|found|trouv|trovat|exist|suspend|hack|forbidden|"
    r"permission|berechtigung|autoris|autorizz|abgebrochen|aborted|interrot|unterbrochen|interrupt|closed|"
    r"undefined|indéfini|non\s+definit|refusé|refused|rifiutat|droits|rights|diritti|disattiv|deaktiv|désactiv|"
    r"deactivat|disabled|"
    r"geschlossen|ferm|chius|sorry|oops|leider|désolé|spiacenti",
    re.IGNORECASE,
)
_ERROR_NOUNS = re.compile(
    r"fehlermeldung|meldung|rückmeldung|error|erreur|errore|bounce|fehler|message\s+d'erreur|warnung|warning",
    re.IGNORECASE,
)
_PROVIDER_REQUEST = re.compile(
    r"senden\s+sie\s+uns|bitte\s+senden|schicken\s+sie\s+uns|please\s+send|send\s+us|envoyez-nous|"
    r"merci\s+de\s+nous\s+(?:envoyer|transmettre)|inviateci|mandateci|ci\s+invii",
    re.IGNORECASE,
)
# 'irgendwas von «Benutzer unbekannt» oder so': the customer recalls, not pastes.
_HEDGE = re.compile(
    r"irgendwas|irgendwie|so\s+etwas|sowas|ungefähr|something\s+like|something\s+about|quelque\s+chose|"
    r"genre|qualcosa|tipo|circa",
    re.IGNORECASE,
)
_HEDGE_AFTER = re.compile(
    r"[\s,]*(?:oder\s+so|or\s+so|or\s+something|ou\s+quelque|o\s+qualcosa|o\s+simile)", re.I
)
_ERROR_PREFIX = re.compile(
    r"\s*(?:error|fehler|erreur|errore|warning|warnung|fatal)\b\s*\d*\s*:", re.IGNORECASE
)
_WEAK_CUES = p.words("mit with avec con this folgendes folgende folgender following suivant suivante questo")


def mentions_calling(text: str) -> bool:
    """Tell cheaply whether a text could ask for a call (the token matcher is the slowest rule)."""
    return bool(_CALL_WORDS.search(text))


# Every callback pattern contains one of these stems (tests check it): a text without them cannot match.
# Anchored at word starts so that 'Fehlermeldung', 'bringt' and 'iPhone' do not wake the matcher.
_CALL_WORDS = re.compile(
    r"\b(?:ruf|rückruf|rueckruf|zurückruf|zurueckruf|anruf|anzuruf|zurückzuruf|zurueckzuruf|call|ring|phone|"
    r"telephone|rappel|appel|téléphon|telefon|chiam|richiam|erreich|reach|joind|joign|atteind|voix|voce|"
    r"aalü|alü|aarüef|arüef|zrugg|melde|contact|recontact|contatt|ricontatt|bell|buzz|raggiung|trovate)",
    re.IGNORECASE,
)
_CONDITIONALS = p.words("if falls wenn sofern si se qualora")
_MOBILE_LABEL = re.compile(r"\b(natel|handy|mobile|mobil|portable|cellulare|cell|cellphone)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Phone:
    """A phone number found in the text."""

    e164: str
    start: int
    in_signature: bool
    mobile: bool


class _Matchers:
    """The spaCy matchers of one language pipeline (built after loading, so nothing drops them)."""

    def __init__(self, lang: str) -> None:
        nlp = pipeline(lang)
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.phrases.add("ERROR", [nlp.make_doc(phrase) for phrase in p.ERROR_PHRASES])
        self.callback = Matcher(nlp.vocab)
        # Mails mix languages ('Buongiorno / Grüezi'), so every language's phrasing is looked for.
        for language, token_patterns in p.CALLBACK_PATTERNS.items():
            self.callback.add(f"CALLBACK_{language}", token_patterns)
        self.callback.add("NOUN", [[{"LOWER": {"IN": sorted(p.CALLBACK_NOUNS)}}]])
        self.callback.add("REACH", [[{"LOWER": {"IN": sorted(p.REACH_WORDS)}}]])


_matchers: dict[str, _Matchers] = {}
_matchers_lock = threading.Lock()


def matchers(lang: str) -> _Matchers:
    """Return the (cached) matchers for a language."""
    with _matchers_lock:
        if lang not in _matchers:
            _matchers[lang] = _Matchers(lang)
        return _matchers[lang]


# --- error messages -----------------------------------------------------------------------------


def find_error_message(text: str, doc: Doc, *, lang: str) -> str | None:
    """Return the first error text a system produced that the customer pasted, or None."""
    found = [*_code_hits(text), *_phrase_hits(doc, text, lang), *_quoted_hits(text), *_block_hits(text)]
    if not found:
        return None
    _, message = min(found)
    return _clip(message)


def says_nothing(text: str, *, lang: str) -> bool:
    """Tell whether a text has no word that could describe a problem (only greetings, 'call me'...)."""
    stop_words = pipeline(lang).Defaults.stop_words
    return not any(
        len(word) > 1 and word not in stop_words and word not in p.FILLER
        for word in _CONTENT_WORD.findall(text.lower())
    )


def without_technical(text: str) -> str:
    """Return the customer's own words: pasted quotes, codes and status lines removed."""
    text = p.QUOTED.sub(" ", text)
    text = p.ERROR_CODES.sub(" ", text)
    return p.STATUS_LINE.sub(lambda m: " " if m.group(1).lower() in p.STATUS_WORDS else m.group(0), text)


def looks_technical(line: str) -> bool:
    """Tell whether a line is a system's output (a code, a status line, a quoted message)."""
    stripped = line.strip()
    if p.ERROR_CODES.search(stripped) or stripped.startswith(("«", "„", "“", '"')):
        return True
    status = p.STATUS_LINE.search(stripped)
    return bool(status and status.group(1).lower() in p.STATUS_WORDS)


def _code_hits(text: str) -> Iterator[tuple[int, str]]:
    for match in p.ERROR_CODES.finditer(text):
        yield match.start(), _line_at(text, match.start())
    for match in p.STATUS_LINE.finditer(text):
        if match.group(1).lower() in p.STATUS_WORDS:
            yield match.start(), _line_at(text, match.start())


def _phrase_hits(doc: Doc, text: str, lang: str) -> Iterator[tuple[int, str]]:
    for _, start, _ in matchers(lang).phrases(doc):
        yield doc[start].idx, _line_at(text, doc[start].idx)


def _quoted_hits(text: str) -> Iterator[tuple[int, str]]:
    for match in p.QUOTED.finditer(text):
        inner = next(group for group in match.groups() if group)
        if len(_WORD.findall(inner)) < 2 or ">" in inner:
            continue
        if p.NOT_PASTED.search(inner) or _PROVIDER_REQUEST.search(inner):
            continue
        before = _context_before(text, match.start())
        if _HEDGE.search(before) or _HEDGE_AFTER.match(text, match.end()) or _is_elided(inner):
            continue
        if _ERROR_PREFIX.match(inner) or (
            _announces(before) and (_FAILURE.search(inner) or _ERROR_NOUNS.search(before))
        ):
            yield match.start(), inner


def _block_hits(text: str) -> Iterator[tuple[int, str]]:
    lines = text.split("\n")
    offset = 0
    for i, line in enumerate(lines):
        intro, _, rest = line.partition(":") if ":" in line else (line, "", "")
        if rest.strip() and _announces(intro) and not _announces_only_weakly(intro):
            inline = rest.strip()
            if _is_pasted(inline, intro):
                yield offset + len(intro) + 1, inline
        elif _ends_with_cue(line):
            block = _following_block(lines, i + 1)
            if block and _is_pasted(block, line):
                yield offset + len(line) + 1, block
        offset += len(line) + 1


def _following_block(lines: list[str], start: int) -> str:
    """Return the lines after an intro line up to the next blank line (one blank line may come first)."""
    rest = lines[start : start + 12]
    if rest and not rest[0].strip():
        rest = rest[1:]
    block = []
    for line in rest:
        if not line.strip():
            break
        block.append(line.strip())
    return "\n".join(block[:8])


def _is_pasted(block: str, intro: str) -> bool:
    if len(_WORD.findall(block)) < 1 or p.NOT_PASTED.search(block) or _PROVIDER_REQUEST.search(block):
        return False
    if re.fullmatch(r"[\s\d+()/.-]+|\S+@\S+|https?://\S+|www\.\S+", block):
        return False
    return bool(_FAILURE.search(block) or p.ERROR_CODES.search(block) or _ERROR_NOUNS.search(intro))


def _ends_with_cue(line: str) -> bool:
    """Tell whether a line introduces a pasted block ('Outlook meldet:', 'every page just shows')."""
    stripped = line.rstrip()
    if stripped.endswith(":"):
        return _announces(stripped)
    words = [w.lower() for w in _WORD.findall(stripped)]
    # A finished sentence ('Es kam keine Fehlermeldung.') introduces nothing.
    return bool(words) and stripped[-1].isalpha() and words[-1] in p.DISPLAY_VERBS


def _is_elided(inner: str) -> bool:
    return ("..." in inner or "…" in inner) and len(_WORD.findall(inner)) < 4


def _announces(before: str) -> bool:
    """Tell whether the words before a quote or colon announce a system's text ('Outlook meldet')."""
    words = [w.lower() for w in _WORD.findall(before)][-8:]
    if not words:
        return False
    cues = [i for i, w in enumerate(words) if w in p.DISPLAY_CUES and w not in _WEAK_CUES]
    if words[-1] in _WEAK_CUES:
        cues.append(len(words) - 1)
    clicks = [i for i, w in enumerate(words) if w in p.CLICK_CUES]
    # 'klicke auf «Senden»' names a button; 'klicke, kommt: «...»' shows what followed the click.
    return bool(cues) and (not clicks or max(cues) > max(clicks))


def _announces_only_weakly(intro: str) -> bool:
    words = [w.lower() for w in _WORD.findall(intro)][-8:]
    strong = [w for w in words if w in p.DISPLAY_CUES and w not in _WEAK_CUES]
    return not strong and len(words) > 6


def _context_before(text: str, start: int) -> str:
    """Return the sentence before position start (or the line before, if the quote opens a line)."""
    window = text[max(0, start - 160) : start]
    ends = list(_SENTENCE_END.finditer(window))
    sentence = window[ends[-1].end() :] if ends else window
    if sentence.strip():
        return sentence
    previous = [x for x in window.split("\n") if x.strip()]
    return previous[-1] if previous else ""


def _line_at(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start : end if end >= 0 else len(text)].strip()


def _clip(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"


# --- callbacks ----------------------------------------------------------------------------------


def asks_for_callback(doc: Doc, *, lang: str) -> bool:
    """Tell whether the text asks to be phoned."""
    vocab = doc.vocab.strings
    for match_id, start, end in matchers(lang).callback(doc):
        kind = vocab[match_id]
        if _negated(doc, start, end):
            continue
        if kind == "NOUN" and _thanked(doc, start):
            continue
        if kind == "REACH" and not _number_in_sentence(doc, start):
            continue
        if kind.startswith("CALLBACK") and end < len(doc) and doc[end].lower_ in ("you", "your", "vous"):
            continue
        return True
    return False


def replies_to_callback_offer(quoted: str, numbers: list[Phone]) -> bool:
    """Tell whether the customer answers our offer to call (quoted) by giving a number."""
    return bool(numbers) and bool(p.CALLBACK_OFFER.search(quoted))


def _negated(doc: Doc, start: int, end: int) -> bool:
    """Tell whether a phrase is negated in its sentence ('bitte nicht anrufen', "don't call me")."""
    sentence_start, _ = _sentence(doc, start)
    window = [t.lower_ for t in doc[max(sentence_start, start - 3) : start]]
    if end - start > 1:
        window.append(doc[end - 2].lower_)
    for i, word in enumerate(window):
        # 'noch keinen Anruf bekommen' complains that nobody called: that is a request.
        if word in p.NEGATIONS and not (i > 0 and window[i - 1] in ("noch", "still", "toujours", "ancora")):
            return True
    return False


def _thanked(doc: Doc, start: int) -> bool:
    return any(t.lower_ in p.THANKS for t in doc[max(0, start - 4) : start])


def _sentence(doc: Doc, i: int) -> tuple[int, int]:
    start = i
    while start > 0 and not _is_boundary(doc[start - 1].text):
        start -= 1
    end = i
    while end < len(doc) - 1 and not _is_boundary(doc[end + 1].text):
        end += 1
    return start, end + 1


def _is_boundary(text: str) -> bool:
    return text in (".", "!", "?") or "\n" in text


def _number_in_sentence(doc: Doc, i: int) -> bool:
    start, end = _sentence(doc, i)
    # 'reachable at ... if you need anything' offers a number without asking for a call.
    negated = any(t.lower_ in p.NEGATIONS or t.lower_ in _CONDITIONALS for t in doc[start:end])
    digits = sum(sum(ch.isdigit() for ch in t.text) for t in doc[start:end])
    return digits >= 9 and not negated


# --- phone numbers ------------------------------------------------------------------------------


def phone_numbers(text: str, *, in_signature: bool = False) -> list[Phone]:
    """Return the phone numbers in a text (Swiss by default), skipping fax, invoice and IP numbers."""
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, "CH", leniency=phonenumbers.Leniency.POSSIBLE):
        number = match.number
        # POSSIBLE also matches IP addresses and invoice numbers; a valid number, or an explicitly
        # international one (reserved ranges such as +44 7700 900xxx are not 'valid'), is kept.
        raw = match.raw_string.lstrip("(")
        international = raw.startswith(("+", "00"))
        # Swiss numbers are always written with a leading 0 or a country code; without one it is a
        # byte count or a reference ('412.331.008 Byte').
        if not raw.startswith(("0", "+")) or not (phonenumbers.is_valid_number(number) or international):
            continue
        before = text[max(0, match.start - 24) : match.start]
        if p.FAX.search(before) or p.NOT_A_PHONE.search(before):
            continue
        label = (_WORD.findall(before) or [""])[-1].lower()
        kind = phonenumbers.number_type(number)
        mobile = label in p.MOBILE_WORDS or kind == phonenumbers.PhoneNumberType.MOBILE
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        found.append(Phone(e164=e164, start=match.start, in_signature=in_signature, mobile=mobile))
    return found


def choose_callback_number(numbers: list[Phone], main: str) -> str | None:
    """Pick the number to call: a preferred mobile, else the first in the text, else in the signature."""
    if not numbers:
        return None
    candidates = numbers
    if prefers_mobile(main):
        candidates = [n for n in numbers if n.mobile] or numbers
    in_text = [n for n in candidates if not n.in_signature]
    return (in_text or candidates)[0].e164


def prefers_mobile(text: str) -> bool:
    """Tell whether the customer asks to be called on the mobile ('am besten aufs Natel')."""
    for match in _MOBILE_LABEL.finditer(text):
        after = text[match.end() : match.end() + 4]
        if not re.match(r"[\s:.]*[+(\d]", after):
            return True
        if p.PREFERENCE.search(text[max(0, match.start() - 30) : match.start()]):
            return True
    return False
