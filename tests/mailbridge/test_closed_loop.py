"""The closed loop end to end: a vague mail in Dovecot, real triage, our request at the sink, the answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from kombu import pools

from helpdesk.models import Direction, Ticket, TicketStatus
from mailbridge import outgoing, services
from mailbridge.models import Mailbox, OutboxKind, OutboxMail, OutboxStatus
from tests.factories import open_ticket
from tests.mailbridge.mails import make_mail
from tests.smtpsink import SmtpSink, free_port
from triage.tasks import triage_message

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CUSTOMER = "Monika Huber <monika@baeckerei.example>"
MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"
ERROR = "550 5.1.1 <info@baeckerei.example>: Recipient address rejected: User unknown"


@pytest.fixture
def support(dovecot) -> Mailbox:
    return services.mailbox_create(name="support", kind="support", url=dovecot.url())


def poll(mailbox: Mailbox, capture) -> None:
    # No broker in tests: triage and sending run in-process once the ingest commits.
    with capture(execute=True):
        services.mailbox_poll(mailbox=mailbox)


def vague_mail() -> bytes:
    return make_mail(
        sender=CUSTOMER,
        subject="E-Mail geht nicht",
        body="Grüezi\n\nE-Mail geht nicht.\n\nMonika Huber\nBäckerei Huber",
        message_id="<vague-1@baeckerei.example>",
    )


def reply_to(ours: EmailMessage, text: str, message_id: str) -> bytes:
    """Answer our mail the way a mail program does: Re: subject, threading headers, our text quoted."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in ours.get_content().splitlines())
    return make_mail(
        sender=CUSTOMER,
        subject=f"Re: {ours['Subject']}",
        body=f"{text}\n\nAm 03.11.2026 um 11:02 schrieb Support <{ours['From']}>:\n{quoted}\n",
        message_id=message_id,
        in_reply_to=ours["Message-ID"],
        references=f"{ours['References']} {ours['Message-ID']}",
    )


def first_round(dovecot, support, smtp_sink, capture) -> tuple[Ticket, EmailMessage]:
    dovecot.append(vague_mail())
    poll(support, capture)
    [ours] = smtp_sink.messages
    return Ticket.objects.get(), ours


def test_vague_mail_gets_one_threaded_request_in_german(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks
):
    # Given a vague German mail in the inbox
    dovecot.append(vague_mail())
    # When the mailbox is polled (ingest, triage, automatic answer)
    poll(support, django_capture_on_commit_callbacks)
    # Then exactly one mail went out: the acknowledgement asking for the error message, threaded
    [ours] = smtp_sink.messages
    ticket = Ticket.objects.get()
    assert smtp_sink.received[0].envelope_to == ["monika@baeckerei.example"]
    assert ours["From"] == ours["Reply-To"] == "support@example.test"
    assert ours["In-Reply-To"] == "<vague-1@baeckerei.example>"
    assert ours["References"] == "<vague-1@baeckerei.example>"
    assert ours["Message-ID"].endswith("@example.test>")
    assert ours["Auto-Submitted"] == "auto-replied"
    assert ours[outgoing.LOOP_HEADER] == "1"
    assert ticket.subject_tag in ours["Subject"]
    assert "Wir haben Ihre Nachricht erhalten" in ours["Subject"]
    body = ours.get_content()
    assert ticket.subject_tag in body
    assert "genaue Fehlermeldung" in body
    assert "Unzustellbarkeitsmeldung" in body  # what an error looks like for e-mail
    # And the ticket waits for the customer, with the missing detail flagged
    assert ticket.status == TicketStatus.WAITING
    assert ticket.language == "de"
    assert ticket.missing_error_message is True
    assert OutboxMail.objects.get().kind == OutboxKind.ACKNOWLEDGEMENT


def test_answer_with_the_error_clears_the_flag_and_returns_the_ticket_to_the_agents(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks
):
    # Given the vague mail was answered with the request
    ticket, ours = first_round(dovecot, support, smtp_sink, django_capture_on_commit_callbacks)
    # When the customer replies to it, quoting our text and adding the bounce line
    answer = f"Grüezi\n\nHier die Fehlermeldung:\n\n{ERROR}\n\nGruss Monika Huber"
    dovecot.append(reply_to(ours, answer, "<answer-1@baeckerei.example>"))
    poll(support, django_capture_on_commit_callbacks)
    # Then the answer is on the same ticket, the flag is cleared, the error stored, the ticket open again
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.messages.filter(direction=Direction.IN).count() == 2
    assert ticket.missing_error_message is False
    assert "Recipient address rejected" in ticket.error_message
    assert ticket.status == TicketStatus.OPEN
    # And no second automatic mail went out
    assert len(smtp_sink.messages) == 1
    assert OutboxMail.objects.count() == 1


