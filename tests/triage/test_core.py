"""analyse(): the label schema's answers, quoted history, thread awareness, short mails."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.classifier import ServiceModel
from triage.core import TriageInput, analyse, analyse_batch
from triage.dataset import LABEL_KEYS
from triage.nlp import PipelineMissingError, pipeline

QUOTED_REQUEST = (
    "Am 12.03.2025 um 14:20 schrieb Support Alpweb <support@alpweb.example>:\n"
    "> Guten Tag Herr Vogt\n"
    "> Bitte senden Sie uns die genaue Fehlermeldung (Wortlaut oder Screenshot).\n"
)


def test_the_labels_have_exactly_the_schema_keys(model: ServiceModel) -> None:
    result = analyse(
        TriageInput(subject="Webmail", body="Mein Webmail geht nicht.\n\nGruss Eva"), model=model
    )
    assert tuple(result.labels()) == LABEL_KEYS
    assert set(result.service_probabilities) == {
        "email", "website", "ftp", "database", "domain", "backup", "controlpanel", "billing"
    }  # fmt: skip


def test_a_vague_problem_asks_for_the_error_message(model: ServiceModel) -> None:
    # given a customer who only says that mail does not work
    message = TriageInput(
        subject="E-Mail geht nicht", body="E-Mail geht nicht!!!\n\nBeat", mailbox="emergency"
    )
    # when it is triaged
    result = analyse(message, model=model)
    # then the service is known, there is no error text, and it is asked for
    assert result.language == "de"
    assert "email" in result.services
    assert result.problem_report
    assert not result.has_error_message
    assert result.actions == ("request_error_message",)


def test_an_error_only_in_the_quoted_history_does_not_count(model: ServiceModel) -> None:
    # given a thank-you reply whose quoted history holds the old bounce
    body = (
        "Super, jetzt kommen die Mails an. Vielen Dank!\n\nGruss\nPeter\n\n"
        "Am 11.03.2025 um 10:02 schrieb Support <support@alpweb.example>:\n"
        ">> 550 5.1.1 <a.lehmann@bau.example>: Recipient address rejected: User unknown\n"
    )
    result = analyse(TriageInput(subject="AW: Unzustellbare Mails", body=body), model=model)
    assert not result.has_error_message
    assert result.error_message is None
    assert result.actions == ()


def test_the_error_sent_in_reply_to_our_request_is_found(model: ServiceModel) -> None:
    body = (
        "Hallo Frau Kunz\n\nHier die genaue Meldung, die Apple Mail anzeigt:\n\n"
        "„Die E-Mail kann nicht gesendet werden, weil der Server das Passwort abgelehnt hat.“\n\n"
        "Gruss\nStefan Vogt\n\n" + QUOTED_REQUEST
    )
    result = analyse(TriageInput(subject="Re: Apple Mail", body=body), model=model)
    assert result.has_error_message
    assert "Passwort abgelehnt" in (result.error_message or "")
    assert result.sources["has_error_message"] == "rule"
    assert "request_error_message" not in result.actions


def test_a_number_in_the_signature_is_no_callback_number_without_a_request(model: ServiceModel) -> None:
    body = "Guten Tag\n\nWie richte ich das Postfach auf dem iPhone ein?\n\nGruss\nAnna\nTel +41 44 555 91 27"
    result = analyse(TriageInput(subject="iPhone", body=body), model=model)
    assert not result.callback_requested
    assert result.callback_number is None


def test_a_bare_callback_request_asks_for_the_problem(model: ServiceModel) -> None:
    # given 'please call me' with a number and nothing else
    body = "Grüezi, können Sie mich bitte anrufen? 079 555 12 34\nMerci\nMarlies Keller"
    result = analyse(TriageInput(subject="Telefon", body=body), model=model)
    # then the number is kept and only the description is requested
    assert result.callback_requested
    assert result.callback_number == "+41795551234"
    assert not result.has_problem_description
    assert result.actions == ("request_problem_description",)


def test_a_very_short_mail_uses_the_customer_language(model: ServiceModel) -> None:
    result = analyse(TriageInput(subject="", body="Merci", customer_language="fr"), model=model)
    assert result.language == "fr"


def test_a_one_word_callback_request_asks_for_everything_missing(model: ServiceModel) -> None:
    result = analyse(TriageInput(subject="chiamatemi", body="Chiamatemi."), model=model)
    assert result.language == "it"
    assert result.callback_requested
    assert result.actions == ("request_problem_description", "request_callback_number")


def test_an_error_given_earlier_in_the_thread_is_not_asked_for_again(model: ServiceModel) -> None:
    # given the customer pasted the error in an earlier message of the ticket
    earlier = (
        "Outlook meldet: Fehler (0x800CCC0E): Die Verbindung mit dem Server konnte nicht hergestellt werden."
    )
    message = TriageInput(subject="Re: Outlook", body="Es geht immer noch nicht!", thread=(earlier,))
    # when the new, vague message is triaged
    result = analyse(message, model=model)
    # then the earlier error counts and nothing is requested again
    assert result.has_error_message
    assert "0x800CCC0E" in (result.error_message or "")
    assert "request_error_message" not in result.actions
    assert "request_problem_description" not in result.actions


def test_a_number_given_earlier_in_the_thread_completes_a_callback_request(model: ServiceModel) -> None:
    earlier = "Meine Nummer ist 079 412 33 87, bitte rufen Sie mich an. Unsere Webseite ist offline."
    message = TriageInput(
        subject="Re: Rückruf", body="Bitte rufen Sie mich endlich zurück!", thread=(earlier,)
    )
    result = analyse(message, model=model)
    assert result.callback_number == "+41794123387"
    assert "request_callback_number" not in result.actions


def test_without_a_thread_the_same_message_asks(model: ServiceModel) -> None:
    result = analyse(
        TriageInput(subject="Re: Rückruf", body="Bitte rufen Sie mich endlich zurück!"), model=model
    )
    assert "request_callback_number" in result.actions


def test_a_visible_body_is_not_stripped_again(model: ServiceModel) -> None:
    # given text the mail bridge already reduced to the reply, starting with a '>' the customer typed
    body = "> 550 5.1.1 User unknown\nDas kommt zurück, wenn ich an info@kunde.example schreibe."
    visible = analyse(TriageInput(subject="Bounce", body=body, body_is_visible=True), model=model)
    raw = analyse(TriageInput(subject="Bounce", body=body), model=model)
    assert visible.has_error_message
    assert not raw.has_error_message


def test_a_batch_gives_the_same_results_as_single_calls(model: ServiceModel) -> None:
    messages = [
        TriageInput(subject="Rechnung doppelt", body="Ich habe die Rechnung 2025-0412 zweimal erhalten."),
        TriageInput(
            subject="site down", body="hi, our site is broken since this morning. can you have a look?"
        ),
        TriageInput(subject="FTP", body="FileZilla sagt:\nAntwort: 530 Login incorrect."),
    ]
    assert analyse_batch(messages, model=model) == [analyse(m, model=model) for m in messages]


def test_a_clear_billing_question_is_not_sent_to_review(model: ServiceModel) -> None:
    body = (
        "Guten Tag\n\nIch habe heute eine Mahnung für die Rechnung 2025-0233 erhalten, obwohl ich am "
        "14. Februar per E-Banking bezahlt habe. Bitte stornieren Sie die Mahngebühr.\n\n"
        "Freundliche Grüsse\nW. Aebi"
    )
    result = analyse(TriageInput(subject="Mahnung trotz Zahlung", body=body), model=model)
    assert list(result.services) == ["billing"]
    assert not result.needs_review
    assert result.model_version == model.version


def test_missing_pipelines_fail_with_how_to_build_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRIAGE_SPACY_DIR", str(tmp_path))
    with pytest.raises(PipelineMissingError, match="make install"):
        pipeline("de")
