"""Outgoing mail against a real SMTP sink: threading, languages, loop protection, retries, injection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk import services as helpdesk_services
from helpdesk.models import Direction, MessageKind, Queue, TicketStatus
from mailbridge import outgoing, services
from mailbridge.models import InboundMail, InboundStatus, Mailbox, OutboxMail, OutboxStatus
from tests.factories import CustomerFactory
from tests.mailbridge.mails import make_mail

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def support_mailbox() -> Mailbox:
    return services.mailbox_create(
        name="support", kind="support", url="imap://support%40hosting.example:x@127.0.0.1:1/INBOX"
    )


def ingest(raw: bytes, mailbox: Mailbox) -> InboundMail:
    row = next(services.mail_import(mailbox=mailbox, raws=[raw]))
    assert row is not None
    return row


def customer_mail(mailbox: Mailbox, language: str = "de", **kw: object):
    inbound = ingest(make_mail(**kw), mailbox)  # type: ignore[arg-type]
    message = inbound.ticket_message
    assert message is not None
    ticket = message.ticket
    ticket.customer.language = language
    ticket.customer.save()
    ticket.language = language
    ticket.save()
    helpdesk_services.ticket_set_services(ticket=ticket, services=["email"], source="model")
    return ticket, message


def test_ack_with_request_is_one_threaded_mail(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks
):
    ticket, message = customer_mail(support_mailbox, message_id="<m1@baeckerei.example>")
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(
            ticket=ticket, message=message, actions=["request_error_message"], new_ticket=True
        )
    [mail] = smtp_sink.messages
    assert mail["To"] == "monika@baeckerei.example"
    assert mail["From"] == "support@hosting.example"
    assert mail["Reply-To"] == "support@hosting.example"
    assert mail["In-Reply-To"] == "<m1@baeckerei.example>"
    assert "<m1@baeckerei.example>" in mail["References"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail[outgoing.LOOP_HEADER] == "1"
    assert mail["Message-ID"].endswith("@hosting.example>")
    assert ticket.subject_tag in mail["Subject"]
    body = mail.get_content()
    assert "genaue Fehlermeldung" in body
    assert "Unzustellbarkeitsmeldung" in body  # the e-mail specific hint
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    # The sent mail is on the ticket, so a reply to it threads back
    stored = ticket.messages.get(message_id=mail["Message-ID"])
    assert (stored.direction, stored.kind) == (Direction.OUT, MessageKind.AUTO_REPLY)
    assert OutboxMail.objects.get().status == OutboxStatus.SENT


@pytest.mark.parametrize(
    ("language", "ack", "ask"),
    [
        ("de", "Wir haben Ihre Nachricht erhalten", "Telefonnummer"),
        ("en", "We received your message", "phone number"),
        ("fr", "Nous avons bien reçu votre message", "numéro de téléphone"),
        ("it", "Abbiamo ricevuto il suo messaggio", "numero di telefono"),
    ],
)
def test_ack_in_the_customers_language(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, language, ack, ask
):
    ticket, message = customer_mail(support_mailbox, language=language)
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(
            ticket=ticket, message=message, actions=["request_callback_number"], new_ticket=True
        )
    [mail] = smtp_sink.messages
    assert ack in mail["Subject"]
    assert ask in mail.get_content()


@pytest.mark.parametrize(
    ("language", "subject", "ask", "hint"),
    [
        ("de", "Uns fehlen noch Angaben", "genaue Fehlermeldung", "Unzustellbarkeitsmeldung"),
        ("en", "We still need a few details", "exact error message", "bounce message"),
        ("fr", "Il nous manque encore quelques informations", "message d'erreur exact", "non-remise"),
        ("it", "Ci mancano ancora alcune informazioni", "messaggio d'errore esatto", "mancato recapito"),
    ],
)
def test_detail_request_on_a_reply_in_the_customers_language_and_threaded(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, language, subject, ask, hint
):
    # Given a ticket whose first mail asked for nothing, and the customer's reply that lacks the error
    ticket, _ = customer_mail(support_mailbox, language=language, message_id="<first@baeckerei.example>")
    reply = helpdesk_services.message_add(
        ticket=ticket,
        message=helpdesk_services.MessageData(
            from_address="monika@baeckerei.example",
            subject=f"Re: {ticket.subject_tag} {ticket.subject}",
            message_id="<reply@baeckerei.example>",
            references=["<first@baeckerei.example>"],
            text="?",
        ),
    )
    # When triage found the error missing
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(
            ticket=ticket, message=reply, actions=["request_error_message"], new_ticket=False
        )
    # Then one detail request goes out in the customer's language, threaded under the reply
    [mail] = smtp_sink.messages
    assert mail["Subject"].startswith(f"{ticket.subject_tag} {subject}")
    assert ask in mail.get_content()
    assert hint in mail.get_content()
    assert mail["In-Reply-To"] == "<reply@baeckerei.example>"
    assert mail["References"].split() == ["<first@baeckerei.example>", "<reply@baeckerei.example>"]
    assert (mail["Auto-Submitted"], mail[outgoing.LOOP_HEADER]) == ("auto-replied", "1")
    assert OutboxMail.objects.get().kind == "request"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING


def test_ack_without_missing_details_asks_for_nothing(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks
):
    ticket, message = customer_mail(support_mailbox, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(ticket=ticket, message=message, actions=[], new_ticket=True)
    [mail] = smtp_sink.messages
    assert "we still need" not in mail.get_content()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW


def test_emergency_ack_says_what_happens_next(smtp_sink, support_mailbox, django_capture_on_commit_callbacks):
    ticket, message = customer_mail(support_mailbox, language="en")
    helpdesk_services.ticket_move(ticket=ticket, queue=Queue.objects.get(slug="emergency"))
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(ticket=ticket, message=message, actions=[], new_ticket=True)
    assert "on-call team" in smtp_sink.messages[0].get_content()


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated"},
        {"Auto-Submitted": "auto-notified; owner-email=x@example.org"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"List-Id": "<news.example.org>"},
        {"List-Unsubscribe": "<mailto:unsub@example.org>"},
        {"X-Auto-Response-Suppress": "OOF"},
        {outgoing.LOOP_HEADER: "1"},
        {"Return-Path": "<>"},
    ],
)
def test_loop_protection_header_matrix_sends_nothing(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, headers
):
    inbound = ingest(make_mail(headers=headers), support_mailbox)
    message = inbound.ticket_message
    if message is None:
        # Recognised as automated by the parser already: no ticket, nothing to answer.
        assert inbound.status in (InboundStatus.AUTOMATED, InboundStatus.INGESTED)
        assert smtp_sink.messages == []
        return
    with django_capture_on_commit_callbacks(execute=True):
        result = outgoing.ticket_auto_respond(
            ticket=message.ticket, message=message, actions=["request_error_message"], new_ticket=True
        )
    assert result is None
    assert smtp_sink.messages == []


@pytest.mark.parametrize("headers", [{}, {"Auto-Submitted": "no"}, {"Precedence": "first-class"}])
def test_ordinary_mail_is_answered_so_the_matrix_above_means_something(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, headers
):
    inbound = ingest(make_mail(headers=headers), support_mailbox)
    message = inbound.ticket_message
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(
            ticket=message.ticket, message=message, actions=["request_error_message"], new_ticket=True
        )
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize(("relays", "answered"), [(0, True), (4000, False)])
def test_loop_header_is_seen_however_long_the_header_before_it(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, relays, answered
):
    # Given a stored mail whose header may be longer than the part read first, with a big body
    inbound = ingest(make_mail(body="Seit gestern kommen keine Mails an.\n" * 4000), support_mailbox)
    received = b"".join(b"Received: from relay%d.example by mx.example\r\n" % i for i in range(relays))
    loop = f"{outgoing.LOOP_HEADER}: 1\r\n".encode() if relays else b""
    InboundMail.objects.filter(pk=inbound.pk).update(raw=received + loop + bytes(inbound.raw))
    message = inbound.ticket_message
    # When the answer is due
    with django_capture_on_commit_callbacks(execute=True):
        result = outgoing.ticket_auto_respond(
            ticket=message.ticket, message=message, actions=["request_error_message"], new_ticket=True
        )
    # Then our loop header deep in the header still stops it, and a long body alone does not
    assert (result is not None) is answered
    assert len(smtp_sink.messages) == int(answered)


@pytest.mark.parametrize(
    "sender",
    ["MAILER-DAEMON@mx.example", "postmaster@example.ch", "noreply@shop.example", "support@hosting.example"],
)
def test_no_automatic_mail_to_robots_or_ourselves(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, sender
):
    with django_capture_on_commit_callbacks(execute=True):
        inbound = ingest(make_mail(sender=sender), support_mailbox)
        message = inbound.ticket_message
        if message is not None:  # not already recognised as automated by the parser
            result = outgoing.ticket_auto_respond(
                ticket=message.ticket, message=message, actions=[], new_ticket=True
            )
            assert result is None
    assert smtp_sink.messages == []


@pytest.mark.parametrize("sender", ["notfall@hosting.example", "Desk@Hosting.Example"])
def test_no_automatic_mail_to_any_of_our_own_addresses(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, settings, sender
):
    # Given a second mailbox and a default sender of their own
    services.mailbox_create(
        name="notfall", kind="emergency", url="imap://notfall%40hosting.example:x@127.0.0.1:1/INBOX"
    )
    settings.DEFAULT_FROM_EMAIL = "desk@hosting.example"
    inbound = ingest(make_mail(sender=sender), support_mailbox)
    message = inbound.ticket_message
    with django_capture_on_commit_callbacks(execute=True):
        result = outgoing.ticket_auto_respond(
            ticket=message.ticket, message=message, actions=["request_error_message"], new_ticket=True
        )
    assert result is None
    assert smtp_sink.messages == []


def test_fifty_mails_from_one_sender_get_at_most_the_configured_number(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, settings
):
    settings.MAILBRIDGE_AUTO_PER_HOUR = 3
    for i in range(50):
        ticket, message = customer_mail(support_mailbox, subject=f"Hilfe {i}")
        with django_capture_on_commit_callbacks(execute=True):
            outgoing.ticket_auto_respond(ticket=ticket, message=message, actions=[], new_ticket=True)
    assert len(smtp_sink.messages) == 3


def test_agent_replies_are_never_rate_limited(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks, settings
):
    settings.MAILBRIDGE_AUTO_PER_HOUR = 0
    ticket, _ = customer_mail(support_mailbox)
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.agent_reply_send(
            ticket=ticket,
            author=None,
            text="Wir haben das Postfach repariert.",
            attachments=[helpdesk_services.AttachmentData("anleitung.txt", "text/plain", b"Schritt 1")],
        )
    [mail] = smtp_sink.messages
    assert mail["Auto-Submitted"] is None
    assert mail["Subject"].startswith(f"{ticket.subject_tag} Re: ")
    # Threaded under the customer's mail, from the mailbox it came in through, with our loop header
    customer = ticket.messages.get(direction=Direction.IN)
    assert mail["In-Reply-To"] == customer.message_id
    assert mail["References"].split() == [customer.message_id]
    assert mail["From"] == mail["Reply-To"] == "support@hosting.example"
    assert mail["Message-ID"].endswith("@hosting.example>")
    assert mail[outgoing.LOOP_HEADER] == "1"
    assert ticket.messages.get(message_id=mail["Message-ID"]).kind == MessageKind.AGENT_REPLY
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "anleitung.txt"
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None


def test_smtp_down_is_retried_and_sent_later_exactly_once(support_mailbox, settings):
    from tests.smtpsink import SmtpSink, free_port

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    ticket, _ = customer_mail(support_mailbox)
    outbox = outgoing.outbox_queue(
        ticket=ticket, kind="ack", to=["monika@baeckerei.example"], subject="Hi", text="x"
    )
    # The server is down: the row goes back to the queue and the task is told to retry
    with pytest.raises(outgoing.TransientSendError):
        outgoing.outbox_send(outbox_id=outbox.pk)
    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (OutboxStatus.QUEUED, 1)
    assert "Connection" in outbox.last_error or "refused" in outbox.last_error.lower()
    # The server is back: the retry sends it, a redelivered task sends nothing more
    sink = SmtpSink(port=port).start()
    try:
        assert outgoing.outbox_send(outbox_id=outbox.pk).status == OutboxStatus.SENT
        assert outgoing.outbox_send(outbox_id=outbox.pk).status == OutboxStatus.SENT
        assert len(sink.messages) == 1
    finally:
        sink.stop()


def down_port(settings) -> int:
    """Point Django's mail at a loopback port nothing listens on; return it."""
    from tests.smtpsink import free_port

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    return port


