"""Rule signals on hard cases: quotes, pasted vs paraphrased errors, callback phrasings, numbers."""

from __future__ import annotations

import pytest

from triage import patterns, signals
from triage.language import detect_language
from triage.nlp import pipeline
from triage.text import split_mail, strip_quotes


def _error(text: str, lang: str = "de") -> str | None:
    return signals.find_error_message(text, pipeline(lang).make_doc(text), lang=lang)


def _asks(text: str, lang: str = "de") -> bool:
    return signals.mentions_calling(text) and signals.asks_for_callback(
        pipeline(lang).make_doc(text), lang=lang
    )


def _callback_number(body: str) -> str | None:
    mail = split_mail(body)
    numbers = signals.phone_numbers(mail.main) + signals.phone_numbers(mail.signature, in_signature=True)
    return signals.choose_callback_number(numbers, mail.main)


# --- quotes and signatures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attribution",
    [
        "Am 11.03.2025 um 10:02 schrieb Support <support@alpweb.example>:",
        "Le 13 mars 2025 à 11:02, Support <support@alpweb.example> a écrit :",
        "On Wed, 5 Mar 2025 at 16:41, Support <support@alpweb.example> wrote:",
        "Il giorno 03.03.2026 alle 09:12 Support <support@alpweb.example> ha scritto:",
    ],
)
def test_an_attribution_and_the_quote_below_are_history(attribution: str) -> None:
    # given a reply with the provider's earlier message quoted below an attribution line
    body = f"Danke, jetzt geht es.\n\n{attribution}\n> Bitte senden Sie uns die Fehlermeldung.\n> Gruss"
    # when the body is split
    new, quoted = strip_quotes(body)
    # then only the customer's new line remains
    assert new == "Danke, jetzt geht es."
    assert "Fehlermeldung" in quoted


def test_an_attribution_wrapped_over_two_lines_is_recognised() -> None:
    body = "Geht wieder.\n\nAm 11.03.2025 um 10:02 schrieb Support Alpweb\n<support@alpweb.example>:\n> Hallo"
    assert strip_quotes(body)[0] == "Geht wieder."


@pytest.mark.parametrize(
    "history",
    [
        "-----Original Message-----\nFrom: Support\nSent: Monday\n\nPlease send the error.",
        "-----Ursprüngliche Nachricht-----\nVon: Support\n\nBitte senden Sie die Meldung.",
        "Von: Support <support@alpweb.example>\nGesendet: Montag, 9. März 2026 08:15\nAn: x\n\nText",
    ],
)
def test_outlook_history_without_quote_marks_is_cut(history: str) -> None:
    new, quoted = strip_quotes(f"Hier die Meldung: 550 5.1.1 User unknown\n\nBeat\n\n{history}")
    assert "Support" not in new
    assert quoted.startswith(history.split("\n")[0])


def test_interleaved_answers_between_quotes_are_kept() -> None:
    body = (
        "Am 1.3.2026 um 10:00 schrieb Support:\n> Welches Programm?\nOutlook 2021\n> Welche Meldung?\nKeine"
    )
    new, _ = strip_quotes(body)
    assert new.split("\n") == ["Outlook 2021", "Keine"]


def test_the_signature_after_a_closing_formula_is_split_off() -> None:
    mail = split_mail(
        "Grüezi\n\nMein Webmail geht nicht.\n\nFreundliche Grüsse\nRuth Brunner\nTel. 044 381 22 10"
    )
    assert mail.main == "Grüezi\n\nMein Webmail geht nicht."
    assert mail.signature.endswith("044 381 22 10")


def test_a_short_last_sentence_is_not_taken_for_a_signature() -> None:
    mail = split_mail("Hallo\n\nmein webmail geht nicht")
    assert "webmail" in mail.main


