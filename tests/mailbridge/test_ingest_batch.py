"""Ingestion a chunk at a time: one commit per chunk, a savepoint per mail, several workers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from helpdesk.models import CustomerEmail, Message, Ticket
from mailbridge import ingest, services, tasks
from mailbridge.imap import FetchedMail, uid_sets
from mailbridge.models import InboundMail, Mailbox
from tests.factories import CustomerFactory
from tests.mailbridge.mails import make_mail

pytestmark = pytest.mark.django_db

UNREACHABLE = "imap://support%40example.test:secret@127.0.0.1:9/INBOX"


@pytest.fixture
def mailbox() -> Mailbox:
    return services.mailbox_create(name="support", kind="support", url=UNREACHABLE)


@pytest.fixture
def without_triage() -> Iterator[None]:
    """Ingestion alone: in transactional tests the triage hook would run (and answer) after each commit."""
    from helpdesk.signals import customer_message_received
    from triage.apps import _on_message_received

    customer_message_received.disconnect(dispatch_uid="triage_on_message_received")
    yield
    customer_message_received.connect(_on_message_received, dispatch_uid="triage_on_message_received")


def store(mailbox: Mailbox, raws: list[bytes], *, first_uid: int = 1) -> list[InboundMail]:
    """Commit raw mails as step 1 does, without ingesting them."""
    mails = [FetchedMail(first_uid + n, len(raw), raw, oversized=False) for n, raw in enumerate(raws)]
    stored, _ = services.inbound_store_batch(mailbox=mailbox, uidvalidity=1, mails=mails)
    return sorted(stored, key=lambda row: row.pk)


def count_commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    commits = [0]
    original: Callable[[], None] = connection.commit

    def commit() -> None:
        commits[0] += 1
        original()

    monkeypatch.setattr(connection, "commit", commit)
    return commits


def bounce(*, recipient: str, original_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: support@example.test\r\nSubject: Undelivered Mail\r\n"
        "Message-ID: <dsn-1@mx.example.net>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_id}\r\nSubject: Re: Ihre Anfrage\r\n--b--\r\n"
    ).encode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_chunk_commits_once_and_a_broken_mail_quarantines_only_itself(mailbox, monkeypatch, without_triage):
    # Given five stored mails, the third with a sender address too long for the database
    raws = [make_mail(subject=f"Mail {n}", sender=f"kunde{n}@example.ch") for n in range(5)]
    raws[2] = make_mail(subject="Mail 2", sender=f"{'x' * 300}@example.ch")
    rows = store(mailbox, raws)
    commits = count_commits(monkeypatch)
    # When they are ingested
    done = ingest.inbound_ingest_pending(mailbox=mailbox)
    # Then four tickets exist, the third mail is quarantined with the database's reason, the rest of its
    # chunk is not: one commit for the chunk, one for the claim that found nothing more
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Mail 0",
        "Mail 1",
        "Mail 3",
        "Mail 4",
    ]
    assert [done[row.pk] for row in rows] == ["ingested", "ingested", "quarantined", "ingested", "ingested"]
    broken = InboundMail.objects.get(pk=rows[2].pk)
    assert "DataError" in broken.reason
    assert bytes(broken.raw) == raws[2]
    assert commits[0] == 2
    assert set(InboundMail.objects.values_list("attempts", flat=True)) == {1}


def test_a_chunk_with_replies_files_each_mail_as_one_at_a_time_would(mailbox):
    # Given an original, its reply, a stranger typing its reference later, and a duplicate Message-ID
    store(mailbox, [make_mail(subject="Website down", message_id="<orig@baeckerei.example>")])
    ingest.inbound_ingest_pending(mailbox=mailbox)
    ticket = Ticket.objects.get()
    rows = store(
        mailbox,
        [
            make_mail(subject="Nachtrag", in_reply_to="<orig@baeckerei.example>"),
            make_mail(subject="Neu", message_id="<neu@baeckerei.example>"),
            make_mail(subject="Re: Neu", references="<neu@baeckerei.example>", message_id="<re@b.example>"),
            make_mail(subject=f"Re: {ticket.subject_tag}", sender="mallory@evil.example"),
        ],
        first_uid=10,
    )
    # When they are ingested in one chunk
    ingest.inbound_ingest_pending(mailbox=mailbox)
    # Then the reply joined the first ticket, the second mail opened one its reply joined, and the
    # stranger got a ticket of their own, linked
    assert ticket.messages.count() == 2
    new = Ticket.objects.get(subject="Neu")
    assert list(new.messages.values_list("subject", flat=True)) == ["Neu", "Re: Neu"]
    assert Ticket.objects.get(customer__emails__address="mallory@evil.example").linked_to == ticket
    assert set(InboundMail.objects.filter(pk__in=[r.pk for r in rows]).values_list("status", flat=True)) == {
        "ingested"
    }


def test_bounces_of_a_chunk_mark_their_addresses_undeliverable(mailbox):
    customer = CustomerFactory()
    CustomerEmail.objects.create(customer=customer, address="Gone@Example.ch")
    store(mailbox, [bounce(recipient="gone@example.ch", original_id="<ours@hosting.example>")])
    done = ingest.inbound_ingest_pending(mailbox=mailbox)
    assert list(done.values()) == ["automated"]
    assert CustomerEmail.objects.get(address="Gone@Example.ch").undeliverable is True


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_claimers_never_ingest_the_same_mail_twice(mailbox, without_triage):
    # Given 60 stored mails
    rows = store(mailbox, [make_mail(subject=f"Mail {n}", sender=f"k{n % 7}@example.ch") for n in range(60)])
    results: list[dict[int, str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(
                ingest.inbound_ingest_pending(mailbox=Mailbox.objects.get(pk=mailbox.pk), chunk_size=7)
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    # When three workers ingest at once, in small chunks
    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then each mail was taken by exactly one worker and filed once
    assert errors == []
    taken = [pk for result in results for pk in result]
    assert sorted(taken) == sorted(row.pk for row in rows)
    assert Message.objects.count() == Ticket.objects.count() == 60
    assert set(InboundMail.objects.values_list("status", flat=True)) == {"ingested"}
    assert InboundMail.objects.values("ticket_message").distinct().count() == 60


def _wait_until_a_backend_waits_for_a_lock(seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reply_waits_for_its_original_that_another_worker_is_ingesting(mailbox, without_triage):
    # Given an original and its reply, stored; another worker has claimed the original
    original, reply = store(
        mailbox,
        [
            make_mail(subject="FTP geht nicht", message_id="<ftp@baeckerei.example>"),
            make_mail(subject="Re: FTP geht nicht", in_reply_to="<ftp@baeckerei.example>"),
        ],
    )
    claimed, waited = threading.Event(), []

    def other_worker() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                InboundMail.objects.select_for_update().get(pk=original.pk)
                claimed.set()
                # It finishes only once this worker waits for it: the reply must not be filed before.
                waited.append(_wait_until_a_backend_waits_for_a_lock())
                ingest.inbound_ingest(inbound=InboundMail.objects.get(pk=original.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert claimed.wait(10)
    # When this worker ingests what it can claim
    done = ingest.inbound_ingest_pending(mailbox=mailbox)
    thread.join()
    # Then it waited for the original, and the reply joined the original's ticket
    assert waited == [True]
    assert done == {reply.pk: "ingested"}
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("subject", flat=True)) == ["FTP geht nicht", "Re: FTP geht nicht"]


def test_crash_between_store_and_ingest_is_recovered_by_the_next_poll(dovecot, monkeypatch):
    # Given a poll that dies right after storing
    dovecot.append_many([make_mail(subject=f"Problem {n}") for n in range(3)])
    support = services.mailbox_create(name="support", kind="support", url=dovecot.url())

    def crash(**kwargs: object) -> dict[int, str]:
        raise ConnectionError("worker died")

    monkeypatch.setattr(services, "inbound_ingest_pending", crash)
    with pytest.raises(ConnectionError):
        services.mailbox_poll(mailbox=support)
    assert set(InboundMail.objects.values_list("status", flat=True)) == {"stored"}
    assert dovecot.count("INBOX") == 3
    monkeypatch.undo()
    # When the next poll runs
    report = services.mailbox_poll(mailbox=support)
    # Then it fetches nothing again, ingests the stored mail and moves it
    assert (report.fetched, report.counts) == (0, {"ingested": 3})
    assert Ticket.objects.count() == 3
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 3)


def test_the_hand_off_task_ingests_stored_mail(mailbox):
    store(mailbox, [make_mail(subject=f"Mail {n}") for n in range(3)])
    assert tasks.ingest_pending(mailbox.pk) == 3
    assert tasks.ingest_pending(mailbox.pk) == 0
    assert Ticket.objects.count() == 3


def test_uid_sets_are_ranges_in_commands_of_bounded_length():
    assert uid_sets([7, 1, 2, 3, 5, 8, 10, 2]) == [["1:3", "5", "7:8", "10"]]
    assert uid_sets(range(1, 11), max_ranges=2) == [["1:10"]]
    assert uid_sets([1, 3, 5, 7, 9], max_ranges=2) == [["1", "3"], ["5", "7"], ["9"]]
    assert uid_sets([]) == []