def test_answer_still_without_the_error_is_not_nagged_within_the_window(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks, settings
):
    # Given the vague mail was answered with the request, and a no-nag window of a day
    settings.MAILBRIDGE_NO_NAG_HOURS = 24
    ticket, ours = first_round(dovecot, support, smtp_sink, django_capture_on_commit_callbacks)
    # When the customer replies without the error (our text, with its example error, quoted below)
    answer = "Habe es nochmals versucht, geht immer noch nicht."
    dovecot.append(reply_to(ours, answer, "<answer-2@baeckerei.example>"))
    poll(support, django_capture_on_commit_callbacks)
    # Then the reply is on the ticket, which still waits with the flag set
    ticket.refresh_from_db()
    assert ticket.messages.filter(direction=Direction.IN).count() == 2
    assert ticket.missing_error_message is True
    assert ticket.error_message == ""
    assert ticket.status == TicketStatus.WAITING
    # And no second request went out
    assert len(smtp_sink.messages) == 1
    assert OutboxMail.objects.count() == 1


def test_after_the_window_the_request_is_repeated_once_threaded_to_the_reply(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks, settings
):
    # Given no no-nag window, and the vague mail answered with the request
    settings.MAILBRIDGE_NO_NAG_HOURS = 0
    ticket, ours = first_round(dovecot, support, smtp_sink, django_capture_on_commit_callbacks)
    # When the customer replies still without the error
    answer = "Habe es nochmals versucht, geht immer noch nicht."
    dovecot.append(reply_to(ours, answer, "<answer-3@baeckerei.example>"))
    poll(support, django_capture_on_commit_callbacks)
    # Then a detail request goes out, threaded under the customer's reply, in German
    first, second = smtp_sink.messages
    assert second["In-Reply-To"] == "<answer-3@baeckerei.example>"
    assert second["References"].split() == [
        "<vague-1@baeckerei.example>",
        first["Message-ID"],
        "<answer-3@baeckerei.example>",
    ]
    assert ticket.subject_tag in second["Subject"]
    assert "Uns fehlen noch Angaben" in second["Subject"]
    assert "genaue Fehlermeldung" in second.get_content()
    assert second["Auto-Submitted"] == "auto-replied"
    assert second[outgoing.LOOP_HEADER] == "1"
    assert second["Message-ID"] != first["Message-ID"]
    assert OutboxMail.objects.order_by("pk").last().kind == OutboxKind.DETAIL_REQUEST
    assert OutboxMail.objects.filter(status=OutboxStatus.SENT).count() == 2


def test_answer_closes_the_loop_even_when_the_sender_may_get_no_more_automatic_mail(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks, settings
):
    # Given a sender allowed one automatic mail per hour, who got it: the request
    settings.MAILBRIDGE_AUTO_PER_HOUR = 1
    ticket, ours = first_round(dovecot, support, smtp_sink, django_capture_on_commit_callbacks)
    # When the answer with the error comes in
    dovecot.append(reply_to(ours, f"Fehlermeldung: {ERROR}", "<answer-4@baeckerei.example>"))
    poll(support, django_capture_on_commit_callbacks)
    # Then the ticket still goes back to the agents: the limit is about sending, not about listening
    ticket.refresh_from_db()
    assert ticket.missing_error_message is False
    assert ticket.status == TicketStatus.OPEN
    assert len(smtp_sink.messages) == 1


def test_a_crash_between_triage_and_the_answer_loses_no_acknowledgement(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks, monkeypatch
):
    # Given a worker that dies while queuing the acknowledgement of a triaged mail
    def die(**kwargs):
        raise ConnectionError("worker lost its database connection")

    monkeypatch.setattr(outgoing, "outbox_queue", die)
    dovecot.append(vague_mail())
    poll(support, django_capture_on_commit_callbacks)
    assert smtp_sink.messages == []
    # When the broker redelivers the triage task (acks_late) to a healthy worker
    monkeypatch.undo()
    message = Ticket.objects.get().messages.get()
    with django_capture_on_commit_callbacks(execute=True):
        triage_message.delay(message.pk, True)
    # Then the acknowledgement with the request goes out, once
    [ours] = smtp_sink.messages
    assert "genaue Fehlermeldung" in ours.get_content()
    assert Ticket.objects.get().status == TicketStatus.WAITING