# --- error messages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Es kommt immer: 550 5.1.1 <a@b.example>: Recipient address rejected",
        "Outlook meldet Fehler (0x800CCC0E) beim Senden.",
        "Chrome zeigt NET::ERR_CERT_DATE_INVALID an.",
        "Der Shop zeigt SQLSTATE[HY000] [1040] Too many connections",
        "Beim Login kommt Error 9999 - no account with this name",
        "FileZilla: Antwort: 530 Login incorrect.",
        "Die Seite zeigt nur Error establishing a database connection",
        "PHP Fatal error: Uncaught Error: Call to undefined function x() in /home/a.php:3",
        "Firefox: Warnung: Mögliches Sicherheitsrisiko erkannt",
        "Zurück kam: Delivery has failed to these recipients or groups",
        "Die Seite gibt «503 Service Unavailable» zurück.",
        "Das ist der Text, den Thunderbird mir beim Abrufen anzeigt:\n\n«Anmeldung fehlgeschlagen.»",
    ],
)
def test_a_pasted_system_error_is_found(text: str) -> None:
    assert _error(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Es kommt einfach jedes Mal eine Fehlermeldung.",
        "Es kommt die Meldung, dass das Passwort falsch sei.",
        "I get an error saying my password is wrong.",
        "Die Fehlermeldung sehen Sie im Screenshot im Anhang.",
        "Fehlermeldung: siehe Screenshot",
        "Da steht irgendwas von «Benutzer unbekannt» oder so.",
        "Im Control Panel unter „Konto > Rechnungen“ ist die Liste leer.",
        "Ich habe auf „Passwort zurücksetzen“ geklickt, aber es kommt keine Mail.",
        'Our plan says "up to 5 databases", but I cannot find where to add one.',
    ],
)
def test_a_paraphrased_or_missing_error_is_not_an_error_message(text: str) -> None:
    assert _error(text) is None


def test_a_quoted_provider_request_is_not_an_error_message() -> None:
    # given a customer quoting our request inside their own text
    text = "Sie schreiben «Bitte senden Sie uns die genaue Fehlermeldung». Ich sehe aber keine Meldung."
    # then that quote is not taken for the system's error text
    assert _error(text) is None


def test_a_block_after_an_announcing_line_is_the_error_text() -> None:
    text = (
        "Seit gestern zeigt die Seite:\n\n"
        "Forbidden\nYou don't have permission to access this resource.\n\nGruss"
    )
    assert _error(text, "de") == "Forbidden You don't have permission to access this resource."


def test_a_list_after_a_colon_is_not_an_error() -> None:
    text = "Bitte ändern Sie die Nameserver auf:\n\nns1.dnshost.example\nns2.dnshost.example"
    assert _error(text) is None


def test_an_english_error_in_a_french_mail_is_found_in_single_quotes() -> None:
    text = "Firefox affiche 'Unable to connect' depuis ce matin."
    assert _error(text, "fr") == "Unable to connect"


# --- callback requests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Bitte rufen Sie mich zurück, 079 412 33 87", "de"),
        ("Können Sie mich bitte unter +33 6 12 48 90 37 anrufen?", "de"),
        ("Bitte um Rückruf.", "de"),
        ("Chönd Sie mi aalüte?", "de"),
        ("Ich habe noch keinen Anruf bekommen!!", "de"),
        ("Could someone give me a ring to talk it through?", "en"),
        ("Please call me back asap.", "en"),
        ("Rappelez-moi svp. 078 912 33 40", "fr"),
        ("Merci de me contacter par téléphone.", "fr"),
        ("Potete richiamarmi al 079 412 88 03?", "it"),
        ("Il sito non funziona. Mi chiamate per favore?", "it"),
    ],
)
def test_a_request_to_be_phoned_is_recognised(text: str, lang: str) -> None:
    assert _asks(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Zwei Kundinnen haben heute angerufen, sie hätten uns geschrieben.", "de"),
        ("Kunden rufen uns ständig an.", "de"),
        ("Bitte nicht anrufen, ich bin in Sitzungen.", "de"),
        ("Unter welcher Nummer kann ich Sie anrufen?", "de"),
        ("Danke für den Rückruf von gestern, jetzt geht alles.", "de"),
        ("Customers are ringing the office and a guest just called me.", "en"),
        ("There is no need to call me, email is fine.", "en"),
        ("I'm reachable at +41 79 203 44 18 if you need anything.", "en"),
        ("J'ai reçu un rappel pour la facture 2026-104387.", "fr"),
        ("J'aimerais voir les mêmes mails sur mon téléphone.", "fr"),
        ("Un cliente mi ha chiamato stamattina.", "it"),
    ],
)
def test_talk_about_phoning_is_not_a_callback_request(text: str, lang: str) -> None:
    assert not _asks(text, lang)


