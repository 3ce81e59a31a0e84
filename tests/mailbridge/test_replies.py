"""Visible reply text: real replies from German, French and Italian clients, and Discourse's corpus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mailbridge.parsing import parse_mail
from mailbridge.replies import extract_reply
from tests.conftest import shared_path

MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"


def _reply_of(name: str) -> str:
    return parse_mail((MAIL / name).read_bytes()).reply_text


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        (
            "outlook_de_reply.eml",
            "Hallo,\n\ndie Fehlermeldung lautet: Error 9999 - no account with this name\n\n"
            "Mit freundlichen Grüßen\nPetra Schmidt",
        ),
        ("outlook_de_original_message.eml", "Das Backup von gestern fehlt in der Liste."),
        ("apple_mail_de_reply.eml", "Ja, der FTP-Login geht jetzt wieder. Danke!"),
        ("gmail_fr_reply.eml", "Bonjour,\n\nle nom de domaine client.example ne répond plus."),
        ("italian_reply.eml", "Il database MySQL non risponde da stamattina."),
        ("signature_reply.eml", "Bitte rufen Sie mich zurück, die Webseite ist seit gestern weg."),
        (
            "forwarded_bounce_by_customer.eml",
            "Hallo, diese Meldung bekomme ich bei jeder Mail an meinen Kollegen:",
        ),
    ],
)
def test_real_replies_keep_only_the_new_text(name, reply):
    assert _reply_of(name) == reply


def test_whole_text_keeps_the_history_that_reply_text_drops():
    parsed = parse_mail((MAIL / "outlook_de_reply.eml").read_bytes())
    assert "Gesendet: Montag, 3. November 2026 09:58" in parsed.text
    assert "Gesendet:" not in parsed.reply_text


def test_bottom_posted_reply_keeps_the_text_after_the_quote():
    text = (
        "Am 03.11.2026 um 10:14 schrieb Support <support@hoster.example>:\n> Welche Domain?\n\nkunde.example"
    )
    assert extract_reply(text) == "kunde.example"


def test_forward_without_comment_keeps_the_forwarded_text():
    text = (
        "-------- Weitergeleitete Nachricht --------\nBetreff: Fehler\nDatum: Mon, 3 Nov 2026\n\nError 9999"
    )
    assert extract_reply(text) == "Error 9999"


@pytest.mark.parametrize(
    "text",
    [
        # A sentence that ends like an attribution, but names neither an address nor opens like one.
        "Ich schrieb Ihnen am 03.11.2026 um 10:14 folgendes:\nE-Mail geht nicht",
        # Pasted log lines with dates, times and zones.
        "Das Log sagt:\n2026-11-03 10:14:22 UTC postfix/smtp[123]: status=bounced\nBitte helfen",
        # Indented code and hyphen lists stay as written.
        "Meine Konfiguration:\n\n    - host: mail.kunde.example\n    - port: 993\n\nDanke",
        # A pasted prompt session is not a quote, and "Sent from my ..." can begin a sentence.
        "Die Ausgabe:\nmysql> SHOW DATABASES;",
        "Sent from my account to gmail.com, every mail bounces.\nWhy?",
    ],
)
def test_customer_text_that_only_looks_like_history_is_kept(text):
    assert extract_reply(text) == text


def test_mobile_signature_and_invisible_marks_are_dropped():
    assert extract_reply("Geht wieder.\n\u200b\nVon meinem iPhone gesendet") == "Geht wieder."
    assert extract_reply("Ça marche.\n\nEnvoyé de mon iPhone") == "Ça marche."
    assert extract_reply("Funziona.\n\nInviato da iPhone") == "Funziona."


def test_quote_only_mail_is_kept_and_quoted_thread_is_not():
    assert extract_reply("> Nur ein Zitat") == "> Nur ein Zitat"
    assert extract_reply("> On Mon, 3 Nov 2026 at 10:14, A <a@b.example> wrote:\n>> hi") == ""


# --- Discourse's email_reply_trimmer corpus -----------------------------------------------------


def _normalised(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept)


def _corpus_rate(trim: Callable[[str], str]) -> tuple[int, int, list[str]]:
    root = shared_path("corpora", "reply-trimmer")
    emails = sorted((root / "emails").glob("*.txt"))
    misses = [
        email.name
        for email in emails
        if _normalised(trim(email.read_text())) != _normalised((root / "trimmed" / email.name).read_text())
    ]
    return len(emails) - len(misses), len(emails), misses


# 62 of 64: the two misses are interleaved replies (text, quote, more text below an attribution),
# where the corpus keeps the text below and this trimmer cuts at the attribution.
REPLY_TRIMMER_MINIMUM = 62


def test_reply_trimmer_corpus_match_rate():
    hits, total, misses = _corpus_rate(extract_reply)
    print(f"reply-trimmer {hits}/{total}")
    assert hits >= REPLY_TRIMMER_MINIMUM, f"reply-trimmer {hits}/{total}; misses: {misses}"