@pytest.mark.parametrize(
    ("subject", "body", "ack", "ask"),
    [
        (
            "E-Mail geht nicht",
            "Grüezi\n\nMeine E-Mail geht nicht mehr.\n\nGruss",
            "erhalten",
            "Fehlermeldung",
        ),
        (
            "Email not working",
            "Hello,\n\nmy email is not working any more.\n\nRegards",
            "received",
            "error message",
        ),
        (
            "Messagerie en panne",
            "Bonjour,\n\nma messagerie ne fonctionne plus.\n\nCordialement",
            "reçu",
            "message d'erreur",
        ),
        (
            "Posta non funziona",
            "Buongiorno,\n\nla mia posta elettronica non funziona più.\n\nCordiali saluti",
            "ricevuto",
            "messaggio d'errore",
        ),
    ],
)
def test_each_language_gets_its_acknowledgement_and_request_in_one_mail(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks, subject, body, ack, ask
):
    dovecot.append(make_mail(sender="kunde@example.ch", subject=subject, body=body))
    poll(support, django_capture_on_commit_callbacks)
    [ours] = smtp_sink.messages
    assert ack in ours["Subject"]
    assert ask in ours.get_content()
    assert Ticket.objects.get().missing_error_message is True


def corpus(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def test_loop_protection_matrix_through_the_whole_pipeline(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks
):
    # Given automated mail of every kind in the inbox, and one ordinary customer mail among it
    automated = [
        corpus("dsn_postfix.eml"),
        corpus("bounce_exchange_unzustellbar.eml"),
        corpus("bounce_qmail.eml"),
        corpus("auto_reply_de.eml"),
        corpus("out_of_office_subject_only_fr.eml"),
        corpus("bulk_newsletter.eml"),
        corpus("read_receipt_de.eml"),
        *[
            make_mail(sender=f"robot{i}@example.org", headers=headers)
            for i, headers in enumerate(
                [
                    {"Auto-Submitted": "auto-generated"},
                    {"Auto-Submitted": "auto-replied"},
                    {"Precedence": "bulk"},
                    {"Precedence": "list"},
                    {"List-Id": "<kunden.example.org>"},
                    {"List-Unsubscribe": "<mailto:leave@example.org>"},
                    {"X-Auto-Response-Suppress": "All"},
                    {"Return-Path": "<>"},
                    # Our own acknowledgement, bounced back to us by a forwarding rule
                    {outgoing.LOOP_HEADER: "1"},
                ]
            )
        ],
        make_mail(sender="MAILER-DAEMON@mx.example.org"),
        make_mail(sender="noreply@shop.example"),
        make_mail(sender="Support <support@example.test>"),  # the mailbox itself
    ]
    dovecot.append_many([*automated, make_mail(sender="kunde@example.ch")])
    # When the mailbox is polled
    poll(support, django_capture_on_commit_callbacks)
    # Then only the customer got an answer
    assert [r.envelope_to for r in smtp_sink.received] == [["kunde@example.ch"]]
    assert dovecot.count("INBOX") == 0


@pytest.mark.parametrize(("per_hour", "per_day", "expected"), [(3, 10, 3), (50, 4, 4)])
def test_fifty_mails_from_one_sender_get_at_most_the_configured_number_of_answers(
    dovecot, support, smtp_sink, django_capture_on_commit_callbacks, settings, per_hour, per_day, expected
):
    settings.MAILBRIDGE_AUTO_PER_HOUR, settings.MAILBRIDGE_AUTO_PER_DAY = per_hour, per_day
    dovecot.append_many(
        [make_mail(subject=f"Website down {i}", body="Die Website geht nicht.") for i in range(50)]
    )
    poll(support, django_capture_on_commit_callbacks)
    assert Ticket.objects.count() == 50
    assert len(smtp_sink.messages) == expected


# --- the same loop with a real broker and a real worker process ----------------------------------------


def wait_for(condition, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def worker_smtp_port(monkeypatch) -> int:
    """The loopback port the worker process sends mail to (it reads its settings from the environment)."""
    port = free_port()
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(port))
    return port


@pytest.fixture
def broker(worker_smtp_port, celery_worker_process) -> Iterator[str]:
    """Send this process's tasks through Redis to the worker, as a deployment with a broker does."""
    from helpdesk.celery import app

    def fresh_connections() -> None:
        # Earlier tasks in this process may have built connection pools for the broker-less setting.
        pools.reset()
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=celery_worker_process, task_always_eager=False)
    fresh_connections()
    try:
        yield celery_worker_process
    finally:
        app.conf.update(saved)
        fresh_connections()