def test_every_callback_pattern_contains_a_word_the_cheap_filter_sees() -> None:
    # given the matcher patterns, when the cheap pre-filter decides, then no pattern can be skipped wrongly
    for language_patterns in patterns.CALLBACK_PATTERNS.values():
        for pattern in language_patterns:
            token_lists = [t["LOWER"]["IN"] for t in pattern if isinstance(t.get("LOWER"), dict)]
            assert any(all(signals.mentions_calling(w) for w in words) for words in token_lists), pattern
    for word in patterns.CALLBACK_NOUNS | patterns.REACH_WORDS:
        assert signals.mentions_calling(word), word


def test_an_answer_to_our_callback_offer_with_a_number_is_a_request() -> None:
    quoted = "> Gerne rufen wir Sie zurück. Unter welcher Nummer dürfen wir Sie erreichen?"
    numbers = signals.phone_numbers("Gern, meine Natelnummer ist 078 733 05 21.")
    assert signals.replies_to_callback_offer(quoted, numbers)
    assert not signals.replies_to_callback_offer("> Bitte senden Sie die Fehlermeldung.", numbers)


# --- phone numbers ------------------------------------------------------------------------------


def test_of_two_numbers_in_a_signature_the_first_is_called() -> None:
    body = (
        "Rufen Sie mich bitte an.\n\nHans-Peter Egli\nEgli Sanitär AG\nTel 052 212 45 78\nNatel 079 640 11 23"
    )
    assert _callback_number(body) == "+41522124578"


def test_a_stated_preference_for_the_mobile_wins() -> None:
    body = (
        "Bitte ruft mich zurück. Am besten aufs Natel, nicht Büro.\n\n"
        "Raphael\nBüro 071 755 32 10\nNatel 078 802 64 19"
    )
    assert _callback_number(body) == "+41788026419"


def test_a_number_in_the_text_beats_the_signature() -> None:
    body = (
        "Könnten Sie mich bitte unter +33 6 12 48 90 37 anrufen?\n\n"
        "Besten Dank\nJean-Luc Perrin\nPerrin Uhren, Biel\n032 341 55 20"
    )
    assert _callback_number(body) == "+33612489037"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Meine Nummer: +44 7700 900 123 (London)", "+447700900123"),
        ("Please call me on 0049 152 3456 7890.", "+4915234567890"),
        ("Merci de me rappeler au 079/456.78.90", "+41794567890"),
        ("Tel +41 (0)61 555 72 40", "+41615557240"),
    ],
)
def test_numbers_are_read_in_e164(text: str, expected: str) -> None:
    assert [n.e164 for n in signals.phone_numbers(text)] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Ping auf 185.23.44.71 geht nicht, auch 198.51.100.37 nicht.",
        "Rechnung 2026-11290 über CHF 178.00",
        "Kundennummer 40218, Bestellung 2026030212345",
        "Übertragung fehlgeschlagen nach 412.331.008 Byte",
        "Fax 031 311 47 61",
    ],
)
def test_things_that_look_like_numbers_are_not_phone_numbers(text: str) -> None:
    assert signals.phone_numbers(text) == []


# --- language -----------------------------------------------------------------------------------


def test_a_very_short_text_takes_the_customers_language() -> None:
    assert detect_language("Merci", fallback="de") == "de"
    assert detect_language("Merci", fallback="fr") == "fr"


def test_a_longer_text_is_detected_whatever_the_customer_language() -> None:
    text = "where do I find the link to phpMyAdmin and which password do I use there?"
    assert detect_language(text, fallback="de") == "en"