def test_without_a_broker_smtp_down_leaves_the_mail_queued_after_one_attempt(
    support_mailbox, settings, django_capture_on_commit_callbacks
):
    # Given no broker (tasks in-process) and an SMTP server that is down
    assert settings.CELERY_TASK_ALWAYS_EAGER
    down_port(settings)
    ticket, _ = customer_mail(support_mailbox)
    # When a mail is queued and its task runs
    with django_capture_on_commit_callbacks(execute=True):
        outbox = outgoing.outbox_queue(
            ticket=ticket, kind="ack", to=["monika@baeckerei.example"], subject="Hi", text="x"
        )
    # Then it was tried once (no burst of retries in this process), and waits with the error and its turn
    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (OutboxStatus.QUEUED, 1)
    assert "refused" in outbox.last_error.lower()
    assert outbox.claimed_until > timezone.now()


def test_without_a_broker_the_next_send_and_send_stuck_deliver_what_waited_exactly_once(
    support_mailbox, settings, django_capture_on_commit_callbacks
):
    from mailbridge.tasks import send_stuck
    from tests.smtpsink import SmtpSink

    # Given two mails that waited through an outage, one of them due for its retry
    port = down_port(settings)
    ticket, _ = customer_mail(support_mailbox)
    with django_capture_on_commit_callbacks(execute=True):
        due = outgoing.outbox_queue(
            ticket=ticket, kind="ack", to=["a@baeckerei.example"], subject="A", text="a"
        )
        later = outgoing.outbox_queue(
            ticket=ticket, kind="ack", to=["b@baeckerei.example"], subject="B", text="b"
        )
    OutboxMail.objects.filter(pk=due.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    sink = SmtpSink(port=port).start()
    try:
        # When the server is back and the next mail goes out
        with django_capture_on_commit_callbacks(execute=True):
            outgoing.outbox_queue(
                ticket=ticket, kind="ack", to=["c@baeckerei.example"], subject="C", text="c"
            )
        # Then the due one went out with it; the other keeps its turn
        assert sorted(r.envelope_to[0] for r in sink.received) == [
            "a@baeckerei.example",
            "c@baeckerei.example",
        ]
        later.refresh_from_db()
        assert later.status == OutboxStatus.QUEUED
        # And when its turn has come, the periodic sweep sends it, and a second sweep sends nothing again
        OutboxMail.objects.filter(pk=later.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
        send_stuck.delay()
        send_stuck.delay()
        assert sorted(r.envelope_to[0] for r in sink.received) == [
            "a@baeckerei.example",
            "b@baeckerei.example",
            "c@baeckerei.example",
        ]
    finally:
        sink.stop()
    assert set(OutboxMail.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_a_lost_retry_is_queued_again_by_the_sweep_after_its_turn(support_mailbox, monkeypatch):
    # Given a mail whose retry was due long ago but never ran (the broker lost it)
    ticket, _ = customer_mail(support_mailbox)
    outbox = outgoing.outbox_queue(
        ticket=ticket, kind="ack", to=["a@baeckerei.example"], subject="A", text="a"
    )
    waiting = outgoing.outbox_queue(
        ticket=ticket, kind="ack", to=["b@baeckerei.example"], subject="B", text="b"
    )
    OutboxMail.objects.filter(pk=outbox.pk).update(
        attempts=1, claimed_until=timezone.now() - timedelta(minutes=6)
    )
    OutboxMail.objects.filter(pk=waiting.pk).update(
        attempts=1, claimed_until=timezone.now() + timedelta(seconds=9)
    )
    queued: list[int] = []
    monkeypatch.setattr(outgoing, "_enqueue", queued.append)
    # When the sweep runs
    outgoing.outbox_requeue_waiting()
    # Then only the lost one is queued again; the other still has its retry coming
    assert queued == [outbox.pk]


def test_retries_back_off_and_give_up_after_the_last(support_mailbox, settings):
    assert [outgoing.send_retry_delay(attempts=n).total_seconds() for n in (1, 2, 3, 7, 30)] == [
        10,
        20,
        40,
        600,
        600,
    ]
    down_port(settings)
    ticket, _ = customer_mail(support_mailbox)
    outbox = outgoing.outbox_queue(
        ticket=ticket, kind="ack", to=["a@baeckerei.example"], subject="A", text="a"
    )
    OutboxMail.objects.filter(pk=outbox.pk).update(
        attempts=outgoing.SEND_MAX_RETRIES, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert outgoing.outbox_send_due() == 0
    outbox.refresh_from_db()
    assert outbox.status == OutboxStatus.FAILED
    assert outbox.last_error.startswith("gave up after retries")


def test_greylisting_is_retried_not_failed(smtp_sink, support_mailbox):
    ticket, _ = customer_mail(support_mailbox)
    outbox = outgoing.outbox_queue(
        ticket=ticket, kind="ack", to=["greylist-me@example.ch"], subject="x", text="x"
    )
    with pytest.raises(outgoing.TransientSendError):
        outgoing.outbox_send(outbox_id=outbox.pk)
    outbox.refresh_from_db()
    assert outbox.status == OutboxStatus.QUEUED
    assert "450" in outbox.last_error
    assert outgoing.outbox_send(outbox_id=outbox.pk).status == OutboxStatus.SENT
    assert len(smtp_sink.messages) == 1


def test_a_batch_over_one_connection_goes_on_after_a_refused_header_and_a_refused_recipient(
    smtp_sink, support_mailbox
):
    ticket, _ = customer_mail(support_mailbox)
    mails = [
        outgoing.outbox_queue(
            ticket=ticket, kind="ack", to=["a@baeckerei.example"], subject="A\nBcc: v@evil.example", text="x"
        ),
        outgoing.outbox_queue(ticket=ticket, kind="ack", to=["reject-me@example.ch"], subject="B", text="x"),
        outgoing.outbox_queue(ticket=ticket, kind="ack", to=["c@baeckerei.example"], subject="C", text="x"),
        outgoing.outbox_queue(ticket=ticket, kind="ack", to=["d@baeckerei.example"], subject="D", text="x"),
    ]
    assert outgoing.outbox_send_batch(outbox_ids=[m.pk for m in mails]) == 2
    statuses = [OutboxMail.objects.get(pk=m.pk).status for m in mails]
    assert statuses == [OutboxStatus.FAILED, OutboxStatus.FAILED, OutboxStatus.SENT, OutboxStatus.SENT]
    assert [r.envelope_to for r in smtp_sink.received] == [["c@baeckerei.example"], ["d@baeckerei.example"]]
    # One SMTP session carried both
    assert len({r.session for r in smtp_sink.received}) == 1


def test_header_injection_is_refused_and_the_outbox_goes_on(smtp_sink, support_mailbox):
    ticket, _ = customer_mail(support_mailbox)
    bad = outgoing.outbox_queue(
        ticket=ticket,
        kind="ack",
        to=["monika@baeckerei.example"],
        subject="Hello\nBcc: victim@evil.example",
        text="x",
    )
    good = outgoing.outbox_queue(
        ticket=ticket, kind="ack", to=["monika@baeckerei.example"], subject="Fine", text="y"
    )
    assert outgoing.outbox_send(outbox_id=bad.pk).status == OutboxStatus.FAILED
    assert outgoing.outbox_send(outbox_id=good.pk).status == OutboxStatus.SENT
    assert [r.envelope_to for r in smtp_sink.received] == [["monika@baeckerei.example"]]
    bad.refresh_from_db()
    assert "injection" in bad.last_error


def test_encoded_newline_in_a_customer_subject_cannot_inject(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks
):
    raw = (
        b"From: Eve <eve@example.ch>\r\nTo: support@hosting.example\r\nMessage-ID: <inj@example.ch>\r\n"
        b"Subject: =?utf-8?q?Hello=0ABcc:_victim@evil.example?=\r\n\r\nHilfe\r\n"
    )
    inbound = ingest(raw, support_mailbox)
    message = inbound.ticket_message
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(ticket=message.ticket, message=message, actions=[], new_ticket=True)
    assert [r.envelope_to for r in smtp_sink.received] == [["eve@example.ch"]]
    assert smtp_sink.messages[0]["Bcc"] is None


def test_permanent_smtp_error_marks_failed_and_resend_works(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks
):
    ticket, _ = customer_mail(support_mailbox)
    invalid = outgoing.outbox_queue(ticket=ticket, kind="ack", to=["nobody@"], subject="x", text="x")
    assert outgoing.outbox_send(outbox_id=invalid.pk).status == OutboxStatus.FAILED
    outbox = outgoing.outbox_queue(
        ticket=ticket, kind="ack", to=["reject-me@example.ch"], subject="x", text="x"
    )
    assert outgoing.outbox_send(outbox_id=outbox.pk).status == OutboxStatus.FAILED
    outbox.refresh_from_db()
    assert "550" in outbox.last_error
    OutboxMail.objects.filter(pk=outbox.pk).update(to=["monika@baeckerei.example"])
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.outbox_resend(outbox=outbox)
    outbox.refresh_from_db()
    assert outbox.status == OutboxStatus.SENT
    assert len(smtp_sink.messages) == 1


def test_no_second_request_within_the_window_then_flags_clear(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks
):
    ticket, message = customer_mail(support_mailbox, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        outgoing.ticket_auto_respond(
            ticket=ticket, message=message, actions=["request_error_message"], new_ticket=True
        )
    reply = helpdesk_services.message_add(
        ticket=ticket,
        message=helpdesk_services.MessageData(from_address="monika@baeckerei.example", text="still broken"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            outgoing.ticket_auto_respond(
                ticket=ticket, message=reply, actions=["request_error_message"], new_ticket=False
            )
            is None
        )
    assert len(smtp_sink.messages) == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    answer = helpdesk_services.message_add(
        ticket=ticket,
        message=helpdesk_services.MessageData(
            from_address="monika@baeckerei.example", text="550 5.1.1 User unknown"
        ),
    )
    outgoing.ticket_auto_respond(ticket=ticket, message=answer, actions=[], new_ticket=False)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert len(smtp_sink.messages) == 1


def test_oversized_mail_gets_a_polite_notice(smtp_sink, support_mailbox, django_capture_on_commit_callbacks):
    support_mailbox.max_message_bytes = 2**20
    support_mailbox.save()
    CustomerFactory(language="fr", email__address="monika@baeckerei.example")
    with django_capture_on_commit_callbacks(execute=True):
        inbound = ingest(make_mail(subject="Captures", body="x" * (2**20 + 500_000)), support_mailbox)
    assert inbound.status == InboundStatus.OVERSIZED
    [mail] = smtp_sink.messages
    assert "trop volumineux" in mail["Subject"]
    assert "jusqu'à 1 Mo" in mail.get_content()
    assert mail["Auto-Submitted"] == "auto-replied"
    # Threaded under the refused mail, from the mailbox that refused it
    assert mail["In-Reply-To"] == inbound.message_id
    assert mail["References"] == inbound.message_id
    assert mail["From"] == mail["Reply-To"] == "support@hosting.example"
    assert mail["Message-ID"].endswith("@hosting.example>")
    assert mail[outgoing.LOOP_HEADER] == "1"


def test_size_notice_goes_where_a_reply_would_go(
    smtp_sink, support_mailbox, django_capture_on_commit_callbacks
):
    # Given an oversized mail whose From reads as two addresses (CVE-2023-27043)
    support_mailbox.max_message_bytes = 2**20
    support_mailbox.save()
    raw = make_mail(sender="alice@example.org <bob@evil.example>", body="x" * (2**20 + 1000))
    # When it is refused
    with django_capture_on_commit_callbacks(execute=True):
        ingest(raw, support_mailbox)
    # Then the notice goes to the angle-bracket address, as the parser reads it
    [mail] = smtp_sink.messages
    assert mail["To"] == "bob@evil.example"