@pytest.fixture
def worker_smtp(worker_smtp_port) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=worker_smtp_port).start()
    yield sink
    sink.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_loop_through_a_real_broker_and_worker(dovecot, worker_smtp, broker):
    # Given a vague mail in the inbox; tasks go through Redis to a worker process
    support = services.mailbox_create(name="support", kind="support", url=dovecot.url())
    dovecot.append(vague_mail())
    # When the mailbox is polled (ingest commits here; triage and sending run in the worker)
    services.mailbox_poll(mailbox=support)
    wait_for(lambda: len(worker_smtp.messages) == 1, "the request at the SMTP sink")
    [ours] = worker_smtp.messages
    ticket = Ticket.objects.get()
    assert ours["In-Reply-To"] == "<vague-1@baeckerei.example>"
    assert ticket.subject_tag in ours["Subject"]
    assert "genaue Fehlermeldung" in ours.get_content()
    wait_for(lambda: Ticket.objects.get().status == TicketStatus.WAITING, "the ticket to wait")
    # And when the customer answers with the error
    dovecot.append(reply_to(ours, f"Fehlermeldung: {ERROR}", "<answer-5@baeckerei.example>"))
    services.mailbox_poll(mailbox=support)
    # Then the worker puts the ticket back to the agents and sends nothing more
    wait_for(lambda: Ticket.objects.get().status == TicketStatus.OPEN, "the ticket to open")
    ticket.refresh_from_db()
    assert ticket.missing_error_message is False
    assert len(worker_smtp.messages) == 1
    assert OutboxMail.objects.get().status == OutboxStatus.SENT


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_smtp_down_is_retried_by_the_worker_and_sent_once_when_it_is_back(broker, worker_smtp_port):
    # Given a ticket, a worker behind a broker, and an SMTP server that is down
    ticket = open_ticket(from_address="monika@baeckerei.example")
    # When an agent's reply is queued
    outbox = outgoing.agent_reply_send(ticket=ticket, author=None, text="Das Postfach ist repariert.")
    # Then the worker tries, fails, and keeps the mail queued for its retry
    wait_for(lambda: OutboxMail.objects.get(pk=outbox.pk).attempts >= 1, "the first attempt")
    outbox.refresh_from_db()
    assert outbox.status == OutboxStatus.QUEUED
    assert "refused" in outbox.last_error.lower()
    # And when the server is back, a retry sends it, exactly once
    sink = SmtpSink(port=worker_smtp_port).start()
    try:
        wait_for(lambda: OutboxMail.objects.get(pk=outbox.pk).status == OutboxStatus.SENT, "the retry")
        time.sleep(1)  # room for a stray duplicate to arrive, were there one
        assert [r.envelope_to for r in sink.received] == [["monika@baeckerei.example"]]
    finally:
        sink.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_workers_own_answer_waits_out_an_smtp_outage_and_goes_out_once(dovecot, broker, worker_smtp_port):
    # Given a worker behind a broker and an SMTP server that is down
    support = services.mailbox_create(name="support", kind="support", url=dovecot.url())
    dovecot.append(vague_mail())
    # When the mail is ingested and the worker triages it and tries to answer at once
    services.mailbox_poll(mailbox=support)
    wait_for(lambda: OutboxMail.objects.filter(attempts__gte=1).exists(), "the first attempt")
    assert OutboxMail.objects.get().status == OutboxStatus.QUEUED
    # Then, the server back, the retry sends the answer, exactly once
    sink = SmtpSink(port=worker_smtp_port).start()
    try:
        wait_for(lambda: OutboxMail.objects.get().status == OutboxStatus.SENT, "the retry")
        time.sleep(1)  # room for a stray duplicate to arrive, were there one
        [ours] = sink.messages
        assert ours["In-Reply-To"] == "<vague-1@baeckerei.example>"
    finally:
        sink.stop()
