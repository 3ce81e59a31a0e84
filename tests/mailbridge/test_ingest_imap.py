"""The bridge against a real Dovecot: nothing lost, nothing duplicated, bad mail quarantined."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from helpdesk import services as helpdesk_services
from helpdesk.models import Message, Ticket, TicketStatus
from mailbridge import services
from mailbridge.imap import ImapSession
from mailbridge.models import InboundMail, InboundStatus, Mailbox
from tests.mailbridge.mails import make_mail
from tests.mailserver import USERS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def support(dovecot) -> Mailbox:
    return services.mailbox_create(name="support", kind="support", url=dovecot.url())


@pytest.fixture
def emergency(dovecot) -> Mailbox:
    return services.mailbox_create(name="emergency", kind="emergency", url=dovecot.url(USERS[1]))


def test_fetch_ingests_and_moves_and_a_rerun_changes_nothing(dovecot, support):
    # Given three mails in the inbox
    dovecot.append_many([make_mail(subject=f"Problem {i}") for i in range(3)])
    # When the mailbox is polled twice
    first = services.mailbox_poll(mailbox=support)
    second = services.mailbox_poll(mailbox=support)
    # Then three tickets exist, the mails sit in Processed, and the rerun found nothing
    assert (first.fetched, first.counts) == (3, {"ingested": 3})
    assert (second.fetched, second.counts) == (0, {})
    assert Ticket.objects.count() == 3
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 3)
    support.refresh_from_db()
    assert support.last_poll_ok is True
    assert support.uidvalidity


def test_fetch_does_not_mark_mail_seen(dovecot, support):
    dovecot.append(make_mail())
    with ImapSession(services.mailbox_account(support)) as session:
        session.select("INBOX")
        list(session.fetch(session.uids(), max_bytes=10**6))
        flags = session.imap.get_flags(session.uids())
    assert all(b"\\Seen" not in f for f in flags.values())


def test_connection_dropped_between_commit_and_move_loses_and_duplicates_nothing(
    dovecot, support, monkeypatch
):
    # Given two mails, and a server that drops the connection just before the first MOVE
    dovecot.append_many([make_mail(subject="A"), make_mail(subject="B")])
    original_move = ImapSession.move
    calls = {"n": 0}

    def move_after_kick(self, uids, folder):
        calls["n"] += 1
        if calls["n"] == 1:
            dovecot.kick()
        return original_move(self, uids, folder)

    monkeypatch.setattr(ImapSession, "move", move_after_kick)
    # When the poll fails at the move
    with pytest.raises(Exception, match=r"socket|EOF|abort|shutting down"):
        services.mailbox_poll(mailbox=support)
    support.refresh_from_db()
    assert support.last_poll_ok is False
    assert support.last_error.startswith("abort: ")
    # Then the mails are committed and ingested, but still in the inbox
    assert Ticket.objects.count() == 2
    assert dovecot.count("INBOX") == 2
    # And the next poll only moves them: still exactly two tickets
    report = services.mailbox_poll(mailbox=support)
    assert report.fetched == 0
    assert Ticket.objects.count() == 2
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 2)


def test_crash_before_commit_leaves_the_mail_for_the_next_poll(dovecot, support, monkeypatch):
    dovecot.append(make_mail(subject="Website down"))

    def crash(**kwargs):
        raise ConnectionError("worker died")

    monkeypatch.setattr(services, "inbound_store_batch", crash)
    with pytest.raises(ConnectionError):
        services.mailbox_poll(mailbox=support)
    assert InboundMail.objects.count() == 0
    assert dovecot.count("INBOX") == 1
    monkeypatch.undo()
    services.mailbox_poll(mailbox=support)
    assert Ticket.objects.get().subject == "Website down"


def test_uidvalidity_change_does_not_duplicate(dovecot, support, monkeypatch):
    # Given a mail that was stored and ingested but, because the move failed, is still in the inbox
    dovecot.append(make_mail(subject="Stays"))
    monkeypatch.setattr(ImapSession, "move", lambda self, uids, folder: None)
    services.mailbox_poll(mailbox=support)
    monkeypatch.undo()
    assert dovecot.count("INBOX") == 1
    # When the server renumbers the folder
    dovecot.set_uidvalidity(4242)
    report = services.mailbox_poll(mailbox=support)
    # Then the mail is fetched again, recognised, moved, and still one ticket
    assert report.fetched == 1
    assert Ticket.objects.count() == 1
    assert InboundMail.objects.count() == 1
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 1)


def test_a_broken_mail_is_quarantined_and_does_not_block_the_others(dovecot, support):
    dovecot.append_many(
        [
            make_mail(subject="before"),
            b"\x00\x01\x02 this is not a mail at all",
            make_mail(subject="no sender", sender=""),
            make_mail(subject="after"),
        ]
    )
    report = services.mailbox_poll(mailbox=support)
    assert report.counts == {"ingested": 2, "quarantined": 2}
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"before", "after"}
    quarantined = InboundMail.objects.filter(status=InboundStatus.QUARANTINED)
    assert all(q.reason for q in quarantined)
    assert all(bytes(q.raw) for q in quarantined)  # the raw mail is kept
    assert (dovecot.count("Processed"), dovecot.count("Failed")) == (2, 2)


def test_oversized_mail_is_recorded_not_downloaded(dovecot, support):
    support.max_message_bytes = 5000
    support.save()
    dovecot.append_many([make_mail(subject="huge", body="x" * 20000), make_mail(subject="small")])
    report = services.mailbox_poll(mailbox=support)
    huge = InboundMail.objects.get(status=InboundStatus.OVERSIZED)
    assert huge.size > 20000
    assert len(bytes(huge.raw)) < 5000  # only the header was fetched
    assert huge.subject == "huge"
    assert "over the limit" in huge.reason
    assert Ticket.objects.get().subject == "small"
    assert report.moved == 2
    assert dovecot.count("Failed") == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_pollers_at_once_make_no_duplicate(dovecot, support):
    dovecot.append_many([make_mail(subject=f"Mail {i}") for i in range(20)])
    errors: list[BaseException] = []

    def poll():
        try:
            services.mailbox_poll(mailbox=Mailbox.objects.get(pk=support.pk))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    services.mailbox_poll(mailbox=support)
    assert errors == []
    assert Ticket.objects.count() == 20
    assert InboundMail.objects.count() == 20


def test_storing_the_same_batch_twice_is_harmless(dovecot, support):
    dovecot.append(make_mail())
    with ImapSession(services.mailbox_account(support)) as session:
        validity = session.select("INBOX")
        mails = list(session.fetch(session.uids(), max_bytes=10**6))
    first, _ = services.inbound_store_batch(mailbox=support, uidvalidity=validity, mails=mails)
    second, already = services.inbound_store_batch(mailbox=support, uidvalidity=validity, mails=mails)
    assert InboundMail.objects.count() == 1
    assert [r.pk for r in first] == [r.pk for r in second]
    assert already == []


def test_reply_threads_by_subject_reference(dovecot, support):
    dovecot.append(make_mail(subject="Mails kommen nicht an", message_id="<first@baeckerei.example>"))
    services.mailbox_poll(mailbox=support)
    ticket = Ticket.objects.get()
    # A reply with a fresh Message-ID and no threading headers, the reference behind German prefixes
    dovecot.append(make_mail(subject=f"AW: WG: RE:RE: {ticket.subject_tag} Mails kommen nicht an"))
    services.mailbox_poll(mailbox=support)
    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 2


def test_reply_threads_by_headers_only_even_to_our_own_message(dovecot, support):
    dovecot.append(make_mail(subject="FTP", message_id="<q@baeckerei.example>"))
    services.mailbox_poll(mailbox=support)
    ticket = Ticket.objects.get()
    # Our outgoing answer is stored on the ticket; the customer's client replies to it
    helpdesk_services.message_add(
        ticket=ticket,
        message=helpdesk_services.MessageData(
            direction="out", kind="agent_reply", subject="Re: FTP", message_id="<ours@hosting.example>"
        ),
    )
    dovecot.append(make_mail(subject="Antwort", in_reply_to="<ours@hosting.example>"))
    dovecot.append(make_mail(subject="Nochmals", references="<unknown@x> <q@baeckerei.example>"))
    services.mailbox_poll(mailbox=support)
    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 4


def test_reference_typed_by_a_stranger_opens_a_linked_ticket(dovecot, support):
    dovecot.append(make_mail(subject="Website"))
    services.mailbox_poll(mailbox=support)
    ticket = Ticket.objects.get()
    dovecot.append(make_mail(subject=f"Re: {ticket.subject_tag}", sender="mallory@evil.example"))
    services.mailbox_poll(mailbox=support)
    other = Ticket.objects.exclude(pk=ticket.pk).get()
    assert other.linked_to == ticket
    assert ticket.messages.count() == 1


def test_reply_to_a_closed_ticket_reopens_it_or_opens_a_linked_one_after_the_window(
    dovecot, support, settings
):
    dovecot.append(make_mail(subject="DNS", message_id="<dns@baeckerei.example>"))
    services.mailbox_poll(mailbox=support)
    ticket = Ticket.objects.get()
    helpdesk_services.ticket_set_status(ticket=ticket, status=TicketStatus.CLOSED)
    dovecot.append(make_mail(subject="Re: DNS", in_reply_to="<dns@baeckerei.example>"))
    services.mailbox_poll(mailbox=support)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    # After the window a reply starts a new ticket that points back
    helpdesk_services.ticket_set_status(ticket=ticket, status=TicketStatus.CLOSED)
    settings.HELPDESK_REOPEN_WITHIN_DAYS = 0
    dovecot.append(make_mail(subject="Re: DNS again", in_reply_to="<dns@baeckerei.example>"))
    services.mailbox_poll(mailbox=support)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert Ticket.objects.get(linked_to=ticket).subject == "Re: DNS again"


def test_emergency_mailbox_gives_urgent_tickets_and_one_ticket_for_a_mail_to_both(
    dovecot, support, emergency
):
    mail = make_mail(subject="Alles down!", message_id="<both@baeckerei.example>")
    dovecot.append(mail, user=USERS[1])
    dovecot.append(mail, user=USERS[0])
    services.mailbox_poll(mailbox=emergency)
    services.mailbox_poll(mailbox=support)
    ticket = Ticket.objects.get()
    assert (ticket.queue.slug, ticket.priority) == ("emergency", "urgent")
    assert Message.objects.count() == 1
    assert set(InboundMail.objects.values_list("status", flat=True)) == {"ingested", "duplicate"}
    assert dovecot.count("Processed") == 1


def test_auto_reply_is_recorded_on_its_ticket_and_opens_none(dovecot, support):
    dovecot.append(make_mail(subject="Frage", message_id="<frage@baeckerei.example>"))
    dovecot.append(
        make_mail(
            subject="Automatische Antwort: Ihre Nachricht",
            sender="robot@other.example",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    dovecot.append(
        make_mail(
            subject="Abwesenheitsnotiz",
            in_reply_to="<frage@baeckerei.example>",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    report = services.mailbox_poll(mailbox=support)
    assert report.counts == {"ingested": 2, "automated": 1}
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("kind", flat=True)) == ["customer", "automated"]


def test_idle_wakes_on_new_mail(dovecot, support):
    with ImapSession(services.mailbox_account(support)) as session:
        session.select("INBOX")
        timer = threading.Timer(0.5, lambda: dovecot.append(make_mail()))
        timer.start()
        woke = session.wait_for_mail(timeout=10)
        timer.join()
    assert woke is True


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_listener_ingests_mail_arriving_while_it_idles(dovecot, support):
    from mailbridge.listener import mailbox_listen

    stop = threading.Event()
    thread = threading.Thread(
        target=mailbox_listen, kwargs={"mailbox": support, "stop": stop, "idle_seconds": 1}, daemon=True
    )
    thread.start()
    try:
        dovecot.append(make_mail(subject="Arrives during IDLE"))
        for _ in range(100):
            if Ticket.objects.filter(subject="Arrives during IDLE").exists():
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert Ticket.objects.filter(subject="Arrives during IDLE").exists()
